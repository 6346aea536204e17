package membership

import "errors"

// Sentinel errors returned by the membership core. Callers compare with errors.Is; the core
// wraps them with context (node, message type, field).
var (
	// ErrInvalidConfig is returned by Config.Validate and NewNode for a configuration that
	// cannot work (no nodes, duplicate names, local node not configured, bad timers).
	ErrInvalidConfig = errors.New("membership: invalid config")

	// ErrTooManyNodes is returned when more than MaxNodes nodes are configured: node sets
	// are 64-bit bitsets so that the clique search is exact and fast.
	ErrTooManyNodes = errors.New("membership: too many nodes")

	// ErrMalformed is returned by DecodeMessage and Node.Step for a payload that is not a
	// well-formed membership message (truncated, bad magic, trailing bytes, bad index).
	ErrMalformed = errors.New("membership: malformed message")

	// ErrFingerprint is returned by Node.Step for a message from a node whose cluster
	// configuration (node names, votes, quorum mode) differs from ours: node indices
	// would not mean the same thing, so the message is dropped.
	ErrFingerprint = errors.New("membership: cluster config fingerprint mismatch")

	// ErrUnknownNode is returned for a peer name or sender that is not a configured node,
	// or a message whose claimed sender differs from the authenticated sender.
	ErrUnknownNode = errors.New("membership: unknown node")
)
