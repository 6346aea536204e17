package pengine

import (
	"fmt"
	"log/slog"
)

// Config holds the inputs to a computation that are not in the CIB.
type Config struct {
	// Now is the evaluation time in seconds since the epoch. It is used for
	// rules, failure-timeout and shutdown locks unless the CIB carries an
	// execution-date. Zero means "the epoch" (callers pass their clock).
	Now int64
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
	// ShowScores makes Result.Scores list allocation scores.
	ShowScores bool
	// ShowUtilization makes Result.Scores list utilization information.
	ShowUtilization bool
	// TransitionID is written into the graph's transition_id attribute.
	TransitionID int
	// Debug makes Result.DebugActions list every action considered.
	Debug bool
}

// DefaultConfig returns the configuration crm_simulate uses.
func DefaultConfig() Config {
	return Config{
		TransitionID: 1, // crm_simulate always numbers its one transition 1
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.TransitionID < 0 {
		return fmt.Errorf("%w: negative transition id %d", ErrInvalidConfig, c.TransitionID)
	}
	return nil
}
