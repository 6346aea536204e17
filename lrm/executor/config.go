package executor

import (
	"fmt"
	"time"
)

// Config configures a Process executor.
type Config struct {
	// OCFRoot is where OCF agents live, under resource.d/PROVIDER/TYPE.
	OCFRoot string
	// LSBRoot is the init script directory.
	LSBRoot string
	// MaxOutput bounds the captured stdout and the captured stderr.
	MaxOutput int
	// KillGrace is the time between SIGTERM and SIGKILL on timeout.
	KillGrace time.Duration
	// PipeGrace is how long to keep reading output after the agent
	// exited, when a child it left behind holds the pipes open.
	PipeGrace time.Duration
	// StateFile records the process groups of running agents so that a
	// restarted lrmd can kill them ("" = not recorded).
	StateFile string
	// Env is the base environment of agents; nil means the lrmd's own.
	Env []string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// The OCF standard location, also Debian's.
		OCFRoot: "/usr/lib/ocf",
		// Where LSB init scripts live on every distribution.
		LSBRoot: "/etc/init.d",
		// Large enough for any meta-data, small enough for thousands of
		// ops in flight.
		MaxOutput: 256 << 10,
		// Long enough for an agent to clean up on SIGTERM, short enough
		// that a hung stop is reported promptly.
		KillGrace: 5 * time.Second,
		// Agents that start daemons without closing stdout are common.
		PipeGrace: 200 * time.Millisecond,
	}
}

// Validate reports an unusable configuration.
func (c Config) Validate() error {
	if c.OCFRoot == "" || c.LSBRoot == "" {
		return fmt.Errorf("executor: config: OCFRoot and LSBRoot are required")
	}
	if c.MaxOutput < 0 || c.KillGrace < 0 || c.PipeGrace < 0 {
		return fmt.Errorf("executor: config: negative MaxOutput, KillGrace or PipeGrace")
	}
	return nil
}
