package client

import (
	"errors"
	"fmt"
	"strings"
)

// CLIError is what a command-line tool (cibadmin, crm_verify) fails with:
// the exit code to return and the one line to print (none when empty).
type CLIError struct {
	Code int
	Msg  string
	Err  error // the cause, for errors.Is; may be nil
}

func (e *CLIError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *CLIError) Unwrap() error { return e.Err }

// UsageError is a command-line mistake: exit ExitUsage with
// "TOOL: reason (see TOOL --help)".
func UsageError(tool, format string, a ...any) error {
	return &CLIError{Code: ExitUsage, Msg: tool + ": " + fmt.Sprintf(format, a...) + " (see " + tool + " --help)"}
}

// CLIExit returns the exit code and the line to print for err, returned
// by tool's root command: a CLIError as it is, cobra's own usage errors
// (unknown command, stray arguments) as usage errors, anything else as
// "TOOL: message" with ExitError.
func CLIExit(tool string, err error) (code int, line string) {
	var ce *CLIError
	if errors.As(err, &ce) {
		return ce.Code, ce.Msg
	}
	msg := err.Error()
	if strings.Contains(msg, "accepts no arguments") || strings.HasPrefix(msg, "unknown command") {
		return ExitUsage, tool + ": " + msg + " (see " + tool + " --help)"
	}
	return ExitError, tool + ": " + msg
}
