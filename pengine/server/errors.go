package server

import "errors"

// ErrBadCIB is returned (as INVALID_ARGUMENT) for a CIB pengine cannot read.
var ErrBadCIB = errors.New("pengine: invalid CIB")

// ErrBadRequest is returned (as INVALID_ARGUMENT) for a request with
// invalid fields (a negative transition id).
var ErrBadRequest = errors.New("pengine: invalid request")

// ErrInternal is returned (as INTERNAL) when the scheduler panicked; the
// daemon survives and logs the input size.
var ErrInternal = errors.New("pengine: internal error")
