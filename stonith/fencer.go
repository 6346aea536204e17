package stonith

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// Request asks for a target to be fenced.
type Request struct {
	Target string
	Action Action // off, on or reboot
	Origin string // the node that asked (the DC, or the node of stonith_admin)
	Client string // the asking client (crmd, stonith_admin.PID)
	// Timeout bounds the whole operation (stonith-timeout, stonith_admin
	// -t); 0 means Config.DefaultTimeout.
	Timeout time.Duration
	// Delay is added before the first device runs (stonith_admin -y);
	// negative disables the devices' pcmk_delay_base/pcmk_delay_max too.
	Delay time.Duration
	// PriorityDelay, when not nil, replaces the devices'
	// pcmk_delay_base/pcmk_delay_max (the graph's
	// CRM_meta_priority_fencing_delay: a requested delay takes precedence
	// over device delays, as in Pacemaker); Delay is still added. A
	// negative Delay disables it too.
	PriorityDelay *time.Duration
	// Devices, when set, is the whole plan: one level of these devices,
	// every one of which must succeed, with no host check (unfencing
	// through every device with meta provides=unfencing).
	Devices []string
	// Tolerance (stonith_admin --tolerance): when the target was fenced
	// with the same action and done at most this long ago, the request
	// completes at once with that entry (its id) and nothing runs.
	Tolerance time.Duration
}

// State is the state of a fencing operation.
type State int

// Operation states, with Pacemaker's history names.
const (
	StatePending State = iota // requested, not ended
	StateDone                 // the target is fenced
	StateFailed               // every level failed or the timeout passed
)

func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateDone:
		return "done"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Entry is one fencing operation in the history.
type Entry struct {
	ID        uint64
	Target    string
	Action    Action
	State     State
	Origin    string
	Clients   []string // every client whose request this operation serves
	Delegate  string   // the node that ran the agents (the executioner)
	Devices   []string // the devices of the level that succeeded, or every device tried
	Reason    string   // why it failed, or "manually confirmed"
	Requested time.Time
	Completed time.Time // zero while pending
}

// Kind says what a Command is for.
type Kind int

// Command kinds.
const (
	KindFence       Kind = iota // a step of a fencing operation
	KindListQuery               // dynamic-list: which hosts the device can fence
	KindStatusQuery             // pcmk_host_check=status for one target
)

// Command is an agent to run: the executor runs Agent with Args on stdin
// and answers with Complete(Result{Command: ID}).
type Command struct {
	ID      uint64
	Op      uint64 // the fencing operation, 0 for a shared list query
	Kind    Kind
	Device  string
	Agent   string
	Action  Action // the fencing action this step performs
	Args    []Arg  // Args[0] is action=<agent action>
	Timeout time.Duration
}

// Result is the outcome of a Command.
type Result struct {
	Command uint64
	RC      int    // the agent's exit code
	Output  string // stdout and stderr, for the history's reason
	Error   string // set when the agent did not run or timed out (RC is then ignored)
}

// Completion reports that a fencing operation ended.
type Completion struct{ Entry }

// Ready holds the effects accumulated since the last Ready call.
type Ready struct {
	Commands    []Command
	Completions []Completion
}

type step struct {
	device string
	action Action
	level  int // index into op.levels
}

type op struct {
	e        Entry
	deadline time.Time
	started  bool      // resolution done, plan built
	levels   []Level   // the plan, in order
	steps    []step    // steps of the current level
	level    int       // current level
	pos      int       // current step
	tries    int       // failed tries of the current step
	running  uint64    // command in flight, 0 if none
	wait     time.Time // hold the next step until then (fencing delay)
	delayed  bool      // the delay was applied
	held     bool      // waiting for wait
	watchdog bool      // no device: waiting for the target's watchdog to reset it
	devices  []string  // Request.Devices
	status   map[string]bool
	pending  map[uint64]bool // queries in flight for this op
	tried    []string
	failures []string
}

type listCache struct {
	hosts []string
	ok    bool
	at    time.Time
}

// Fencer is the fencing core. Not safe for concurrent use.
type Fencer struct {
	cfg     Config
	rng     *rand.Rand
	topo    *Topology
	nextOp  uint64
	nextCmd uint64
	ops     map[uint64]*op
	queues  map[string][]uint64 // per target, head is active
	cmds    map[uint64]Command  // in flight
	lists   map[string]listCache
	listCmd map[string]uint64 // device -> list query in flight
	history []Entry
	ready   Ready

	wdTimeout     time.Duration // stonith-watchdog-timeout, 0 = off
	wdUnavailable string        // why this node cannot use a watchdog ("" = it can)
}

// NewFencer returns a Fencer with an empty topology. rng draws the
// pcmk_delay_max delays; nil means no random part (delays are
// pcmk_delay_base only).
func NewFencer(cfg Config, rng *rand.Rand) (*Fencer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Fencer{cfg: cfg, rng: rng, topo: &Topology{Devices: map[string]*Device{}}, nextOp: cfg.FirstID,
		ops: map[uint64]*op{}, queues: map[string][]uint64{}, cmds: map[uint64]Command{},
		lists: map[string]listCache{}, listCmd: map[string]uint64{}}, nil
}

// SetTopology replaces the devices and levels (after a CIB change).
// Running operations keep their plan; new ones use t. Cached dynamic lists
// of devices whose definition changed are dropped.
func (f *Fencer) SetTopology(t *Topology) {
	for id := range f.lists {
		if t.Devices[id] == nil || f.topo.Devices[id] == nil || t.Devices[id].Agent != f.topo.Devices[id].Agent {
			delete(f.lists, id)
		}
	}
	f.topo = t
}

// SetDefaultTimeout sets the timeout of operations whose request names
// none (crm_config stonith-timeout); d <= 0 keeps the current one.
func (f *Fencer) SetDefaultTimeout(d time.Duration) {
	if d > 0 {
		f.cfg.DefaultTimeout = d
	}
}

// SetWatchdog configures watchdog self-fencing (stonith-watchdog-timeout):
// with timeout > 0, an operation for which no device can fence the target
// completes as done timeout after it was requested (the target's watchdog
// has reset it by then), with device "watchdog". unavailable, when not
// empty, says why watchdogs cannot be used here (no /dev/watchdog): such
// an operation then fails with that reason instead.
func (f *Fencer) SetWatchdog(timeout time.Duration, unavailable string) {
	f.wdTimeout, f.wdUnavailable = max(timeout, 0), unavailable
}

// DefaultTimeout returns the timeout of operations whose request names
// none.
func (f *Fencer) DefaultTimeout() time.Duration { return f.cfg.DefaultTimeout }

// Observe records an ended operation that another node ran or recorded (a
// peer's broadcast result, or a peer's history when this node joins). An
// entry whose id is already in the history, a pending entry, or one
// without target is ignored; Observe reports whether the entry was added.
// The history stays ordered by completion time; nothing runs and no
// Completion is emitted (the caller publishes what it observed).
func (f *Fencer) Observe(e Entry) bool {
	if e.State == StatePending || e.Target == "" || e.ID == 0 {
		return false
	}
	if _, local := f.ops[e.ID]; local {
		return false
	}
	for _, h := range f.history {
		if h.ID == e.ID {
			return false
		}
	}
	i := len(f.history)
	for i > 0 && f.history[i-1].Completed.After(e.Completed) {
		i--
	}
	f.history = slices.Insert(f.history, i, cloneEntry(e))
	if n := len(f.history) - f.cfg.MaxHistory; n > 0 {
		f.history = slices.Delete(f.history, 0, n)
	}
	return true
}

// Topology returns the current topology.
func (f *Fencer) Topology() *Topology { return f.topo }

// Request starts a fencing operation, or joins the one with the same target
// and action, and returns its id.
func (f *Fencer) Request(now time.Time, r Request) (uint64, error) {
	switch r.Action {
	case ActionOff, ActionOn, ActionReboot:
	default:
		return 0, fmt.Errorf("%w: action %q is not off, on or reboot", ErrBadRequest, r.Action)
	}
	if r.Target == "" {
		return 0, fmt.Errorf("%w: no target", ErrBadRequest)
	}
	if r.Tolerance > 0 {
		for i := len(f.history) - 1; i >= 0; i-- {
			e := f.history[i]
			if e.Target == r.Target && e.Action == r.Action && e.State == StateDone && !e.Completed.Before(now.Add(-r.Tolerance)) {
				f.ready.Completions = append(f.ready.Completions, Completion{cloneEntry(e)})
				return e.ID, nil
			}
		}
	}
	for _, id := range f.queues[r.Target] {
		if o := f.ops[id]; o.e.Action == r.Action {
			o.e.Clients = append(o.e.Clients, r.Client)
			return id, nil
		}
	}
	f.nextOp++
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = f.cfg.DefaultTimeout
	}
	o := &op{e: Entry{ID: f.nextOp, Target: r.Target, Action: r.Action, State: StatePending, Origin: r.Origin,
		Clients: []string{r.Client}, Delegate: f.cfg.Node, Requested: now},
		deadline: now.Add(timeout), status: map[string]bool{}, pending: map[uint64]bool{}, devices: slices.Clone(r.Devices)}
	// A fencing delay extends the operation's deadline (as Pacemaker adds
	// the delay to the operation's timeout): the timeout bounds the agents.
	o.wait = now
	if r.Delay > 0 {
		o.wait = now.Add(r.Delay)
		o.deadline = o.deadline.Add(r.Delay)
	}
	if r.Delay < 0 {
		o.delayed = true // no device delay either
	} else if r.PriorityDelay != nil {
		o.delayed = true // replaces the device delays
		if *r.PriorityDelay > 0 {
			o.wait = o.wait.Add(*r.PriorityDelay)
			o.deadline = o.deadline.Add(*r.PriorityDelay)
		}
	}
	f.ops[o.e.ID] = o
	f.queues[r.Target] = append(f.queues[r.Target], o.e.ID)
	if len(f.queues[r.Target]) == 1 {
		f.advance(now, o)
	}
	return o.e.ID, nil
}

// Confirm records that the operator made sure target is down (stonith_admin
// -C): pending operations for target complete as done, and a done entry
// is added when there was none.
func (f *Fencer) Confirm(now time.Time, target, origin string) {
	q := f.queues[target]
	if len(q) == 0 {
		f.nextOp++
		f.record(Entry{ID: f.nextOp, Target: target, Action: ActionOff, State: StateDone, Origin: origin,
			Delegate: origin, Reason: "manually confirmed", Requested: now, Completed: now})
		return
	}
	// Last first, so that finishing one never starts the next.
	for i := len(q) - 1; i >= 0; i-- {
		o := f.ops[q[i]]
		o.e.Delegate = origin
		f.finish(now, o, StateDone, "manually confirmed")
	}
}

// Complete hands the Fencer the result of a Command. Unknown or stale
// command ids are ignored.
func (f *Fencer) Complete(now time.Time, res Result) {
	c, ok := f.cmds[res.Command]
	if !ok {
		return
	}
	delete(f.cmds, res.Command)
	okRC := res.Error == ""
	switch c.Kind {
	case KindListQuery:
		delete(f.listCmd, c.Device)
		lc := listCache{ok: okRC && res.RC == RCOK, at: now}
		if lc.ok {
			lc.hosts = ParseList(res.Output)
		}
		f.lists[c.Device] = lc
		for _, id := range f.activeOps() {
			if o := f.ops[id]; !o.started {
				f.advance(now, o)
			}
		}
	case KindStatusQuery:
		o := f.ops[c.Op]
		if o == nil {
			return
		}
		delete(o.pending, c.ID)
		o.status[c.Device] = okRC && (res.RC == RCOK || res.RC == RCOff)
		f.advance(now, o)
	case KindFence:
		o := f.ops[c.Op]
		if o == nil || o.running != c.ID {
			return
		}
		o.running = 0
		if okRC && res.RC == RCOK {
			o.pos++
			o.tries = 0
		} else {
			why := res.Error
			if why == "" {
				why = fmt.Sprintf("rc=%d", res.RC)
				if out := strings.TrimSpace(res.Output); out != "" {
					why += ": " + truncate(out, f.cfg.MaxOutput)
				}
			}
			o.failures = append(o.failures, fmt.Sprintf("%s %s: %s", c.Device, c.Args[0].Value, why))
			o.tries++
			d := f.device(o, c.Device)
			if d == nil || o.tries > d.Retry(c.Action) {
				o.level++ // this level failed
				o.steps, o.pos, o.tries = nil, 0, 0
			}
		}
		f.advance(now, o)
	}
}

// Tick fails operations whose timeout passed and releases delayed steps.
func (f *Fencer) Tick(now time.Time) {
	for _, id := range f.activeOps() {
		o := f.ops[id]
		if !now.Before(o.deadline) {
			f.finish(now, o, StateFailed, fmt.Sprintf("timed out after %v", o.deadline.Sub(o.e.Requested)))
			continue
		}
		f.advance(now, o)
	}
}

// NextDeadline returns when Tick must next be called (a delay ending, an
// operation timing out); zero when nothing is pending.
func (f *Fencer) NextDeadline() time.Time {
	var t time.Time
	for _, id := range f.activeOps() {
		o := f.ops[id]
		if t.IsZero() || o.deadline.Before(t) {
			t = o.deadline
		}
		if o.held && o.wait.Before(t) {
			t = o.wait
		}
	}
	return t
}

// Ready returns and clears the accumulated effects.
func (f *Fencer) Ready() Ready {
	r := f.ready
	f.ready = Ready{}
	return r
}

// Pending returns the entries of the operations not yet ended, by id.
func (f *Fencer) Pending() []Entry {
	ids := make([]uint64, 0, len(f.ops))
	for id := range f.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Entry, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneEntry(f.ops[id].e))
	}
	return out
}

// Entry returns the entry of operation id: pending, or from the history.
func (f *Fencer) Entry(id uint64) (Entry, bool) {
	if o, ok := f.ops[id]; ok {
		return cloneEntry(o.e), true
	}
	for i := len(f.history) - 1; i >= 0; i-- {
		if f.history[i].ID == id {
			return cloneEntry(f.history[i]), true
		}
	}
	return Entry{}, false
}

// History returns the ended operations for target ("" for all), oldest
// first, followed by the pending ones.
func (f *Fencer) History(target string) []Entry {
	var out []Entry
	for _, e := range append(slices.Clone(f.history), f.Pending()...) {
		if target == "" || e.Target == target {
			out = append(out, cloneEntry(e))
		}
	}
	return out
}

// CleanupHistory forgets the ended operations for target ("" for all), as
// stonith_admin --history TARGET --cleanup.
func (f *Fencer) CleanupHistory(target string) {
	f.history = slices.DeleteFunc(f.history, func(e Entry) bool { return target == "" || e.Target == target })
}

// activeOps returns the ids of the operations at the head of their queue,
// sorted, so iteration is deterministic.
func (f *Fencer) activeOps() []uint64 {
	var ids []uint64
	for _, q := range f.queues {
		ids = append(ids, q[0])
	}
	slices.Sort(ids)
	return ids
}

func (f *Fencer) device(o *op, id string) *Device { return f.topo.Devices[id] }

// advance moves an active operation as far as it can without a result.
func (f *Fencer) advance(now time.Time, o *op) {
	if o.e.State != StatePending || o.running != 0 {
		return
	}
	if !o.started && !f.resolve(now, o) {
		return
	}
	for {
		if o.level >= len(o.levels) {
			reason := "no fence device can fence " + o.e.Target
			if len(o.failures) > 0 {
				reason = "every fencing level failed: " + strings.Join(o.failures, "; ")
			} else if f.wdTimeout > 0 || o.watchdog {
				if f.wdUnavailable != "" && !o.watchdog {
					f.finish(now, o, StateFailed, reason+" and "+f.wdUnavailable)
					return
				}
				// Watchdog self-fencing: the target's watchdog resets it
				// within the timeout of its losing the cluster.
				if !o.watchdog {
					o.watchdog = true
					if w := o.e.Requested.Add(f.wdTimeout); w.After(o.wait) {
						o.wait = w
					}
				}
				if o.held = now.Before(o.wait); o.held {
					return
				}
				o.e.Devices = []string{"watchdog"}
				f.finish(now, o, StateDone, "")
				return
			}
			f.finish(now, o, StateFailed, reason)
			return
		}
		if o.steps == nil {
			o.steps = f.levelSteps(o)
			o.pos = 0
		}
		if o.pos >= len(o.steps) {
			o.e.Devices = slices.Clone(o.levels[o.level].Devices)
			f.finish(now, o, StateDone, "")
			return
		}
		s := o.steps[o.pos]
		d := f.device(o, s.device)
		if d == nil {
			o.failures = append(o.failures, fmt.Sprintf("%s: no such device", s.device))
			o.level++
			o.steps = nil
			continue
		}
		if !o.delayed {
			o.delayed = true
			if dl := f.delay(d); dl > 0 {
				o.wait = o.wait.Add(dl)
				o.deadline = o.deadline.Add(dl)
			}
		}
		if o.held = now.Before(o.wait); o.held {
			return
		}
		if !slices.Contains(o.tried, d.ID) {
			o.tried = append(o.tried, d.ID)
		}
		o.running = f.issue(now, Command{Op: o.e.ID, Kind: KindFence, Device: d.ID, Agent: d.Agent, Action: s.action,
			Args: d.Args(s.action, o.e.Target), Timeout: f.timeout(now, o, d, s.action)})
		return
	}
}

// levelSteps turns the current level into agent steps.
func (f *Fencer) levelSteps(o *op) []step {
	devs := o.levels[o.level].Devices
	var steps []step
	if o.e.Action == ActionReboot && len(devs) > 1 {
		for _, a := range []Action{ActionOff, ActionOn} {
			for _, d := range devs {
				steps = append(steps, step{device: d, action: a, level: o.level})
			}
		}
		return steps
	}
	for _, d := range devs {
		steps = append(steps, step{device: d, action: o.e.Action, level: o.level})
	}
	return steps
}

// delay returns the device's fencing delay: pcmk_delay_base plus a random
// part up to pcmk_delay_max.
func (f *Fencer) delay(d *Device) time.Duration {
	base := d.DelayBase
	if d.DelayMax > base && f.rng != nil {
		return base + time.Duration(f.rng.Int64N(int64(d.DelayMax-base)+1))
	}
	return base
}

func (f *Fencer) timeout(now time.Time, o *op, d *Device, a Action) time.Duration {
	t := f.cfg.ActionTimeout
	if v, ok := d.Timeouts[a]; ok && v > 0 {
		t = v
	}
	if left := o.deadline.Sub(now); left < t {
		t = left
	}
	return t
}

// resolve builds the plan: the topology's levels for the target, or the
// devices that can fence it. It returns false while answers are missing.
func (f *Fencer) resolve(now time.Time, o *op) bool {
	if len(o.devices) > 0 {
		o.levels, o.started = []Level{{ID: "request", Target: o.e.Target, Devices: o.devices}}, true
		return true
	}
	if levels := f.topo.LevelsFor(o.e.Target); len(levels) > 0 {
		o.levels, o.started = levels, true
		return true
	}
	var capable []*Device
	missing := false
	for _, id := range f.topo.DeviceIDs() {
		d := f.topo.Devices[id]
		if d.Disabled {
			continue
		}
		switch yes, known := f.canFence(now, o, d); {
		case !known:
			missing = true
		case yes:
			capable = append(capable, d)
		}
	}
	if missing {
		return false
	}
	sort.SliceStable(capable, func(i, j int) bool { return capable[i].Priority > capable[j].Priority })
	for _, d := range capable {
		o.levels = append(o.levels, Level{ID: "device:" + d.ID, Target: o.e.Target, Devices: []string{d.ID}})
	}
	o.started = true
	return true
}

// canFence answers whether d can fence the op's target, issuing the list
// or status query it needs when the answer is not known yet.
func (f *Fencer) canFence(now time.Time, o *op, d *Device) (yes, known bool) {
	target := o.e.Target
	switch d.HostCheck {
	case CheckNone:
		return true, true
	case CheckStaticList:
		_, mapped := d.HostMap[target]
		return mapped || slices.Contains(d.HostList, target), true
	case CheckStatus:
		if v, ok := o.status[d.ID]; ok {
			return v, true
		}
		for id := range o.pending {
			if f.cmds[id].Device == d.ID {
				return false, false
			}
		}
		id := f.issue(now, Command{Op: o.e.ID, Kind: KindStatusQuery, Device: d.ID, Agent: d.Agent, Action: ActionStatus,
			Args: d.Args(ActionStatus, target), Timeout: f.timeout(now, o, d, ActionStatus)})
		o.pending[id] = true
		return false, false
	default: // dynamic-list
		if lc, ok := f.lists[d.ID]; ok && now.Sub(lc.at) < f.cfg.ListCacheTTL {
			return slices.Contains(lc.hosts, target) || slices.Contains(lc.hosts, d.Port(target)), true
		}
		if _, inflight := f.listCmd[d.ID]; !inflight {
			f.listCmd[d.ID] = f.issue(now, Command{Kind: KindListQuery, Device: d.ID, Agent: d.Agent, Action: ActionList,
				Args: d.Args(ActionList, ""), Timeout: f.timeout(now, o, d, ActionList)})
		}
		return false, false
	}
}

func (f *Fencer) issue(_ time.Time, c Command) uint64 {
	f.nextCmd++
	c.ID = f.nextCmd
	f.cmds[c.ID] = c
	f.ready.Commands = append(f.ready.Commands, c)
	return c.ID
}

// finish ends an operation, records it and starts the next one queued for
// the same target.
func (f *Fencer) finish(now time.Time, o *op, st State, reason string) {
	o.e.State, o.e.Reason, o.e.Completed = st, reason, now
	if st == StateFailed || len(o.e.Devices) == 0 {
		o.e.Devices = slices.Clone(o.tried)
	}
	for id := range o.pending {
		delete(f.cmds, id)
	}
	if o.running != 0 {
		delete(f.cmds, o.running)
		o.running = 0
	}
	delete(f.ops, o.e.ID)
	q := slices.DeleteFunc(f.queues[o.e.Target], func(id uint64) bool { return id == o.e.ID })
	if len(q) == 0 {
		delete(f.queues, o.e.Target)
	} else {
		f.queues[o.e.Target] = q
	}
	f.record(o.e)
	f.ready.Completions = append(f.ready.Completions, Completion{cloneEntry(o.e)})
	if len(q) > 0 {
		next := f.ops[q[0]]
		if next.wait.Before(now) {
			next.wait = now
		}
		f.advance(now, next)
	}
}

func (f *Fencer) record(e Entry) {
	f.history = append(f.history, cloneEntry(e))
	if n := len(f.history) - f.cfg.MaxHistory; n > 0 {
		f.history = slices.Delete(f.history, 0, n)
	}
}

func cloneEntry(e Entry) Entry {
	e.Clients = slices.Clone(e.Clients)
	e.Devices = slices.Clone(e.Devices)
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
