package server

import "errors"

// ErrStopped is returned by API calls after the server stopped.
var ErrStopped = errors.New("lrmd: shutting down")

// errNotInstalled is returned by Metadata for a missing agent.
var errNotInstalled = errors.New("lrmd: agent not installed")
