package agent

import (
	"fmt"
	"time"
)

// Config configures a Runner.
type Config struct {
	// Dir is where fence agents are installed.
	Dir string
	// Dirs are further directories searched after Dir, in order (stonithd
	// adds its own binary's directory, where Systole's agents such as
	// fence_systole_lab are installed). The first directory holding an
	// agent wins.
	Dirs []string
	// MaxOutput bounds the captured stdout and the captured stderr.
	MaxOutput int
	// KillGrace is the time between SIGTERM and SIGKILL on timeout.
	KillGrace time.Duration
	// PipeGrace is how long output is still read after the agent exited,
	// when a child it left behind holds the pipes open.
	PipeGrace time.Duration
	// DefaultTimeout applies to a request without a timeout.
	DefaultTimeout time.Duration
	// Env is the agents' environment; nil means the caller's.
	Env []string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// Debian's and Red Hat's fence-agents packages install there.
		Dir: "/usr/sbin",
		// The largest fence agent metadata (fence_ipmilan) is about 20 KiB.
		MaxOutput: 64 << 10,
		// fence agents are Python: give them time to close a session.
		KillGrace: 5 * time.Second,
		// Same as lrmd: enough for the last write of a dying agent.
		PipeGrace: 200 * time.Millisecond,
		// Pacemaker's pcmk_*_timeout default.
		DefaultTimeout: 60 * time.Second,
	}
}

// Validate reports an unusable configuration.
func (c Config) Validate() error {
	if c.Dir == "" {
		return fmt.Errorf("agent: config: Dir is required")
	}
	for _, d := range c.Dirs {
		if d == "" {
			return fmt.Errorf("agent: config: empty directory in Dirs")
		}
	}
	if c.MaxOutput < 0 || c.KillGrace < 0 || c.PipeGrace < 0 || c.DefaultTimeout <= 0 {
		return fmt.Errorf("agent: config: negative MaxOutput, KillGrace or PipeGrace, or DefaultTimeout <= 0")
	}
	return nil
}
