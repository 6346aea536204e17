package tengine

import (
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// Op statuses (Pacemaker's op-status, lrm.v1.ExecStatus).
const (
	StatusDone         = 0
	StatusCancelled    = 1
	StatusTimeout      = 2
	StatusNotSupported = 3
	StatusError        = 4
	StatusNotInstalled = 7
)

// rcUnknownError is OCF_ERR_GENERIC, the rc of an action the engine fails
// itself (timeout, lost node).
const rcUnknownError = 1

// Result is the outcome of one action.
type Result struct {
	RC         int
	Status     int
	ExitReason string
}

// Dispatch is an action the caller must execute now.
type Dispatch struct {
	Action *Action
	// Key is the action's transition key "ACTION:TRANSITION:TARGET_RC:UUID".
	Key string
	// Deadline is now + the action's timeout + cluster-delay: without a
	// result by then the engine fails the action (Tick).
	Deadline time.Time
}

// Event reports an action's progress.
type Event struct {
	Action  *Action
	Started bool // false: finished (pseudo events only finish)
	Result  Result
	// Failed: the result is not the expected one (and not ignored by
	// on-fail=ignore); the graph stops starting actions.
	Failed  bool
	Elapsed time.Duration
}

// Outcome is how a graph ended.
type Outcome int

// Outcomes.
const (
	// Complete: every action was confirmed.
	Complete Outcome = iota + 1
	// Aborted: Abort, a failed or timed-out action, a lost node, or a graph
	// that could not progress; the caller computes a new graph.
	Aborted
)

// String returns "complete" or "aborted".
func (o Outcome) String() string {
	switch o {
	case Complete:
		return "complete"
	case Aborted:
		return "aborted"
	}
	return "unknown"
}

// Finished reports the end of a graph. Counts are of non-pseudo actions.
type Finished struct {
	Outcome   Outcome
	Reason    string
	Completed int // confirmed
	Failed    int // finished with an unexpected result, timed out or lost
	Skipped   int // never started
}

// Ready is what the caller must do after an input.
type Ready struct {
	Dispatch []Dispatch
	Events   []Event
	Finished *Finished
}

type actionState uint8

const (
	waiting actionState = iota
	running
	confirmed
	failed
)

type actionRun struct {
	a        *Action
	state    actionState
	started  time.Time
	deadline time.Time
}

// Engine runs one transition graph. Not safe for concurrent use.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	g     *Graph
	uuid  string
	delay time.Duration

	runs     map[int]*actionRun
	waits    []int         // per synapse: inputs not yet confirmed
	fired    []bool        // per synapse
	byAction map[int][]int // action id -> synapses waiting on it
	readyQ   []int         // synapses whose inputs are confirmed, not fired
	unfired  int
	running  int
	migr     map[string]int // node -> running migrations

	stopped  bool
	reason   string
	finished bool
	counts   Finished
	out      Ready
}

// New returns an Engine for g; uuid is the transition engine's instance
// id written into transition keys. The actions with no inputs are ready
// at once (call Ready).
func New(g *Graph, uuid string, cfg Config, now time.Time) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("%w: no graph", ErrBadGraph)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, log: log, g: g, uuid: uuid, delay: g.ClusterDelay,
		runs: make(map[int]*actionRun, len(g.Actions)), waits: make([]int, len(g.Synapses)),
		fired: make([]bool, len(g.Synapses)), byAction: map[int][]int{}, migr: map[string]int{},
		unfired: len(g.Synapses)}
	if e.delay < 0 {
		e.delay = cfg.DefaultClusterDelay
	}
	for id, a := range g.Actions {
		e.runs[id] = &actionRun{a: a}
	}
	for i, syn := range g.Synapses {
		for _, in := range syn.Inputs {
			if e.runs[in] == nil {
				return nil, fmt.Errorf("%w: synapse %d waits for unknown action %d", ErrBadGraph, syn.ID, in)
			}
			e.waits[i]++
			e.byAction[in] = append(e.byAction[in], i)
		}
		if e.waits[i] == 0 {
			e.readyQ = append(e.readyQ, i)
		}
	}
	e.advance(now)
	return e, nil
}

// Graph returns the graph being run.
func (e *Engine) Graph() *Graph { return e.g }

// Done reports whether Finished has been produced.
func (e *Engine) Done() bool { return e.finished }

// Running returns the number of actions running.
func (e *Engine) Running() int { return e.running }

// Ready returns (and forgets) what the caller must do.
func (e *Engine) Ready() Ready {
	r := e.out
	e.out = Ready{}
	return r
}

// HasReady reports whether Ready has anything.
func (e *Engine) HasReady() bool {
	return len(e.out.Dispatch) > 0 || len(e.out.Events) > 0 || e.out.Finished != nil
}

func (e *Engine) timeout(a *Action) time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	return e.cfg.DefaultTimeout
}

// stop stops starting actions; the first reason is kept.
func (e *Engine) stop(reason string) {
	if !e.stopped {
		e.stopped = true
		e.reason = reason
		e.log.Debug("graph stops", "graph", e.g.TransitionID, "reason", reason)
	}
}

// advance fires every ready synapse the limits allow, then checks for the end.
func (e *Engine) advance(now time.Time) {
	for !e.stopped && len(e.readyQ) > 0 {
		q := e.readyQ
		e.readyQ = nil
		sort.Slice(q, func(x, y int) bool {
			sx, sy := e.g.Synapses[q[x]], e.g.Synapses[q[y]]
			if sx.Priority != sy.Priority {
				return sx.Priority > sy.Priority
			}
			return sx.ID < sy.ID
		})
		var blocked []int
		progressed := false
		for _, si := range q {
			if e.stopped || !e.canFire(si) {
				blocked = append(blocked, si)
				continue
			}
			progressed = true
			e.fire(si, now)
		}
		e.readyQ = append(blocked, e.readyQ...)
		if !progressed {
			break
		}
	}
	e.checkEnd()
}

func (e *Engine) canFire(si int) bool {
	syn := e.g.Synapses[si]
	real := 0
	for _, a := range syn.Actions {
		if a.Kind == Pseudo {
			continue
		}
		real++
		if a.IsMigration() && e.g.MigrationLimit >= 0 && e.migr[a.Node] >= e.g.MigrationLimit {
			return false
		}
	}
	if real > 0 && e.g.BatchLimit > 0 && e.running >= e.g.BatchLimit {
		return false
	}
	return true
}

func (e *Engine) fire(si int, now time.Time) {
	e.fired[si] = true
	e.unfired--
	for _, a := range e.g.Synapses[si].Actions {
		r := e.runs[a.ID]
		if a.Kind == Pseudo {
			r.state = confirmed
			e.out.Events = append(e.out.Events, Event{Action: a})
			e.confirmed(a)
			continue
		}
		r.state = running
		r.started = now
		r.deadline = now.Add(e.timeout(a) + e.delay)
		e.running++
		if a.IsMigration() {
			e.migr[a.Node]++
		}
		e.out.Dispatch = append(e.out.Dispatch, Dispatch{Action: a, Key: a.TransitionKey(e.g.TransitionID, e.uuid), Deadline: r.deadline})
		e.out.Events = append(e.out.Events, Event{Action: a, Started: true})
	}
}

// confirmed makes the synapses waiting on a ready when it was their last input.
func (e *Engine) confirmed(a *Action) {
	for _, si := range e.byAction[a.ID] {
		if e.waits[si]--; e.waits[si] == 0 && !e.fired[si] {
			e.readyQ = append(e.readyQ, si)
		}
	}
}

func (e *Engine) checkEnd() {
	if e.finished || e.running > 0 {
		return
	}
	if !e.stopped && e.unfired > 0 {
		// Nothing runs, yet synapses are left: they wait for limits that
		// can never open (migration-limit 0) or for inputs that can never
		// confirm.
		e.stop(fmt.Sprintf("graph stalled: %d synapses can never start", e.unfired))
	}
	e.finished = true
	f := &Finished{Outcome: Complete, Reason: "complete"}
	for _, r := range e.runs {
		if r.a.Kind == Pseudo {
			continue
		}
		switch r.state {
		case confirmed:
			f.Completed++
		case failed:
			f.Failed++
		default:
			f.Skipped++
		}
	}
	if e.stopped {
		f.Outcome = Aborted
		f.Reason = e.reason
	}
	e.out.Finished = f
	e.log.Debug("graph finished", "graph", e.g.TransitionID, "outcome", f.Outcome.String(), "reason", f.Reason,
		"completed", f.Completed, "failed", f.Failed, "skipped", f.Skipped)
}

// expected reports whether res is the result a expects.
func expected(a *Action, res Result) bool {
	return res.Status == StatusDone && res.RC == a.TargetRC
}

// Result records the outcome of a running action. ErrUnknownAction and
// ErrNotRunning report a result the engine cannot use (the engine is
// unchanged): a late answer after a timeout, or a duplicate.
func (e *Engine) Result(now time.Time, id int, res Result) error {
	r := e.runs[id]
	if r == nil {
		return fmt.Errorf("%w: %d", ErrUnknownAction, id)
	}
	if r.state != running {
		return fmt.Errorf("%w: %d (%s)", ErrNotRunning, id, r.a.OperationKey)
	}
	e.finish(now, r, res)
	e.advance(now)
	return nil
}

func (e *Engine) finish(now time.Time, r *actionRun, res Result) {
	a := r.a
	e.running--
	if a.IsMigration() {
		e.migr[a.Node]--
	}
	ev := Event{Action: a, Result: res, Elapsed: now.Sub(r.started)}
	if expected(a, res) || a.Attributes["CRM_meta_on_fail"] == "ignore" {
		r.state = confirmed
		e.confirmed(a)
	} else {
		r.state = failed
		ev.Failed = true
		reason := fmt.Sprintf("action %d (%s on %s) failed: rc=%d status=%d, expected rc=%d", a.ID, a.OperationKey, a.Node, res.RC, res.Status, a.TargetRC)
		if res.ExitReason != "" {
			reason += ": " + res.ExitReason
		}
		e.stop(reason)
	}
	e.out.Events = append(e.out.Events, ev)
}

// Tick fails the running actions whose deadline has passed (status
// timeout) and aborts the graph.
func (e *Engine) Tick(now time.Time) {
	var late []*actionRun
	for _, r := range e.runs {
		if r.state == running && !now.Before(r.deadline) {
			late = append(late, r)
		}
	}
	sort.Slice(late, func(i, j int) bool { return late[i].a.ID < late[j].a.ID })
	for _, r := range late {
		e.finish(now, r, Result{RC: rcUnknownError, Status: StatusTimeout,
			ExitReason: fmt.Sprintf("no result within %v (timeout %v + cluster-delay %v)", e.timeout(r.a)+e.delay, e.timeout(r.a), e.delay)})
	}
	e.advance(now)
}

// NextDeadline returns the earliest deadline of a running action (zero
// when none runs), so a caller can sleep until then instead of ticking.
func (e *Engine) NextDeadline() time.Time {
	var t time.Time
	for _, r := range e.runs {
		if r.state == running && (t.IsZero() || r.deadline.Before(t)) {
			t = r.deadline
		}
	}
	return t
}

// Abort stops starting actions; running actions finish and the graph ends
// Aborted with reason (the first reason wins).
func (e *Engine) Abort(now time.Time, reason string) {
	if e.finished {
		return
	}
	if reason == "" {
		reason = "aborted"
	}
	e.stop(reason)
	e.advance(now)
}

// NodeLost fails the actions running on node (status error) and aborts the
// graph if any of its actions was still to run there. Fencing actions
// targeting node are not failed: another node executes them.
func (e *Engine) NodeLost(now time.Time, node string) {
	if e.finished {
		return
	}
	var lost []*actionRun
	touched := false
	for _, r := range e.runs {
		if r.a.Node != node || r.a.Kind == Pseudo || r.a.Operation == "stonith" {
			continue
		}
		switch r.state {
		case running:
			lost = append(lost, r)
			touched = true
		case waiting:
			touched = true
		}
	}
	if touched {
		e.stop("node " + node + " lost")
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i].a.ID < lost[j].a.ID })
	for _, r := range lost {
		e.finish(now, r, Result{RC: rcUnknownError, Status: StatusError, ExitReason: "node " + node + " lost"})
	}
	e.advance(now)
}
