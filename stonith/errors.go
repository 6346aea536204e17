package stonith

import "errors"

// ErrBadCIB is returned when the CIB's fence devices or fencing topology
// cannot be used (a level without target or devices, an index outside
// 1..9, a device without agent, a bad pcmk_* value). Nothing is changed.
var ErrBadCIB = errors.New("stonith: bad fencing configuration")

// ErrBadRequest is returned for a fencing request without target or with an
// action other than off, on and reboot. Nothing is changed.
var ErrBadRequest = errors.New("stonith: bad request")

// ErrBadArgument is returned when a device parameter would break the
// fence-agents stdin protocol (a name or value with a newline, a name with
// '='). The agent is not run.
var ErrBadArgument = errors.New("stonith: bad agent argument")
