package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the crm_verify binary (see
// cmd/cibadmin's e2e_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("SYSTOLE_TEST_TOOL") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestShell runs crm_verify as a process from a shell on each fixture.
func TestShell(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "crm_verify")); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"valid.xml":        "",
		"missing-ref.xml":  `error: rsc_location "loc-ghost": rsc refers to resource "ghost", which does not exist`,
		"duplicate-id.xml": `error: primitive "d1": id already exists (also used by <primitive>)`,
		"bad-score.xml":    `error: rsc_colocation "col-bad": score "lots" is not a valid score`,
		"malformed.xml":    `line 19: attribute name without = in element (in <primitive id="ip1">)`,
	} {
		cmd := exec.Command("/bin/sh", "-c", "crm_verify -x "+filepath.Join("testdata", file))
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SYSTOLE_TEST_TOOL=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if want == "" {
			if err != nil || out.Len()+errb.Len() != 0 {
				t.Errorf("%s: %v %q %q", file, err, out.String(), errb.String())
			}
			continue
		}
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 || !strings.Contains(errb.String(), want) {
			t.Errorf("crm_verify -x %s: %v, stderr %q, want %q", file, err, errb.String(), want)
		}
	}
}
