package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/systole/systole/cib"
)

// ErrStore reports that a write could not be made durable; the operation
// was not applied.
var ErrStore = errors.New("cannot persist the CIB")

// ErrClosed reports a write sent after Close.
var ErrClosed = errors.New("CIB server closed")

// errorDomain marks the ErrorInfo details this package attaches.
const errorDomain = "cib.systole"

// errorTable is the one mapping between the cib package's sentinels and
// gRPC codes. The reason string travels in an ErrorInfo detail so that the
// client can restore the exact sentinel even where codes are shared.
var errorTable = []struct {
	sentinel error
	code     codes.Code
	reason   string
}{
	{cib.ErrExists, codes.AlreadyExists, "EXISTS"},
	{cib.ErrNotFound, codes.NotFound, "NOT_FOUND"},
	{cib.ErrInvalid, codes.InvalidArgument, "INVALID"},
	{cib.ErrMalformed, codes.InvalidArgument, "MALFORMED"},
	{cib.ErrBadRequest, codes.InvalidArgument, "BAD_REQUEST"},
	{cib.ErrVersion, codes.Aborted, "VERSION"},
	{cib.ErrForceRequired, codes.FailedPrecondition, "FORCE_REQUIRED"},
	{ErrStore, codes.Unavailable, "STORE"},
	{ErrClosed, codes.Unavailable, "CLOSED"},
}

// ToStatus converts an error from the cib package into a gRPC status error
// with the code from the table, the original message, and details that
// FromStatus uses to rebuild it. Validation errors carry each problem as a
// field violation.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Err()
	}
	code, reason := codes.Unknown, "UNKNOWN"
	for _, row := range errorTable {
		if errors.Is(err, row.sentinel) {
			code, reason = row.code, row.reason
			break
		}
	}
	st := status.New(code, err.Error())
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain}}
	var ves cib.ValidationErrors
	var ve *cib.ValidationError
	switch {
	case errors.As(err, &ves):
	case errors.As(err, &ve):
		ves = cib.ValidationErrors{ve}
	}
	if len(ves) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range ves {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Tag + "#" + v.ID, Description: v.Reason,
			})
		}
		details = append(details, br)
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st.Err()
}

// RemoteError is an error returned by the CIB service, rebuilt from its
// status: Error() is the server's message and errors.Is matches the
// sentinel the server reported.
type RemoteError struct {
	Code     codes.Code
	Msg      string
	Sentinel error // nil when the server reported no known sentinel
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *RemoteError) Unwrap() error { return e.Sentinel }

// FromStatus turns a gRPC error from the CIB service back into an error
// that matches the cib sentinels with errors.Is. Validation failures come
// back as cib.ValidationErrors. Errors without a status are returned as is.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	re := &RemoteError{Code: st.Code(), Msg: st.Message()}
	var violations []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.Domain != errorDomain {
				continue
			}
			for _, row := range errorTable {
				if row.reason == d.Reason {
					re.Sentinel = row.sentinel
				}
			}
		case *errdetails.BadRequest:
			violations = d.FieldViolations
		}
	}
	if re.Sentinel == nil {
		// no details: fall back on the code alone, first row wins
		for _, row := range errorTable {
			if row.code == st.Code() {
				re.Sentinel = row.sentinel
				break
			}
		}
	}
	if errors.Is(re.Sentinel, cib.ErrInvalid) && len(violations) > 0 {
		ves := make(cib.ValidationErrors, 0, len(violations))
		for _, v := range violations {
			tag, id, _ := strings.Cut(v.Field, "#")
			ves = append(ves, &cib.ValidationError{Tag: tag, ID: id, Reason: v.Description})
		}
		return &validationRemote{msg: st.Message(), ves: ves}
	}
	return re
}

// validationRemote keeps the server's message while exposing the
// individual validation errors to errors.As.
type validationRemote struct {
	msg string
	ves cib.ValidationErrors
}

func (e *validationRemote) Error() string { return e.msg }

func (e *validationRemote) As(target any) bool {
	if t, ok := target.(*cib.ValidationErrors); ok {
		*t = e.ves
		return true
	}
	return false
}

func (e *validationRemote) Unwrap() error { return cib.ErrInvalid }

// Code returns the gRPC code the table assigns to err (codes.OK for nil).
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return status.Code(ToStatus(err))
}

func wrapStore(op string, err error) error {
	return fmt.Errorf("cib server: %s: %w: %v", op, ErrStore, err)
}
