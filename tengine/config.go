package tengine

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures an Engine.
type Config struct {
	// DefaultTimeout is the timeout of an action whose attributes name
	// none (no CRM_meta_timeout); Pacemaker's default action timeout.
	DefaultTimeout time.Duration
	// DefaultClusterDelay is used when the graph has no cluster-delay.
	DefaultClusterDelay time.Duration
	// Logger receives debug lines; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns Pacemaker's defaults.
func DefaultConfig() Config {
	return Config{
		DefaultTimeout:      20 * time.Second, // PCMK_DEFAULT_ACTION_TIMEOUT_MS
		DefaultClusterDelay: 60 * time.Second, // cluster-delay's default
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.DefaultTimeout <= 0 {
		return fmt.Errorf("%w: default timeout %v", ErrInvalidConfig, c.DefaultTimeout)
	}
	if c.DefaultClusterDelay < 0 {
		return fmt.Errorf("%w: default cluster delay %v", ErrInvalidConfig, c.DefaultClusterDelay)
	}
	return nil
}
