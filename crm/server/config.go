package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/systole/systole/crm"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
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
	// DebounceCompute is how long the DC waits after a trigger before it
	// computes, so that a burst of CIB writes gives one computation.
	DebounceCompute time.Duration
	// ExecRetry is how often an action dispatched to another node's crmd
	// is sent again while unanswered (the target runs it once).
	ExecRetry time.Duration
	// NoQuorumPolicy, when set, overrides crm_config's no-quorum-policy
	// (read at every view).
	NoQuorumPolicy crm.NoQuorumPolicy
	// Access says who may use the gRPC API (nil: DefaultAccessPolicy).
	Access *AccessPolicy
	// LRM is the local lrmd (nil: actions fail with UNAVAILABLE and no
	// history is followed).
	LRM lrmv1.LRMServiceClient
	// PEngine and TEngine are the local policy and transition engines;
	// the DC pipeline runs only when both are set.
	PEngine penginev1.PEngineServiceClient
	TEngine tenginev1.TransitionServiceClient
	// Stonith is the local stonithd, which the DC asks to fence (nil:
	// stonith actions fail with UNAVAILABLE; see fence.go).
	Stonith stonithv1.StonithServiceClient
	// Now is the clock (nil: time.Now). Tests inject a fake.
	Now func() time.Time
	// Logger receives the daemon's logs; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Tick:            100 * time.Millisecond, // the core's Retry is 500 ms: a tick a fifth of it
		WatchBuffer:     256,                    // a burst of writes before a resync
		OutboxLimit:     65536,                  // far above a normal backlog; bounded memory if messagingd hangs
		DebounceCompute: 20 * time.Millisecond,  // a burst of writes gives one computation; far below an action's time
		ExecRetry:       2 * time.Second,        // messagingd retransmits itself; this covers a restarted messagingd
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
	if c.DebounceCompute < 0 || c.ExecRetry < 0 {
		return fmt.Errorf("crmd: config: DebounceCompute and ExecRetry must not be negative")
	}
	switch c.NoQuorumPolicy {
	case "", crm.NoQuorumStop, crm.NoQuorumFreeze, crm.NoQuorumIgnore:
	default:
		return fmt.Errorf("crmd: config: no-quorum-policy %q", c.NoQuorumPolicy)
	}
	return nil
}
