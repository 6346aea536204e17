package messaging

import "errors"

// Sentinel errors of the messaging layer. Compare with errors.Is.
var (
	// ErrTruncated: a packet is shorter than its header or declared fields.
	ErrTruncated = errors.New("messaging: truncated packet")
	// ErrMalformed: a packet has a bad magic, version, type or field value.
	ErrMalformed = errors.New("messaging: malformed packet")
	// ErrBadAuth: the packet's HMAC (or AES-GCM tag) does not verify.
	ErrBadAuth = errors.New("messaging: bad authentication")
	// ErrUnknownKey: the packet names a key id absent from authkeys.
	ErrUnknownKey = errors.New("messaging: unknown key id")
	// ErrForeignCluster: the packet belongs to another cluster name.
	ErrForeignCluster = errors.New("messaging: foreign cluster")
	// ErrUnknownNode: the packet's source is not a configured node.
	ErrUnknownNode = errors.New("messaging: unknown node")
	// ErrReplay: the packet's generation or packet number is older than
	// what was already seen from that node.
	ErrReplay = errors.New("messaging: replayed packet")
	// ErrTooLarge: a message exceeds Config.MaxMessage.
	ErrTooLarge = errors.New("messaging: message too large")
	// ErrQueueFull: flow control: too many bytes are queued behind slow
	// peers; the caller should retry later.
	ErrQueueFull = errors.New("messaging: send queue full")
	// ErrBadDest: a message is addressed to a node that is not configured.
	ErrBadDest = errors.New("messaging: unknown destination node")
	// ErrBadChannel: a channel name is empty or longer than 255 bytes.
	ErrBadChannel = errors.New("messaging: bad channel name")
	// ErrConfig: a configuration value is invalid (wrapped with details).
	ErrConfig = errors.New("messaging: invalid configuration")
	// ErrAuthkeysMode: the authkeys file is readable or writable by group
	// or others.
	ErrAuthkeysMode = errors.New("messaging: authkeys file mode must be 0600")
)
