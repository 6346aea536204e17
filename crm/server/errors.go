package server

import "errors"

// ErrClosed reports a request made after the loop stopped.
var ErrClosed = errors.New("crmd: server stopped")

// ErrPersist reports that the store refused a version the core produced;
// the loop stops (crmd exits) because memory would run ahead of the disk.
var ErrPersist = errors.New("crmd: cannot persist the CIB")
