package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
)

// TestMain lets the test binary stand in for crmadmin.
func TestMain(m *testing.M) {
	sourcetest.ToolMain(m, func() int { return Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

func cibCopy(t *testing.T) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile("../../crm/status/testdata/mixed.xml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

type step struct {
	line      string
	code      int
	out, errs string // out exact; errs substring ("" = no stderr)
}

func run(t *testing.T, bin string, env []string, steps []step) {
	t.Helper()
	for _, s := range steps {
		code, out, errs := sourcetest.Sh(t, bin, env, s.line)
		if code != s.code || out != s.out || !strings.Contains(errs, s.errs) || (s.errs == "" && errs != "") {
			t.Errorf("%s:\n exit %d, want %d\n stdout %q, want %q\n stderr %q, want %q", s.line, code, s.code, out, s.out, errs, s.errs)
		}
	}
}
