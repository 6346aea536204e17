package client

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib/server"
)

// Exit codes of the CRM tools (crm_mon, crm_attribute, crm_node,
// crm_standby, crmadmin) beyond those of the CIB tools, with Pacemaker's
// CRM_EX_* values.
const (
	ExitUnimplemented    = 3  // CRM_EX_UNIMPLEMENT_FEATURE: the service lacks the call
	ExitInsufficientPriv = 4  // CRM_EX_INSUFFICIENT_PRIV: access refused
	ExitUnavailable      = 69 // CRM_EX_UNAVAILABLE: a needed service is not there (e.g. offline)
	ExitNoQuorum         = 68 // CRM_EX_QUORUM: the partition has no quorum
	ExitInvalidParam     = 2  // CRM_EX_INVALID_PARAM: a parameter has a bad value
)

// RPCCode returns the gRPC code carried by err: from a status error
// anywhere in its chain, or from a CIB service error rebuilt by this
// package. It returns codes.OK when err carries none.
func RPCCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var re *server.RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	type grpcStatus interface{ GRPCStatus() *status.Status }
	var gs grpcStatus
	if errors.As(err, &gs) {
		return gs.GRPCStatus().Code()
	}
	return codes.OK
}

// CRMExitCode is ExitCode extended with the gRPC codes the CRM service
// returns: PERMISSION_DENIED gives ExitInsufficientPriv, UNIMPLEMENTED
// ExitUnimplemented, NOT_FOUND ExitNoSuch, DEADLINE_EXCEEDED ExitTimeout.
func CRMExitCode(err error) int {
	switch RPCCode(err) {
	case codes.PermissionDenied, codes.Unauthenticated:
		return ExitInsufficientPriv
	case codes.Unimplemented:
		return ExitUnimplemented
	case codes.NotFound:
		return ExitNoSuch
	case codes.DeadlineExceeded:
		return ExitTimeout
	case codes.AlreadyExists:
		return ExitExists
	}
	return ExitCode(err)
}
