package server

import "errors"

// ErrStopped is returned by calls made while or after the server stops.
var ErrStopped = errors.New("stonith server: stopped")
