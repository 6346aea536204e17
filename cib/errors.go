package cib

import "errors"

// Sentinel errors. Operations wrap them with the element id and the reason;
// compare with errors.Is.
var (
	// ErrMalformed reports input that is not well-formed XML or not a CIB.
	ErrMalformed = errors.New("malformed")
	// ErrExists reports a create of an element whose id is already used.
	ErrExists = errors.New("already exists")
	// ErrNotFound reports a modify, delete or query target that is absent.
	ErrNotFound = errors.New("no such object")
	// ErrInvalid reports an update that would make the CIB fail validation.
	ErrInvalid = errors.New("invalid configuration")
	// ErrVersion reports a patch whose base is not the current version, or
	// a replacement older than the current CIB.
	ErrVersion = errors.New("version mismatch")
	// ErrBadRequest reports an operation with missing or contradictory
	// arguments (no XML for create, unknown scope, unsupported XPath).
	ErrBadRequest = errors.New("bad request")
	// ErrForceRequired reports a dangerous operation (erase) asked for
	// without --force.
	ErrForceRequired = errors.New("dangerous operation requires --force")
)
