package agent

import "errors"

// ErrNotInstalled is returned when the agent is not an executable file in
// the agent directory.
var ErrNotInstalled = errors.New("agent: fence agent not installed")

// ErrBadName is returned for an agent name that is not fence_* or contains
// '/'. Nothing is run.
var ErrBadName = errors.New("agent: bad fence agent name")
