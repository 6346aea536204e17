package pengine

import "errors"

// ErrNoCIB is returned when Compute is called without a CIB.
var ErrNoCIB = errors.New("pengine: no CIB given")

// ErrInvalidConfig is returned by Config.Validate for unusable settings.
var ErrInvalidConfig = errors.New("pengine: invalid config")

// ErrMalformed is returned by ParseXML for input that is not well-formed.
var ErrMalformed = errors.New("pengine: malformed XML")
