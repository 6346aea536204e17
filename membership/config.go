package membership

import (
	"fmt"
	"slices"
	"time"
)

// MaxNodes is the largest number of configured nodes. Node sets are uint64 bitsets, which
// keeps the maximum-clique search exact and allocation free.
const MaxNodes = 64

// NodeConfig is one configured cluster node (a `node` line in ha.cf).
type NodeConfig struct {
	// Name is the node's unique name (its uname), as the messaging layer reports it.
	Name string
	// Votes is the node's quorum weight; 0 means the default of 1.
	Votes int
}

// Config configures one node's membership core. Every node of a cluster must use the same
// Nodes, ExpectedVotes and TwoNode (they are covered by a fingerprint carried in every
// message); timers may differ per node.
type Config struct {
	// Name is the local node; it must be one of Nodes.
	Name string
	// Nodes is the configured cluster: at most MaxNodes entries with unique names.
	Nodes []NodeConfig
	// ExpectedVotes is the vote total quorum is measured against; 0 means the sum of the
	// configured votes. Quorum is a strict majority: 2*votes > ExpectedVotes.
	ExpectedVotes int
	// TwoNode enables two-node mode (votequorum two_node): exactly two nodes of one vote
	// each; a view has quorum with one vote, but only after this node has once seen a view
	// holding both nodes since it started (wait for all).
	TwoNode bool

	// ReportInterval is how often a node broadcasts its who-hears-whom table even when
	// nothing changed, so that lost reports are repaired.
	ReportInterval time.Duration
	// ProposeTimeout is how long a coordinator waits for every acknowledgement of a
	// proposal (and for members to report the installed view) before trying again.
	ProposeTimeout time.Duration
	// RetryDelay is how long a coordinator waits after a member refused a proposal because
	// it computed a different member set, giving reports time to spread.
	RetryDelay time.Duration
	// HoldDown is how long a peer that went down must be heard continuously before it is
	// counted as up again. Set it to the messaging deadtime: a flapping link then cannot
	// change the view more often than once per deadtime.
	HoldDown time.Duration
	// Settle is how long the computed member set must stay unchanged before a coordinator
	// proposes it; it coalesces cascades of peer events into one view change.
	Settle time.Duration
	// InitDead is how long after start a node waits before its first proposal, so that the
	// peers already running are discovered first (Heartbeat's initdead, for membership).
	InitDead time.Duration
}

// DefaultConfig returns a configuration for the local node name over the given nodes (one
// vote each) with timers suited to the messaging defaults (keepalive 1s, deadtime 10s).
func DefaultConfig(name string, nodes ...string) Config {
	cfg := Config{
		Name:           name,
		ReportInterval: time.Second,      // one report per keepalive keeps reports as fresh as liveness
		ProposeTimeout: 3 * time.Second,  // several round trips plus a report interval
		RetryDelay:     time.Second,      // one report interval: enough for a changed report to spread
		HoldDown:       10 * time.Second, // the messaging deadtime: no churn faster than deadtime
		Settle:         200 * time.Millisecond,
		InitDead:       2 * time.Second, // two keepalives: peers already up are heard first
	}
	for _, n := range nodes {
		cfg.Nodes = append(cfg.Nodes, NodeConfig{Name: n, Votes: 1})
	}
	return cfg
}

// Validate reports whether the configuration is usable; errors wrap ErrInvalidConfig or
// ErrTooManyNodes.
func (c Config) Validate() error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: no nodes configured", ErrInvalidConfig)
	}
	if len(c.Nodes) > MaxNodes {
		return fmt.Errorf("%w: %d nodes configured, at most %d", ErrTooManyNodes, len(c.Nodes), MaxNodes)
	}
	seen := make(map[string]bool, len(c.Nodes))
	total := 0
	for _, n := range c.Nodes {
		if n.Name == "" {
			return fmt.Errorf("%w: empty node name", ErrInvalidConfig)
		}
		if seen[n.Name] {
			return fmt.Errorf("%w: node %q configured twice", ErrInvalidConfig, n.Name)
		}
		seen[n.Name] = true
		if n.Votes < 0 {
			return fmt.Errorf("%w: node %q has negative votes %d", ErrInvalidConfig, n.Name, n.Votes)
		}
		total += n.votes()
	}
	if !seen[c.Name] {
		return fmt.Errorf("%w: local node %q is not among the configured nodes", ErrInvalidConfig, c.Name)
	}
	if c.ExpectedVotes < 0 {
		return fmt.Errorf("%w: negative expected votes %d", ErrInvalidConfig, c.ExpectedVotes)
	}
	if c.ExpectedVotes == 0 && total == 0 {
		return fmt.Errorf("%w: no votes configured", ErrInvalidConfig)
	}
	if c.TwoNode {
		if len(c.Nodes) != 2 {
			return fmt.Errorf("%w: two-node mode needs exactly 2 nodes, have %d", ErrInvalidConfig, len(c.Nodes))
		}
		for _, n := range c.Nodes {
			if n.votes() != 1 {
				return fmt.Errorf("%w: two-node mode needs one vote per node, %q has %d", ErrInvalidConfig, n.Name, n.votes())
			}
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"report interval", c.ReportInterval},
		{"propose timeout", c.ProposeTimeout},
		{"retry delay", c.RetryDelay},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%w: %s must be positive, have %v", ErrInvalidConfig, d.name, d.v)
		}
	}
	if c.HoldDown < 0 || c.Settle < 0 || c.InitDead < 0 {
		return fmt.Errorf("%w: negative hold-down, settle or initdead", ErrInvalidConfig)
	}
	return nil
}

func (n NodeConfig) votes() int {
	if n.Votes == 0 {
		return 1
	}
	return n.Votes
}

// sortedNodes returns the configured nodes sorted by name: the index of a node in this
// order is its bit in every node set and its index on the wire.
func (c Config) sortedNodes() []NodeConfig {
	nodes := slices.Clone(c.Nodes)
	slices.SortFunc(nodes, func(a, b NodeConfig) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return nodes
}
