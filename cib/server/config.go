package server

import (
	"fmt"
	"log/slog"
)

// Config tunes a Server.
type Config struct {
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// WatchBuffer is how many events a watcher may lag behind before it is
	// sent a full copy instead (default 256: a burst of updates from one
	// tool fits, and a resync costs one CIB serialisation).
	WatchBuffer int
	// MaxBatch is the most writes committed with one Store.Save (default
	// 128: enough to turn a burst into one fsync, small enough that the
	// first writer of a group is not kept waiting long).
	MaxBatch int
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{WatchBuffer: 256, MaxBatch: 128}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.WatchBuffer < 1 {
		return fmt.Errorf("cib server: WatchBuffer %d: must be at least 1", c.WatchBuffer)
	}
	if c.MaxBatch < 1 {
		return fmt.Errorf("cib server: MaxBatch %d: must be at least 1", c.MaxBatch)
	}
	return nil
}
