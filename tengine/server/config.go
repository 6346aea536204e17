package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/systole/systole/tengine"
)

// Config configures the tengine daemon shell.
type Config struct {
	// UUID identifies this tengine instance in transition keys; the daemon
	// generates one at start.
	UUID string
	// Engine configures the core.
	Engine tengine.Config
	// Now is the clock.
	Now func() time.Time
	// Logger receives the daemon's log; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults (the UUID must still be set).
func DefaultConfig() Config {
	return Config{
		Engine: tengine.DefaultConfig(),
		Now:    time.Now, // actions have wall-clock deadlines
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.UUID == "" {
		return fmt.Errorf("tengine server: no UUID")
	}
	if c.Now == nil {
		return fmt.Errorf("tengine server: no clock")
	}
	return c.Engine.Validate()
}
