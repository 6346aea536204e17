package status

import "errors"

// ErrNoCIB is returned when there is no CIB document to read.
var ErrNoCIB = errors.New("status: no CIB given")
