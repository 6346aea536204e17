package supervisor

import (
	"fmt"
	"time"
)

// Restart says what a crash of a daemon restarts.
type Restart int

const (
	// RestartStack restarts the node's whole stack: the daemon's peers
	// (other layers on this node, or crmd on the other nodes) hold state
	// about it that only a clean leave and rejoin resets.
	RestartStack Restart = iota
	// RestartAlone restarts only the daemon: it is stateless towards the
	// others (pengine, tengine).
	RestartAlone
)

// String returns "stack" or "alone".
func (r Restart) String() string {
	if r == RestartAlone {
		return "alone"
	}
	return "stack"
}

// Daemon is one supervised daemon.
type Daemon struct {
	// Name identifies the daemon in events, actions and status.
	Name string
	// Restart is the policy on a crash.
	Restart Restart
}

// Config is the supervisor's configuration.
type Config struct {
	// Daemons in start order (stop order is the reverse).
	Daemons []Daemon
	// BackoffInitial is the delay before the restart after a first crash.
	BackoffInitial time.Duration
	// BackoffMax caps the doubling back-off.
	BackoffMax time.Duration
	// Window is the period over which crashes are counted.
	Window time.Duration
	// MaxCrashes crashes of one daemon within Window are tolerated; one
	// more and the node is stopped.
	MaxCrashes int
	// StopGrace is the time between SIGTERM and SIGKILL.
	StopGrace time.Duration
	// StartTimeout is how long a spawned daemon has for its socket to
	// answer before it counts as crashed (and is killed).
	StartTimeout time.Duration
	// RejoinDelay is the least time between a stack crash and the new
	// start of messagingd, so that the peers declare the node dead and
	// the node rejoins with a new view (set it to the messaging deadtime
	// or more).
	RejoinDelay time.Duration
}

// DefaultDaemons is Systole's stack in start order, with the restart
// policy of docs/systoled.md: the layers below crmd and crmd itself are
// restarted together, pengine, tengine and stonithd (which needs crmd's
// CIB, so it starts last) alone.
func DefaultDaemons() []Daemon {
	return []Daemon{
		{Name: "messagingd", Restart: RestartStack},
		{Name: "membershipd", Restart: RestartStack},
		{Name: "lrmd", Restart: RestartStack},
		{Name: "pengine", Restart: RestartAlone},
		{Name: "tengine", Restart: RestartAlone},
		{Name: "crmd", Restart: RestartStack},
		{Name: "stonithd", Restart: RestartAlone},
	}
}

// DefaultConfig returns the defaults with DefaultDaemons.
func DefaultConfig() Config {
	return Config{
		Daemons: DefaultDaemons(),
		// a daemon that died of a one-off fault comes back at once
		BackoffInitial: 100 * time.Millisecond,
		// a persistent fault retries slowly enough not to spin
		BackoffMax: 10 * time.Second,
		// pacemakerd's respawn window is of this order
		Window: 5 * time.Minute,
		// 5 crashes in 5 minutes is a broken daemon, not bad luck
		MaxCrashes: 5,
		// daemons flush state (fsync) and leave the cluster within seconds
		StopGrace: 10 * time.Second,
		// a daemon opens its socket in well under a second; slow disks
		// and a loaded machine get a wide margin
		StartTimeout: 30 * time.Second,
		// twice the default messaging deadtime (500 ms)
		RejoinDelay: time.Second,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Daemons) == 0 {
		return fmt.Errorf("%w: no daemons", ErrConfig)
	}
	seen := map[string]bool{}
	for _, d := range c.Daemons {
		if d.Name == "" || seen[d.Name] {
			return fmt.Errorf("%w: daemon name %q empty or repeated", ErrConfig, d.Name)
		}
		seen[d.Name] = true
	}
	switch {
	case c.BackoffInitial <= 0 || c.BackoffMax < c.BackoffInitial:
		return fmt.Errorf("%w: back-off %v..%v", ErrConfig, c.BackoffInitial, c.BackoffMax)
	case c.Window <= 0 || c.MaxCrashes < 1:
		return fmt.Errorf("%w: %d crashes per %v", ErrConfig, c.MaxCrashes, c.Window)
	case c.StopGrace <= 0 || c.StartTimeout <= 0 || c.RejoinDelay < 0:
		return fmt.Errorf("%w: stop grace %v, start timeout %v, rejoin delay %v", ErrConfig, c.StopGrace, c.StartTimeout, c.RejoinDelay)
	}
	return nil
}
