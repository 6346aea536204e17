package server

import "errors"

// Sentinel errors of the membership daemon shell; they are wrapped with context.
var (
	// ErrConfig is returned for an ha.cf whose membership directives are invalid, or
	// a configuration the membership core rejects.
	ErrConfig = errors.New("membershipd: bad configuration")

	// ErrState is returned when the hard state file cannot be read, parsed, locked or
	// written. The daemon refuses to run without durable hard state.
	ErrState = errors.New("membershipd: hard state")

	// ErrStopped is returned by API calls made while the daemon is shutting down.
	ErrStopped = errors.New("membershipd: stopped")
)
