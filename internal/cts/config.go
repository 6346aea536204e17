package cts

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config is one run of the suite.
type Config struct {
	// Nodes is the cluster size (3..16).
	Nodes int
	// Iterations is the number of tests in the schedule.
	Iterations int
	// Seed makes the schedule and every choice in it; 0 is a valid seed.
	Seed int64
	// Tests restricts the schedule to these test names (nil: all).
	Tests []string
	// BinDir holds the cluster's binaries (see lab.ClusterOptions).
	BinDir string
	// Dir is the lab directory (created; must not hold a running lab).
	Dir string
	// Keepalive and Deadtime of the cluster (0: the lab's 100 ms, 500 ms).
	Keepalive, Deadtime time.Duration
	// SettleTimeout bounds the wait for a stable cluster after a step.
	SettleTimeout time.Duration
	// SampleEvery is the period of the double-activity sampler.
	SampleEvery time.Duration
	// Stonith configures fencing: stonith-enabled=true and a lab fence
	// device (fence_systole_lab). Off: stonith-enabled=false, and NodeKill
	// and the fencing checks are skipped (they switch on by themselves
	// when the CIB has stonith-enabled=true).
	Stonith bool
	// Out receives the progress lines and the final table.
	Out io.Writer
	// Logger receives details (nil: discard).
	Logger *slog.Logger
	// LogLevel of the cluster's daemons ("" info).
	LogLevel string
	// Tolerate lists kinds of violation (see Kinds) that are known
	// defects: they are reported as known, and do not fail the run.
	Tolerate []string
}

// Kinds are the kinds of violation, each the name of a check.
var Kinds = map[string]string{
	"settle":         "the cluster did not become stable (views, DC, idle policy engine) in time",
	"dc":             "more than one DC with quorum",
	"placement":      "a resource not active where the DC's CIB says (state files, addresses, ARP)",
	"outside-quorum": "a resource active on a node outside the quorate partition (no-quorum-policy=stop)",
	"double":         "a resource active on two nodes (sampler or check), or two clone instances on one node",
	"cib":            "CIB versions, configuration or status differ between members",
	"acked":          "an acknowledged CIB write is missing, or a write that must succeed failed",
	"crash":          "a panic or fatal error in a log",
	"restart":        "a daemon restarted although the step did not touch its node",
	"fencing":        "the fencing history is inconsistent or lacks a fencing",
	"left-active":    "a node stopped cleanly left resources active (also a double activity with such a node)",
	"stack-restart":  "a double activity with a node whose stack restarted (it left the membership with its resources running)",
	"standby":        "a resource active on a node in standby",
	"untouched":      "a resource started, stopped or restarted when nothing may touch it (maintenance, unmanaged, serial loss)",
	"recover":        "a resource failure was not recorded",
	"view-change":    "the membership changed when it must not (short flaps, serial cable loss)",
	"restore":        "the suite could not restore the cluster between steps",
}

// DefaultConfig returns the defaults of `systole cts`.
func DefaultConfig() Config {
	return Config{
		Nodes:      3,
		Iterations: 20,
		// settling includes a deadtime, a join and a transition of a few
		// agents; 90 s leaves room for a loaded 2-core machine
		SettleTimeout: 90 * time.Second,
		// 50 ms is below the shortest double activity worth catching (a
		// start racing a stop on another node takes longer)
		SampleEvery: 50 * time.Millisecond,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Nodes < 3 || c.Nodes > 16 {
		return fmt.Errorf("cts: %d nodes (3..16)", c.Nodes)
	}
	if c.Iterations < 1 {
		return fmt.Errorf("cts: %d iterations", c.Iterations)
	}
	if c.BinDir == "" || c.Dir == "" {
		return errors.New("cts: BinDir and Dir are required")
	}
	if c.SettleTimeout <= 0 || c.SampleEvery <= 0 {
		return errors.New("cts: SettleTimeout and SampleEvery must be positive")
	}
	for _, k := range c.Tolerate {
		if _, ok := Kinds[k]; !ok {
			return fmt.Errorf("cts: unknown violation kind %q", k)
		}
	}
	for _, t := range c.Tests {
		if _, ok := testByName[t]; !ok {
			return fmt.Errorf("cts: unknown test %q (known: %v)", t, TestNames())
		}
	}
	return nil
}
