package tengine

import "errors"

// ErrBadGraph is returned by ParseGraph for a graph it cannot execute.
var ErrBadGraph = errors.New("tengine: invalid transition graph")

// ErrUnknownAction is returned by Engine.Result for an action id the
// graph does not have.
var ErrUnknownAction = errors.New("tengine: unknown action")

// ErrNotRunning is returned by Engine.Result for an action that is not
// running (never dispatched, or already finished, e.g. timed out).
var ErrNotRunning = errors.New("tengine: action not running")

// ErrInvalidConfig is returned by Config.Validate.
var ErrInvalidConfig = errors.New("tengine: invalid config")
