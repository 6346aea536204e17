package supervisor

import "errors"

// ErrGaveUp is returned (wrapped, in Ready.Err) when a daemon crashed more
// than Config.MaxCrashes times within Config.Window: the node is stopped
// rather than left flapping.
var ErrGaveUp = errors.New("supervisor: daemon crashes too often, giving up")

// ErrConfig is wrapped by Config.Validate for an unusable configuration.
var ErrConfig = errors.New("supervisor: invalid configuration")
