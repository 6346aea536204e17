package lrm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func dummy(id string) Resource {
	return Resource{ID: id, Class: ClassOCF, Provider: "heartbeat", Type: "Dummy"}
}

func newMgr(t *testing.T, par int) *Manager {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MaxParallel = par
	return New(cfg, nil)
}

func submit(t *testing.T, m *Manager, rsc, action string, iv time.Duration, now time.Time) int64 {
	t.Helper()
	id, err := m.Submit(Request{Rsc: dummy(rsc), Action: action, Interval: iv}, now)
	if err != nil {
		t.Fatalf("submit %s %s: %v", rsc, action, err)
	}
	return id
}

func execIDs(r Ready) []int64 {
	var ids []int64
	for _, c := range r.Exec {
		ids = append(ids, c.CallID)
	}
	return ids
}

func TestValidate(t *testing.T) {
	m := newMgr(t, 4)
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"unknown class", Request{Rsc: Resource{ID: "a", Class: "upstart", Type: "x"}, Action: "start"}, ErrUnknownClass},
		{"stonith", Request{Rsc: Resource{ID: "a", Class: "stonith", Type: "fence_dummy"}, Action: "start"}, ErrStonithClass},
		{"ocf no provider", Request{Rsc: Resource{ID: "a", Class: "ocf", Type: "Dummy"}, Action: "start"}, ErrUnknownProvider},
		{"lsb provider", Request{Rsc: Resource{ID: "a", Class: "lsb", Provider: "x", Type: "ssh"}, Action: "start"}, ErrBadRequest},
		{"no id", Request{Rsc: Resource{Class: "ocf", Provider: "p", Type: "Dummy"}, Action: "start"}, ErrBadRequest},
		{"unknown action", Request{Rsc: dummy("a"), Action: "frobnicate"}, ErrUnknownAction},
		{"recurring start", Request{Rsc: dummy("a"), Action: "start", Interval: time.Second}, ErrBadRequest},
		{"negative timeout", Request{Rsc: dummy("a"), Action: "start", Timeout: -1}, ErrBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.Submit(c.req, t0); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if m.HasReady() || len(m.Resources()) != 0 {
				t.Fatalf("rejected request changed state")
			}
		})
	}
}

func TestSerializedPerResourceParallelAcross(t *testing.T) {
	m := newMgr(t, 2)
	a1 := submit(t, m, "a", "start", 0, t0)
	a2 := submit(t, m, "a", "monitor", 0, t0)
	b1 := submit(t, m, "b", "start", 0, t0)
	c1 := submit(t, m, "c", "start", 0, t0)
	r := m.Ready()
	if got := execIDs(r); len(got) != 2 || got[0] != a1 || got[1] != b1 {
		t.Fatalf("first dispatch = %v, want [%d %d]", got, a1, b1)
	}
	// a's second op waits for a1 even though a slot frees up on b.
	m.Complete(b1, ExecResult{RC: 0, Status: StatusDone}, t0.Add(time.Second))
	r = m.Ready()
	if got := execIDs(r); len(got) != 1 || got[0] != c1 {
		t.Fatalf("after b1 = %v, want [%d]", got, c1)
	}
	m.Complete(a1, ExecResult{RC: 0, Status: StatusDone}, t0.Add(2*time.Second))
	r = m.Ready()
	if got := execIDs(r); len(got) != 1 || got[0] != a2 {
		t.Fatalf("after a1 = %v, want [%d]", got, a2)
	}
	if len(r.Results) != 1 || r.Results[0].CallID != a1 || r.Results[0].ExecTime() != 2*time.Second {
		t.Fatalf("results = %+v", r.Results)
	}
	if m.Running() != 2 {
		t.Fatalf("running = %d", m.Running())
	}
}

func TestRecurringMonitorChangeDetection(t *testing.T) {
	m := newMgr(t, 4)
	id := submit(t, m, "a", "monitor", 10*time.Second, t0)
	now := t0
	rcs := []int{0, 0, 0, 7, 7, 0}
	wantPublished := []bool{true, false, false, true, false, true}
	for i, rc := range rcs {
		r := m.Ready()
		if got := execIDs(r); len(got) != 1 || got[0] != id {
			t.Fatalf("run %d: exec = %v", i, got)
		}
		now = now.Add(100 * time.Millisecond)
		m.Complete(id, ExecResult{RC: rc, Status: StatusDone}, now)
		r = m.Ready()
		if (len(r.Results) == 1) != wantPublished[i] {
			t.Fatalf("run %d rc %d: published %v, want %v", i, rc, r.Results, wantPublished[i])
		}
		due, ok := m.NextDeadline()
		if !ok || !due.Equal(now.Add(10*time.Second)) {
			t.Fatalf("run %d: next deadline %v %v", i, due, ok)
		}
		m.Tick(due.Add(-time.Millisecond))
		if m.HasReady() {
			t.Fatalf("run %d: ran before due", i)
		}
		now = due
		m.Tick(now)
	}
	h, err := m.History("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 1 || h.Ops[0].Runs != 6 || h.Ops[0].Last.RC != 0 {
		t.Fatalf("history = %+v", h)
	}
	if h.LastFailure == nil || h.LastFailure.RC != 7 {
		t.Fatalf("last failure = %+v", h.LastFailure)
	}
	if !h.Ops[0].Last.LastRCChange.Equal(h.Ops[0].Last.Finished) {
		t.Fatalf("last rc change %v != finished %v", h.Ops[0].Last.LastRCChange, h.Ops[0].Last.Finished)
	}
}

func TestCancel(t *testing.T) {
	m := newMgr(t, 4)
	id := submit(t, m, "a", "monitor", time.Second, t0)
	m.Ready()
	// Cancel while running: reported cancelled when it ends, not rescheduled.
	if err := m.Cancel("a", "monitor", time.Second, t0); err != nil {
		t.Fatal(err)
	}
	m.Complete(id, ExecResult{RC: 0, Status: StatusDone}, t0.Add(time.Millisecond))
	r := m.Ready()
	if len(r.Results) != 1 || r.Results[0].Status != StatusCancelled {
		t.Fatalf("results = %+v", r.Results)
	}
	if _, ok := m.NextDeadline(); ok {
		t.Fatal("cancelled monitor still scheduled")
	}
	if err := m.Cancel("a", "monitor", time.Second, t0); !errors.Is(err, ErrNoSuchOperation) {
		t.Fatalf("second cancel: %v", err)
	}
	if err := m.Cancel("zz", "monitor", time.Second, t0); !errors.Is(err, ErrUnknownResource) {
		t.Fatalf("cancel unknown: %v", err)
	}
}

func TestStopCancelsEarlierMonitorsOnly(t *testing.T) {
	m := newMgr(t, 4)
	mon := submit(t, m, "a", "monitor", time.Second, t0)
	m.Complete(mon, ExecResult{Status: StatusDone}, t0)
	m.Ready()
	stop := submit(t, m, "a", "stop", 0, t0)
	r := m.Ready()
	if len(r.Results) != 1 || r.Results[0].CallID != mon || r.Results[0].Status != StatusCancelled {
		t.Fatalf("stop did not cancel monitor: %+v", r.Results)
	}
	start := submit(t, m, "a", "start", 0, t0)
	mon2 := submit(t, m, "a", "monitor", time.Second, t0)
	m.Complete(stop, ExecResult{Status: StatusDone}, t0)
	m.Complete(start, ExecResult{Status: StatusDone}, t0)
	r = m.Ready()
	ids := execIDs(r)
	if len(ids) != 2 || ids[1] != mon2 {
		t.Fatalf("exec after restart = %v", ids)
	}
}

func TestReplaceRecurring(t *testing.T) {
	m := newMgr(t, 4)
	a := submit(t, m, "a", "monitor", time.Second, t0)
	m.Complete(a, ExecResult{Status: StatusDone}, t0)
	m.Ready()
	b := submit(t, m, "a", "monitor", time.Second, t0)
	r := m.Ready()
	if len(r.Results) != 1 || r.Results[0].CallID != a || r.Results[0].Status != StatusCancelled {
		t.Fatalf("old monitor not cancelled: %+v", r.Results)
	}
	if ids := execIDs(r); len(ids) != 1 || ids[0] != b {
		t.Fatalf("exec = %v", ids)
	}
}

func TestUnregister(t *testing.T) {
	m := newMgr(t, 4)
	id := submit(t, m, "a", "start", 0, t0)
	if err := m.Unregister("a", t0); !errors.Is(err, ErrBusy) {
		t.Fatalf("unregister busy: %v", err)
	}
	m.Complete(id, ExecResult{Status: StatusDone}, t0)
	if err := m.Unregister("a", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.History("a"); !errors.Is(err, ErrUnknownResource) {
		t.Fatalf("history after unregister: %v", err)
	}
	m.Complete(id, ExecResult{Status: StatusDone}, t0) // stale: ignored
}

func TestOutputBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxOutput = 10
	m := New(cfg, nil)
	id := submit(t, m, "a", "start", 0, t0)
	m.Complete(id, ExecResult{Status: StatusDone, Stdout: strings.Repeat("x", 100)}, t0)
	if r := m.Ready(); len(r.Results[0].Stdout) != 10 {
		t.Fatalf("output %d bytes", len(r.Results[0].Stdout))
	}
}

func TestFairnessAcrossResources(t *testing.T) {
	m := newMgr(t, 1)
	ids := map[string]int64{}
	for _, r := range []string{"c", "a", "b"} {
		ids[r] = submit(t, m, r, "start", 0, t0)
	}
	var order []int64
	for range 3 {
		r := m.Ready()
		if len(r.Exec) != 1 {
			t.Fatalf("exec = %v", r.Exec)
		}
		order = append(order, r.Exec[0].CallID)
		m.Complete(r.Exec[0].CallID, ExecResult{Status: StatusDone}, t0)
	}
	if order[0] != ids["c"] || order[1] != ids["a"] || order[2] != ids["b"] {
		t.Fatalf("order %v, want submission order", order)
	}
}
