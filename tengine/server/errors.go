package server

import "errors"

// ErrBusy is returned (FAILED_PRECONDITION) by Run while a graph runs.
var ErrBusy = errors.New("tengine: a transition is running")

// ErrBadRequest is returned (INVALID_ARGUMENT) for an unusable RunRequest
// (a graph that does not parse, a transition id that contradicts it).
var ErrBadRequest = errors.New("tengine: invalid request")
