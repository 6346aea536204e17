package server

import (
	"fmt"
	"log/slog"
	"time"
)

// Config tunes a Server.
type Config struct {
	// Tick is how often the core's Tick runs (retries, write deadlines,
	// attribute dampening).
	Tick time.Duration
	// WatchBuffer is how many events a CIB watcher may lag before it is
	// resynchronised with a full copy.
	WatchBuffer int
	// OutboxLimit bounds the messages waiting for messagingd; beyond it
	// the oldest are dropped (the core retries).
	OutboxLimit int
	// Now is the clock (nil: time.Now). Tests inject a fake.
	Now func() time.Time
	// Logger receives the daemon's logs; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Tick:        100 * time.Millisecond, // the core's Retry is 500 ms: a tick a fifth of it
		WatchBuffer: 256,                    // a burst of writes before a resync
		OutboxLimit: 65536,                  // far above a normal backlog; bounded memory if messagingd hangs
	}
}

// Validate reports a configuration the server cannot run with.
func (c Config) Validate() error {
	if c.Tick <= 0 {
		return fmt.Errorf("crmd: config: Tick must be positive")
	}
	if c.WatchBuffer < 1 {
		return fmt.Errorf("crmd: config: WatchBuffer must be at least 1")
	}
	if c.OutboxLimit < 1 {
		return fmt.Errorf("crmd: config: OutboxLimit must be at least 1")
	}
	return nil
}
