package server

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures the pengine daemon shell.
type Config struct {
	// Now is the clock used when a request carries no time (now_unix 0).
	Now func() time.Time
	// Logger receives one debug line per computation; nil discards.
	Logger *slog.Logger
	// MaxConcurrent bounds the computations running at once.
	MaxConcurrent int
}

// DefaultConfig returns the daemon's defaults.
func DefaultConfig() Config {
	return Config{
		Now: time.Now, // the wall clock: rules and failure-timeout need real time
		// The DC computes one graph at a time; two lets crm_simulate-style
		// callers share the daemon without queueing behind the DC.
		MaxConcurrent: 2,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Now == nil {
		return fmt.Errorf("pengine server: no clock")
	}
	if c.MaxConcurrent < 1 {
		return fmt.Errorf("pengine server: max concurrent %d < 1", c.MaxConcurrent)
	}
	return nil
}
