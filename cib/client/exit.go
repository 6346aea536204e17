package client

import (
	"context"
	"errors"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
)

// Exit codes, with Pacemaker's CRM_EX_* values and names
// (include/crm/common/results.h), for the errors the CLIs report.
const (
	ExitOK         = 0   // CRM_EX_OK
	ExitError      = 1   // CRM_EX_ERROR: anything not listed below
	ExitUsage      = 64  // CRM_EX_USAGE: bad flags or arguments
	ExitDataErr    = 65  // CRM_EX_DATAERR: input XML is not well formed
	ExitNoInput    = 66  // CRM_EX_NOINPUT: the input or CIB_file does not exist
	ExitIOErr      = 74  // CRM_EX_IOERR: the CIB could not be written or persisted
	ExitConfig     = 78  // CRM_EX_CONFIG: the result would not validate
	ExitDisconnect = 102 // CRM_EX_DISCONNECT: the CIB service is not reachable
	ExitOld        = 103 // CRM_EX_OLD: version mismatch (old replacement, patch base)
	ExitNoSuch     = 105 // CRM_EX_NOSUCH: the object does not exist
	ExitUnsafe     = 107 // CRM_EX_UNSAFE: dangerous operation without --force
	ExitExists     = 108 // CRM_EX_EXISTS: the object already exists
	ExitTimeout    = 124 // CRM_EX_TIMEOUT: no answer within the timeout
)

// exitTable maps errors to exit codes; the first match wins.
var exitTable = []struct {
	err  error
	code int
}{
	{cib.ErrExists, ExitExists},
	{cib.ErrNotFound, ExitNoSuch},
	{cib.ErrInvalid, ExitConfig},
	{cib.ErrMalformed, ExitDataErr},
	{cib.ErrBadRequest, ExitUsage},
	{cib.ErrVersion, ExitOld},
	{cib.ErrForceRequired, ExitUnsafe},
	{ErrUnreachable, ExitDisconnect},
	{ErrNoFile, ExitNoInput},
	{server.ErrStore, ExitIOErr},
	{ErrWrite, ExitIOErr},
	{context.DeadlineExceeded, ExitTimeout},
}

// ExitCode returns the Pacemaker exit code for an error from a Client.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	for _, row := range exitTable {
		if errors.Is(err, row.err) {
			return row.code
		}
	}
	return ExitError
}
