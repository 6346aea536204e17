package lrm

import (
	"fmt"
	"time"
)

// Config tunes the Manager.
type Config struct {
	// MaxParallel bounds the operations running at once across resources.
	MaxParallel int
	// DefaultTimeout applies to a request that carries no timeout.
	DefaultTimeout time.Duration
	// MaxOutput bounds the agent output kept in a Result and the history.
	MaxOutput int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// Heartbeat's lrmd ran 4 children; Pacemaker's node-action-limit is
		// 2 x cores, which is 4 on the 2-core machines clusters often use.
		MaxParallel: 4,
		// Pacemaker's default operation timeout.
		DefaultTimeout: 20 * time.Second,
		// Enough for the largest meta-data resource-agents ships (~30 KiB)
		// while keeping a history of thousands of ops small.
		MaxOutput: 64 << 10,
	}
}

// Validate reports a configuration the Manager cannot work with.
func (c Config) Validate() error {
	if c.MaxParallel < 1 {
		return fmt.Errorf("lrm: config: MaxParallel %d < 1", c.MaxParallel)
	}
	if c.DefaultTimeout <= 0 {
		return fmt.Errorf("lrm: config: DefaultTimeout %v <= 0", c.DefaultTimeout)
	}
	if c.MaxOutput < 0 {
		return fmt.Errorf("lrm: config: MaxOutput %d < 0", c.MaxOutput)
	}
	return nil
}
