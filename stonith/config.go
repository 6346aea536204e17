package stonith

import (
	"fmt"
	"time"
)

// Config tunes the Fencer.
type Config struct {
	// Node is this node's name, recorded as the executioner (delegate) of
	// the operations this Fencer runs.
	Node string
	// DefaultTimeout bounds an operation whose request carries no timeout.
	DefaultTimeout time.Duration
	// ActionTimeout bounds one agent command without pcmk_<action>_timeout.
	ActionTimeout time.Duration
	// ListCacheTTL is how long a dynamic-list answer (the agent's list
	// action) is trusted.
	ListCacheTTL time.Duration
	// MaxHistory bounds the completed entries kept in the history.
	MaxHistory int
	// MaxOutput bounds the agent output kept in a history entry.
	MaxOutput int
	// FirstID is the operation id counter's start: the first operation
	// gets FirstID+1. History entries travel between nodes and are
	// deduplicated by id, so the daemon makes ids unique in the cluster
	// (a per-node prefix and its start time, see stonith/server).
	FirstID uint64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// Pacemaker's stonith-timeout.
		DefaultTimeout: 60 * time.Second,
		// Pacemaker's default for pcmk_reboot_timeout and friends.
		ActionTimeout: 60 * time.Second,
		// Pacemaker refreshes a device's dynamic list once a minute.
		ListCacheTTL: 60 * time.Second,
		// Pacemaker keeps 500 fencing history entries per target; 500 in
		// all is plenty for 16 nodes and keeps a broadcast copy small.
		MaxHistory: 500,
		// Enough for a fence agent's error message; the metadata is not
		// kept in the history.
		MaxOutput: 4 << 10,
	}
}

// Validate reports a configuration the Fencer cannot work with.
func (c Config) Validate() error {
	if c.DefaultTimeout <= 0 {
		return fmt.Errorf("stonith: config: DefaultTimeout %v <= 0", c.DefaultTimeout)
	}
	if c.ActionTimeout <= 0 {
		return fmt.Errorf("stonith: config: ActionTimeout %v <= 0", c.ActionTimeout)
	}
	if c.ListCacheTTL < 0 {
		return fmt.Errorf("stonith: config: ListCacheTTL %v < 0", c.ListCacheTTL)
	}
	if c.MaxHistory < 1 {
		return fmt.Errorf("stonith: config: MaxHistory %d < 1", c.MaxHistory)
	}
	if c.MaxOutput < 0 {
		return fmt.Errorf("stonith: config: MaxOutput %d < 0", c.MaxOutput)
	}
	return nil
}
