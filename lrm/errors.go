package lrm

import "errors"

// ErrUnknownClass is returned for a resource class other than ocf, lsb and
// stonith. Nothing is run.
var ErrUnknownClass = errors.New("lrm: unknown resource class")

// ErrUnknownProvider is returned when an ocf resource names a provider that
// is missing or has no directory under OCF_ROOT/resource.d. Nothing is run.
var ErrUnknownProvider = errors.New("lrm: unknown OCF provider")

// ErrStonithClass is returned for class stonith: fence devices are run by
// stonithd, not by lrmd.
var ErrStonithClass = errors.New("lrm: class stonith is handled by stonithd, not lrmd")

// ErrUnknownAction is returned for an action the resource agent API does
// not define.
var ErrUnknownAction = errors.New("lrm: unknown action")

// ErrBadRequest is returned for a malformed request (empty resource id or
// type, negative interval or timeout, a recurring non-monitor action).
var ErrBadRequest = errors.New("lrm: bad request")

// ErrUnknownResource is returned when a resource id has no state in the
// manager.
var ErrUnknownResource = errors.New("lrm: unknown resource")

// ErrNoSuchOperation is returned by Cancel when no matching recurring or
// queued operation exists.
var ErrNoSuchOperation = errors.New("lrm: no such operation")

// ErrBusy is returned by Unregister while the resource still has queued or
// running operations.
var ErrBusy = errors.New("lrm: resource has operations in progress")
