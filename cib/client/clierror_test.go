package client

import (
	"errors"
	"fmt"
	"testing"

	"github.com/systole/systole/cib"
)

func TestCLIExit(t *testing.T) {
	cause := fmt.Errorf("x: %w", cib.ErrExists)
	for _, tc := range []struct {
		err  error
		code int
		line string
	}{
		{UsageError("cibadmin", "give only one command"), ExitUsage, "cibadmin: give only one command (see cibadmin --help)"},
		{&CLIError{Code: ExitExists, Msg: "Call cib_create failed: x", Err: cause}, ExitExists, "Call cib_create failed: x"},
		{&CLIError{Code: ExitConfig}, ExitConfig, ""},
		{errors.New(`unknown command "x" for "crm_verify"`), ExitUsage, `crm_verify: unknown command "x" for "crm_verify" (see crm_verify --help)`},
		{errors.New("boom"), ExitError, "crm_verify: boom"},
	} {
		tool := "crm_verify"
		code, line := CLIExit(tool, tc.err)
		if code != tc.code || line != tc.line {
			t.Errorf("CLIExit(%v) = %d %q, want %d %q", tc.err, code, line, tc.code, tc.line)
		}
	}
	if !errors.Is(&CLIError{Err: cause}, cib.ErrExists) {
		t.Error("CLIError does not unwrap to its cause")
	}
}
