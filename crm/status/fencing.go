package status

import (
	"fmt"
	"sort"
	"strings"

	"github.com/beevik/etree"
)

// FenceState is the state of a fencing operation.
type FenceState int

// Fencing operation states.
const (
	FencePending FenceState = iota
	FenceDone
	FenceFailed
)

// FenceEvent is one fencing operation of stonithd's history, as crm_mon
// shows it.
type FenceEvent struct {
	Target, Action string
	State          FenceState
	// Origin asked, Delegate ran the agents; Clients name the askers.
	Origin, Delegate string
	Clients          []string
	// Reason says why it failed.
	Reason string
	// Completed is when it ended, in milliseconds since the epoch (0
	// while pending).
	Completed int64
}

// Fence history levels of crm_mon --fence-history (Pacemaker's): 0 off,
// 1 failures and pending (crm_mon's default), 2 also successes (the
// default of a bare -m), 3 the full history, not only each target's
// latest.
const (
	FenceLevelOff     = 0
	FenceLevelFailed  = 1
	FenceLevelSuccess = 2
	FenceLevelFull    = 3
)

// sortedFencing returns the events newest first (pending first), as
// Pacemaker sorts its history; below level 3 only the newest event of
// each target, action and state is kept.
func sortedFencing(events []FenceEvent, level int) []FenceEvent {
	evs := append([]FenceEvent(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if (a.State == FencePending) != (b.State == FencePending) {
			return a.State == FencePending
		}
		if a.Completed != b.Completed {
			return a.Completed > b.Completed
		}
		return a.Target < b.Target
	})
	if level >= FenceLevelFull {
		return evs
	}
	type key struct {
		target, action string
		state          FenceState
	}
	seen := map[key]bool{}
	var out []FenceEvent
	for _, e := range evs {
		k := key{e.Target, e.Action, e.State}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

func (e FenceEvent) client() string { return strings.Join(e.Clients, ",") }

func (e FenceEvent) stateName() string {
	switch e.State {
	case FenceDone:
		return "success"
	case FenceFailed:
		return "failed"
	}
	return "pending"
}

// fenceText is one event as Pacemaker's stonith__event_text writes it.
func fenceText(e FenceEvent, full bool, o Options) string {
	completed := ""
	if e.Completed > 0 {
		completed = isoTime(e.Completed/1000, o.loc())
	}
	switch e.State {
	case FenceDone:
		k := "last-successful"
		if full {
			k = "completed"
		}
		return fmt.Sprintf("%s of %s successful: delegate=%s, client=%s, origin=%s, %s='%s'", e.Action, e.Target, e.Delegate, e.client(), e.Origin, k, completed)
	case FenceFailed:
		k := "last-failed"
		if full {
			k = "completed"
		}
		reason := ""
		if e.Reason != "" {
			reason = " (" + e.Reason + ")"
		}
		return fmt.Sprintf("%s of %s failed%s: delegate=%s, client=%s, origin=%s, %s='%s'", e.Action, e.Target, reason, e.Delegate, e.client(), e.Origin, k, completed)
	}
	return fmt.Sprintf("%s of %s pending: client=%s, origin=%s", e.Action, e.Target, e.client(), e.Origin)
}

// fencingLines are the text sections of the fencing history, as
// Pacemaker's crm_mon: "Failed Fencing Actions:" (level 1 and up), then
// "Fencing History:" with successes and pending operations (level 2 and
// up) or "Pending Fencing Actions:" (level 1). A section without events
// is not shown; FenceError replaces them all.
func (c *Cluster) fencingLines(o Options) []string {
	if o.FenceLevel <= FenceLevelOff {
		return nil
	}
	if o.FenceError != "" {
		return []string{"", "Fencing History:", "  * " + o.FenceError}
	}
	full := o.FenceLevel >= FenceLevelFull
	evs := sortedFencing(o.Fencing, o.FenceLevel)
	var failed, worked, pending []string
	for _, e := range evs {
		switch e.State {
		case FenceFailed:
			failed = append(failed, "  * "+fenceText(e, full, o))
		case FenceDone:
			worked = append(worked, "  * "+fenceText(e, full, o))
		default:
			pending = append(pending, "  * "+fenceText(e, full, o))
			worked = append(worked, "  * "+fenceText(e, full, o))
		}
	}
	var out []string
	if len(failed) > 0 {
		out = append(out, "", "Failed Fencing Actions:")
		out = append(out, failed...)
	}
	if o.FenceLevel >= FenceLevelSuccess {
		if len(worked) > 0 {
			out = append(out, "", "Fencing History:")
			out = append(out, worked...)
		}
	} else if len(pending) > 0 {
		out = append(out, "", "Pending Fencing Actions:")
		out = append(out, pending...)
	}
	return out
}

// xmlFencing fills <fence_history> as Pacemaker's crm_mon XML: one
// <fence_event> per event (every state; the level only reduces the
// history below 3).
func (c *Cluster) xmlFencing(fh *etree.Element, o Options) {
	if o.FenceLevel <= FenceLevelOff {
		return
	}
	if o.FenceError != "" {
		attrs(fh, "status", "1", "message", o.FenceError)
		return
	}
	for _, e := range sortedFencing(o.Fencing, o.FenceLevel) {
		fe := attrs(fh.CreateElement("fence_event"), "action", e.Action, "target", e.Target, "client", e.client(),
			"origin", e.Origin, "status", e.stateName())
		if e.State == FenceFailed && e.Reason != "" {
			attrs(fe, "exit-reason", e.Reason)
		}
		if e.State != FencePending {
			attrs(fe, "delegate", e.Delegate)
			if e.Completed > 0 {
				attrs(fe, "completed", isoTime(e.Completed/1000, o.loc()))
			}
		}
	}
}
