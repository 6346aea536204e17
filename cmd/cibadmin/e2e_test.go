package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildTools builds cibadmin and crm_verify into a temporary directory.
func buildTools(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command(goTool, "build", "-o", dir+"/", "./cmd/cibadmin", "./cmd/crm_verify")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// sh runs a shell command line with the tools first in PATH.
func sh(t *testing.T, bin, line string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "CIB_file=", "CIB_socket=")
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

// TestBinariesMustShow runs the acceptance commands with the real
// binaries, exactly as an operator types them.
func TestBinariesMustShow(t *testing.T) {
	bin := buildTools(t)
	c := filepath.Join(t.TempDir(), "c.xml")
	if code, _, errs := sh(t, bin, "cibadmin --empty > "+c); code != 0 {
		t.Fatal(errs)
	}
	create := "CIB_file=" + c + ` cibadmin -C -o resources -X '<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>'`
	if code, out, errs := sh(t, bin, create); code != 0 || out != "" || errs != "" {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	code, out, _ := sh(t, bin, "CIB_file="+c+" cibadmin -Q -o resources")
	if code != 0 || !strings.Contains(out, `<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`) {
		t.Fatalf("query: %d %s", code, out)
	}
	if _, whole, _ := sh(t, bin, "CIB_file="+c+" cibadmin -Q"); !strings.Contains(whole, `epoch="1" num_updates="0"`) {
		t.Fatalf("epoch did not grow from 0 to 1:\n%s", whole)
	}
	before, _ := os.ReadFile(c)
	code, _, errs := sh(t, bin, create)
	if code != 108 || errs != "Call cib_create failed: primitive id=\"d1\" already exists\n" {
		t.Fatalf("second create: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(c); !bytes.Equal(before, after) {
		t.Fatal("file changed by a refused create")
	}

	// crm_verify: the refused kinds of problem, in whole files
	fixtures := filepath.Join("..", "crm_verify", "testdata")
	for file, want := range map[string]string{
		"missing-ref.xml":  `error: rsc_location "loc-ghost": rsc refers to resource "ghost", which does not exist`,
		"duplicate-id.xml": `error: primitive "d1": duplicate id (also used by <primitive>)`,
		"bad-score.xml":    `error: rsc_colocation "col-bad": score "lots" is not a valid score`,
		"malformed.xml":    `line 19: attribute name without = in element (in <primitive id="ip1">)`,
	} {
		code, _, errs := sh(t, bin, "crm_verify -x "+filepath.Join(fixtures, file))
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("crm_verify -x %s: exit %d, stderr %q, want %q", file, code, errs, want)
		}
	}
	if code, out, errs := sh(t, bin, "crm_verify -x "+filepath.Join(fixtures, "valid.xml")); code != 0 || out != "" || errs != "" {
		t.Errorf("valid file: exit %d %q %q", code, out, errs)
	}
	// and the live check on the file
	if code, _, errs := sh(t, bin, "CIB_file="+c+" crm_verify -L"); code != 78 || !strings.Contains(errs, "no STONITH resources") {
		t.Errorf("crm_verify -L: exit %d %q", code, errs)
	}
}
