package messaging

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Medium describes one communication medium (one bcast/mcast/ucast line
// group or one serial line) as the core sees it: a name for status reports
// and whether it is slow. The core addresses media by their index in
// Config.Media.
type Medium struct {
	// Name identifies the medium in status reports, e.g. "bcast eth0".
	Name string
	// Slow marks a low-bandwidth medium (a serial line). Heartbeats go on
	// every medium; reliable data, acks and NACKs go on slow media only
	// while some live peer has no fast link up, so that a 1 MiB message
	// never clogs a 19200 baud line that a LAN could carry.
	Slow bool
}

// Config is the configuration of one Node. Times are durations measured
// against the `now` values the caller passes to the Node.
type Config struct {
	// Cluster is the cluster name carried in every packet; packets with
	// another name are dropped.
	Cluster string
	// Node is this node's name; it must be in Nodes.
	Node string
	// Nodes lists every node of the cluster, this one included.
	Nodes []string
	// Generation is this incarnation's number; it must grow at every
	// restart (the daemon persists it) so peers can tell a restart from a
	// replay.
	Generation uint64
	// Keepalive is the heartbeat interval on every medium.
	Keepalive time.Duration
	// Warntime is the silence after which a peer is reported late.
	Warntime time.Duration
	// Deadtime is the silence after which a peer (or a link) is dead.
	Deadtime time.Duration
	// Initdead is how long after start a configured node that was never
	// heard stays unknown before being reported dead.
	Initdead time.Duration
	// Media lists the media in the order the caller indexes them.
	Media []Medium
	// Encrypt turns on AES-256-GCM encryption of packet bodies.
	Encrypt bool
	// MaxPacket bounds the size of an encoded packet in bytes.
	MaxPacket int
	// MaxMessage bounds the size of one message in bytes.
	MaxMessage int
	// Window is the number of data packets that may be sent beyond the
	// lowest cumulative ack of a live peer (flow control).
	Window int
	// History is the number of data packets kept for retransmission; it
	// must be at least Window.
	History int
	// NackDelay is the upper bound of the random delay before a receiver
	// asks for a gap, so that several receivers do not ask at once.
	NackDelay time.Duration
	// NackRetry is the interval between repeated NACKs for the same gap.
	NackRetry time.Duration
	// MaxQueued bounds the bytes of messages waiting for the flow-control
	// window; Send fails with ErrQueueFull beyond it.
	MaxQueued int
	// Logger receives protocol events; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with the defaults for a LAN cluster; the
// caller fills Cluster, Node, Nodes, Generation and Media.
// See docs/messaging.md for the reasoning behind the timers.
func DefaultConfig() Config {
	return Config{
		Cluster:    "systole",
		Keepalive:  100 * time.Millisecond, // 5 heartbeats per deadtime: one or two lost packets never kill a peer
		Warntime:   300 * time.Millisecond, // 3 missed heartbeats: worth a log line, not an action
		Deadtime:   500 * time.Millisecond, // sub-second failover; well above LAN jitter and Go GC pauses
		Initdead:   5 * time.Second,        // switches and bonds need seconds to pass traffic after boot
		MaxPacket:  1400,                   // fits a 1500-byte Ethernet MTU under IPv6+UDP headers: no IP fragmentation
		MaxMessage: 32 << 20,               // a large CIB (tens of MiB in the field) still fits in one message
		Window:     256,                    // ~350 KB in flight: fills a LAN pipe, fits default socket buffers twice over
		History:    1024,                   // 4 windows: a peer that was briefly partitioned can still catch up
		NackDelay:  10 * time.Millisecond,  // spreads NACKs of several receivers, small against deadtime
		NackRetry:  50 * time.Millisecond,  // a lost NACK or retransmission is retried half a keepalive later
		MaxQueued:  128 << 20,              // a few maximum-size messages may wait behind a slow peer
	}
}

// Validate checks the configuration and returns an error wrapping
// ErrConfig that names the first bad field.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Cluster == "" || len(c.Cluster) > 255:
		return bad("cluster name must have 1..255 bytes")
	case c.Node == "" || len(c.Node) > 255:
		return bad("node name must have 1..255 bytes")
	case !slices.Contains(c.Nodes, c.Node):
		return bad("node %q is not in the node list", c.Node)
	case len(c.Nodes) > 255:
		return bad("at most 255 nodes")
	case c.Keepalive <= 0:
		return bad("keepalive must be positive")
	case c.Deadtime < 2*c.Keepalive:
		return bad("deadtime (%v) must be at least twice keepalive (%v)", c.Deadtime, c.Keepalive)
	case c.Warntime <= 0 || c.Warntime > c.Deadtime:
		return bad("warntime (%v) must be positive and at most deadtime (%v)", c.Warntime, c.Deadtime)
	case c.Initdead < c.Deadtime:
		return bad("initdead (%v) must be at least deadtime (%v)", c.Initdead, c.Deadtime)
	case len(c.Media) == 0:
		return bad("at least one medium is needed")
	case len(c.Media) > 64:
		return bad("at most 64 media")
	case c.MaxPacket < 512 || c.MaxPacket > 65000:
		return bad("max packet must be in 512..65000")
	case c.MaxMessage < 1 || c.MaxMessage > 1<<30:
		return bad("max message must be in 1..1 GiB")
	case c.Window < 1 || c.History < c.Window:
		return bad("window must be positive and history at least window")
	case c.NackDelay <= 0 || c.NackRetry <= 0:
		return bad("nack delays must be positive")
	case c.MaxQueued < c.MaxMessage:
		return bad("max queued must be at least max message")
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if n == "" || len(n) > 255 {
			return bad("node name %q must have 1..255 bytes", n)
		}
		if seen[n] {
			return bad("node %q listed twice", n)
		}
		seen[n] = true
	}
	return nil
}
