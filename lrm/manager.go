package lrm

import (
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// op is one submitted operation; a recurring monitor is one op that runs
// many times.
type op struct {
	callID  int64
	req     Request
	seq     uint64    // queue order across resources
	queued  time.Time // when it entered the queue (recurring: when it was due)
	due     time.Time // recurring only: next run time while idle
	started time.Time
	state   opState
	cancel  bool // cancelled while running: report cancelled when it ends
	// last is the (rc, status) of this op's previous run, for change
	// detection: a new op with the same key starts fresh.
	last lastRC
}

type opState int

const (
	opIdle    opState = iota // recurring, waiting for due
	opQueued                 // in its resource's queue
	opRunning                // handed to the executor
)

type lastRC struct {
	rc     int
	status Status
	set    bool
}

type rscState struct {
	rsc       Resource
	queue     []*op
	running   *op
	recurring map[string]*op // by op key
	history   map[string]*Record
	lastFail  *Result
	lastRC    map[string]lastRC    // by op key, for change detection
	rcChange  map[string]time.Time // by op key
}

// Manager is the lrmd core. See the package comment for its contract.
// Not safe for concurrent use.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	rscs     map[string]*rscState
	byCall   map[int64]*op
	nextCall int64
	seq      uint64
	running  int
	ready    Ready
}

// New returns a Manager. A nil logger discards. It panics if cfg is
// invalid (a programming error: validate configuration first).
func New(cfg Config, log *slog.Logger) *Manager {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		cfg:    cfg,
		log:    log,
		rscs:   map[string]*rscState{},
		byCall: map[int64]*op{},
	}
}

// validate checks a request without touching state.
func (m *Manager) validate(req Request) error {
	r := req.Rsc
	if r.ID == "" || r.Type == "" {
		return fmt.Errorf("%w: resource id and type are required", ErrBadRequest)
	}
	switch r.Class {
	case ClassOCF:
		if r.Provider == "" {
			return fmt.Errorf("%w: ocf resource %s has no provider", ErrUnknownProvider, r.ID)
		}
	case ClassLSB:
		if r.Provider != "" {
			return fmt.Errorf("%w: lsb resource %s has a provider", ErrBadRequest, r.ID)
		}
	case ClassStonith:
		return fmt.Errorf("resource %s: %w", r.ID, ErrStonithClass)
	default:
		return fmt.Errorf("%w %q (resource %s)", ErrUnknownClass, r.Class, r.ID)
	}
	if !KnownAction(req.Action) {
		return fmt.Errorf("%w %q (resource %s)", ErrUnknownAction, req.Action, r.ID)
	}
	if req.Interval < 0 || req.Timeout < 0 {
		return fmt.Errorf("%w: negative interval or timeout", ErrBadRequest)
	}
	if req.Interval > 0 && req.Action != ActionMonitor {
		return fmt.Errorf("%w: only monitor may recur (got %s with interval %v)", ErrBadRequest, req.Action, req.Interval)
	}
	return nil
}

func (m *Manager) state(r Resource) *rscState {
	s := m.rscs[r.ID]
	if s == nil {
		s = &rscState{
			rsc:       r,
			recurring: map[string]*op{},
			history:   map[string]*Record{},
			rcChange:  map[string]time.Time{},
		}
		m.rscs[r.ID] = s
	}
	s.rsc = r // the latest definition wins
	return s
}

// Submit queues an action and returns its call id. A recurring monitor
// with the key of an existing one replaces it (the old one is reported
// cancelled). Invalid requests return an error and change nothing.
func (m *Manager) Submit(req Request, now time.Time) (int64, error) {
	if err := m.validate(req); err != nil {
		return 0, err
	}
	if req.Timeout == 0 {
		req.Timeout = m.cfg.DefaultTimeout
	}
	s := m.state(req.Rsc)
	key := req.Key()
	if old := s.recurring[key]; old != nil {
		m.cancelOp(s, old, now)
	}
	m.nextCall++
	o := &op{callID: m.nextCall, req: req}
	m.byCall[o.callID] = o
	if req.Interval > 0 {
		s.recurring[key] = o
	}
	m.enqueue(s, o, now)
	m.log.Debug("op submitted", "rsc", req.Rsc.ID, "op", key, "call", o.callID)
	m.dispatch(now)
	return o.callID, nil
}

func (m *Manager) enqueue(s *rscState, o *op, now time.Time) {
	m.seq++
	o.seq = m.seq
	o.queued = now
	if o.req.Interval > 0 && !o.due.IsZero() {
		o.queued = o.due
	}
	o.state = opQueued
	s.queue = append(s.queue, o)
}

// Cancel cancels the operation of rsc with this action and interval: a
// recurring monitor stops recurring, a queued op is dropped. Both are
// reported with StatusCancelled; an op already running is reported
// cancelled when it ends.
func (m *Manager) Cancel(rscID, action string, interval time.Duration, now time.Time) error {
	s := m.rscs[rscID]
	if s == nil {
		return fmt.Errorf("cancel %s: %w", OpKey(rscID, action, interval), ErrUnknownResource)
	}
	key := OpKey(rscID, action, interval)
	if o := s.recurring[key]; o != nil {
		m.cancelOp(s, o, now)
		m.dispatch(now)
		return nil
	}
	for _, o := range s.queue {
		if o.req.Key() == key {
			m.cancelOp(s, o, now)
			m.dispatch(now)
			return nil
		}
	}
	if s.running != nil && s.running.req.Key() == key && !s.running.cancel {
		m.cancelOp(s, s.running, now)
		return nil
	}
	return fmt.Errorf("cancel %s: %w", key, ErrNoSuchOperation)
}

// cancelOp removes o from its resource. A running op is marked and
// reported when it ends.
func (m *Manager) cancelOp(s *rscState, o *op, now time.Time) {
	key := o.req.Key()
	if s.recurring[key] == o {
		delete(s.recurring, key)
	}
	switch o.state {
	case opRunning:
		o.cancel = true
		return
	case opQueued:
		for i, q := range s.queue {
			if q == o {
				s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
				break
			}
		}
	}
	delete(m.byCall, o.callID)
	r := Result{
		CallID: o.callID, Rsc: o.req.Rsc, Action: o.req.Action, Interval: o.req.Interval,
		RC: RCOK, Status: StatusCancelled, Queued: o.queued, LastRCChange: s.rcChange[key],
	}
	m.ready.Results = append(m.ready.Results, r)
}

// Complete records the result of a command handed out by Ready. Unknown
// call ids (for example a result arriving after Unregister) are ignored.
func (m *Manager) Complete(callID int64, res ExecResult, now time.Time) {
	o := m.byCall[callID]
	if o == nil || o.state != opRunning {
		m.log.Warn("result for unknown call", "call", callID)
		return
	}
	s := m.rscs[o.req.Rsc.ID]
	s.running = nil
	m.running--
	key := o.req.Key()
	r := Result{
		CallID: o.callID, Rsc: o.req.Rsc, Action: o.req.Action, Interval: o.req.Interval,
		RC: res.RC, Status: res.Status, ExitReason: res.ExitReason,
		Stdout: bound(res.Stdout, m.cfg.MaxOutput), Stderr: bound(res.Stderr, m.cfg.MaxOutput),
		Queued: o.queued, Started: o.started, Finished: now,
	}
	if o.cancel {
		r.Status = StatusCancelled
		delete(m.byCall, o.callID)
		r.LastRCChange = s.rcChange[key]
		m.ready.Results = append(m.ready.Results, r)
		m.dispatch(now)
		return
	}
	changed := !o.last.set || o.last.rc != r.RC || o.last.status != r.Status
	o.last = lastRC{rc: r.RC, status: r.Status, set: true}
	rec := s.history[key]
	if rec == nil || rec.Last.RC != r.RC {
		s.rcChange[key] = now
	}
	r.LastRCChange = s.rcChange[key]
	if rec == nil {
		rec = &Record{}
		s.history[key] = rec
	}
	rec.Last = r
	rec.Runs++
	if failed(r) {
		f := r
		s.lastFail = &f
	}
	if o.req.Interval > 0 {
		o.state = opIdle
		o.due = now.Add(o.req.Interval)
		if changed {
			m.ready.Results = append(m.ready.Results, r)
		}
	} else {
		delete(m.byCall, o.callID)
		m.ready.Results = append(m.ready.Results, r)
	}
	m.log.Debug("op done", "rsc", o.req.Rsc.ID, "op", key, "call", o.callID, "rc", r.RC, "status", r.Status.String())
	m.dispatch(now)
}

// failed reports whether a result is not a success for its action.
func failed(r Result) bool {
	if r.Status != StatusDone {
		return r.Status != StatusCancelled
	}
	switch r.RC {
	case RCOK, RCDegraded, RCDegradedPromoted:
		return false
	case RCRunningPromoted:
		return r.Action != ActionMonitor
	case RCNotRunning:
		return !(r.Action == ActionMonitor && r.Interval == 0)
	}
	return true
}

// Tick queues the recurring monitors due at now and dispatches.
func (m *Manager) Tick(now time.Time) {
	for _, id := range sortedKeys(m.rscs) {
		s := m.rscs[id]
		for _, k := range sortedKeys(s.recurring) {
			o := s.recurring[k]
			if o.state == opIdle && !o.due.After(now) {
				m.enqueue(s, o, now)
			}
		}
	}
	m.dispatch(now)
}

// NextDeadline returns the earliest time a recurring monitor falls due,
// and false if none is waiting. The shell calls Tick at that time.
func (m *Manager) NextDeadline() (time.Time, bool) {
	var best time.Time
	ok := false
	for _, s := range m.rscs {
		for _, o := range s.recurring {
			if o.state == opIdle && (!ok || o.due.Before(best)) {
				best, ok = o.due, true
			}
		}
	}
	return best, ok
}

// dispatch starts queued ops while the parallel limit allows: among idle
// resources with a non-empty queue, the op queued first goes first.
func (m *Manager) dispatch(now time.Time) {
	for m.running < m.cfg.MaxParallel {
		var pick *rscState
		for _, s := range m.rscs {
			if s.running != nil || len(s.queue) == 0 {
				continue
			}
			if pick == nil || s.queue[0].seq < pick.queue[0].seq {
				pick = s
			}
		}
		if pick == nil {
			return
		}
		o := pick.queue[0]
		pick.queue = pick.queue[1:]
		if o.req.Action == ActionStop {
			// A stop ends the monitoring that was asked for before it;
			// monitors submitted after the stop (a restart) survive.
			for _, k := range sortedKeys(pick.recurring) {
				if r := pick.recurring[k]; r.callID < o.callID {
					m.cancelOp(pick, r, now)
				}
			}
		}
		o.state = opRunning
		o.started = now
		pick.running = o
		m.running++
		m.ready.Exec = append(m.ready.Exec, Command{
			CallID: o.callID, Queued: o.queued, Rsc: o.req.Rsc, Action: o.req.Action,
			Interval: o.req.Interval, Timeout: o.req.Timeout,
			Params: o.req.Params, Meta: o.req.Meta,
		})
	}
}

// HasReady reports whether Ready would return anything.
func (m *Manager) HasReady() bool { return !m.ready.Empty() }

// Ready returns and clears the accumulated effects.
func (m *Manager) Ready() Ready {
	r := m.ready
	m.ready = Ready{}
	return r
}

// Running returns the number of operations handed out and not completed.
func (m *Manager) Running() int { return m.running }

// Resources returns the ids of the resources the manager knows, sorted.
func (m *Manager) Resources() []string { return sortedKeys(m.rscs) }

// History returns the history of one resource.
func (m *Manager) History(rscID string) (History, error) {
	s := m.rscs[rscID]
	if s == nil {
		return History{}, fmt.Errorf("history %s: %w", rscID, ErrUnknownResource)
	}
	h := History{Rsc: s.rsc}
	for _, k := range sortedKeys(s.history) {
		h.Ops = append(h.Ops, *s.history[k])
	}
	if s.lastFail != nil {
		f := *s.lastFail
		h.LastFailure = &f
	}
	return h, nil
}

// Unregister forgets a resource and its history. It fails with ErrBusy
// while an operation is queued or running; recurring monitors are
// cancelled first (and reported).
func (m *Manager) Unregister(rscID string, now time.Time) error {
	s := m.rscs[rscID]
	if s == nil {
		return fmt.Errorf("unregister %s: %w", rscID, ErrUnknownResource)
	}
	for _, k := range sortedKeys(s.recurring) {
		m.cancelOp(s, s.recurring[k], now)
	}
	if s.running != nil || len(s.queue) > 0 {
		return fmt.Errorf("unregister %s: %w", rscID, ErrBusy)
	}
	delete(m.rscs, rscID)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func bound(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
