package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the cibadmin binary: run
// through a link named cibadmin with SYSTOLE_TEST_TOOL=1 set, it is
// cibadmin. The end-to-end test below uses it from a real shell, with real
// processes, environment and exit statuses, without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SYSTOLE_TEST_TOOL") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// toolDir returns a directory holding a "cibadmin" that is this test
// binary.
func toolDir(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "cibadmin")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sh runs a shell command line with the tools first in PATH.
func sh(t *testing.T, bin, line string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "CIB_file=", "CIB_socket=", "SYSTOLE_TEST_TOOL=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestShellMustShow runs the acceptance commands in a shell, as an
// operator types them.
func TestShellMustShow(t *testing.T) {
	bin := toolDir(t)
	c := filepath.Join(t.TempDir(), "c.xml")
	if code, _, errs := sh(t, bin, "cibadmin --empty > "+c); code != 0 {
		t.Fatal(errs)
	}
	create := "CIB_file=" + c + ` cibadmin -C -o resources -X '<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>'`
	if code, out, errs := sh(t, bin, create); code != 0 || out != "" || errs != "" {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	code, out, _ := sh(t, bin, "CIB_file="+c+" cibadmin -Q -o resources")
	if code != 0 || out != "<resources>\n  <primitive id=\"d1\" class=\"ocf\" provider=\"systole\" type=\"Dummy\"/>\n</resources>\n" {
		t.Fatalf("query: %d %s", code, out)
	}
	if _, whole, _ := sh(t, bin, "CIB_file="+c+" cibadmin -Q"); !strings.Contains(whole, `epoch="1" num_updates="0"`) {
		t.Fatalf("epoch did not grow from 0 to 1:\n%s", whole)
	}
	before, _ := os.ReadFile(c)
	code, _, errs := sh(t, bin, create)
	if code != 108 || errs != "Call cib_create failed: primitive \"d1\": id already exists (also used by <primitive>)\n" {
		t.Fatalf("second create: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(c); !bytes.Equal(before, after) {
		t.Fatal("file changed by a refused create")
	}
	// malformed XML through a pipe
	code, _, errs = sh(t, bin, "echo '<primitive id=\"d2\" class=\"ocf\"' | CIB_file="+c+" cibadmin -C -p")
	if code != 65 || errs != "cibadmin: Couldn't parse input from standard input: line 2: unexpected EOF (in <primitive id=\"d2\">)\n" {
		t.Fatalf("malformed: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(c); !bytes.Equal(before, after) {
		t.Fatal("file changed by a refused create")
	}
}
