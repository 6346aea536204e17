package supervisor

import (
	"fmt"
	"time"
)

// State is the state of one supervised daemon.
type State int

const (
	// Down: no process.
	Down State = iota
	// Spawning: a Spawn action was issued; Spawned or SpawnFailed follows.
	Spawning
	// Starting: the process runs, its socket does not answer yet.
	Starting
	// Up: the socket answers.
	Up
	// Stopping: SIGTERM was sent.
	Stopping
	// Killing: SIGKILL was sent.
	Killing
	// Waiting: crashed, to be restarted alone after its back-off.
	Waiting
)

var stateNames = [...]string{"down", "spawning", "starting", "up", "stopping", "killing", "waiting"}

// String returns the state's lowercase name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Phase is the state of the whole node.
type Phase int

const (
	// PhaseIdle: Start was not called.
	PhaseIdle Phase = iota
	// PhaseStarting: daemons are being started in order.
	PhaseStarting
	// PhaseRunning: every daemon is up (or waiting for an alone restart).
	PhaseRunning
	// PhaseRestarting: the stack is going down to start again.
	PhaseRestarting
	// PhaseStopping: the stack is going down for good.
	PhaseStopping
	// PhaseStopped: everything is down after Stop.
	PhaseStopped
	// PhaseFailed: everything is down after giving up (Ready.Err).
	PhaseFailed
)

var phaseNames = [...]string{"idle", "starting", "running", "restarting", "stopping", "stopped", "failed"}

// String returns the phase's lowercase name.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// ActionKind is what the caller must do.
type ActionKind int

const (
	// Spawn: start the daemon's process, then call Spawned (or
	// SpawnFailed).
	Spawn ActionKind = iota
	// Term: send SIGTERM to the daemon.
	Term
	// Kill: send SIGKILL to the daemon (and its process group).
	Kill
)

// String returns "spawn", "term" or "kill".
func (k ActionKind) String() string {
	return [...]string{"spawn", "term", "kill"}[k]
}

// Action is one thing for the caller to do.
type Action struct {
	Kind   ActionKind
	Daemon string
}

// Event is something worth a log line.
type Event struct {
	// Daemon is the daemon concerned, "" for the node.
	Daemon string
	// Msg is a lowercase message ("crashed", "up", "restarting stack"...).
	Msg string
	// Delay is the back-off chosen, when there is one.
	Delay time.Duration
	// Crashes is the number of crashes within the window, when relevant.
	Crashes int
}

// Ready is what the caller must handle after an input, in order: the
// actions, then the events; Done reports that the node is down for good
// (PhaseStopped, or PhaseFailed with Err).
type Ready struct {
	Actions []Action
	Events  []Event
	Done    bool
	Err     error
}

// DaemonStatus is one daemon's state for status displays.
type DaemonStatus struct {
	Name     string
	State    State
	Pid      int
	Restarts int
	// Since is when the daemon entered State.
	Since time.Time
}

type daemon struct {
	Daemon
	state     State
	pid       int
	since     time.Time // entered state
	notBefore time.Time // no spawn before
	crashes   []time.Time
	restarts  int
}

// Supervisor is the pure supervision state machine of one node. It is not
// safe for concurrent use.
type Supervisor struct {
	cfg     Config
	ds      []*daemon
	byName  map[string]*daemon
	phase   Phase
	failErr error
	ready   Ready
}

// New returns a Supervisor in phase PhaseIdle.
func New(cfg Config) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Supervisor{cfg: cfg, byName: map[string]*daemon{}}
	for _, d := range cfg.Daemons {
		x := &daemon{Daemon: d}
		s.ds = append(s.ds, x)
		s.byName[d.Name] = x
	}
	return s, nil
}

// Phase returns the node's phase.
func (s *Supervisor) Phase() Phase { return s.phase }

// Status returns every daemon's state, in start order.
func (s *Supervisor) Status() []DaemonStatus {
	out := make([]DaemonStatus, 0, len(s.ds))
	for _, d := range s.ds {
		out = append(out, DaemonStatus{Name: d.Name, State: d.state, Pid: d.pid, Restarts: d.restarts, Since: d.since})
	}
	return out
}

// Ready returns and clears what the caller must do.
func (s *Supervisor) Ready() Ready {
	r := s.ready
	s.ready = Ready{}
	return r
}

func (s *Supervisor) act(k ActionKind, d *daemon) {
	s.ready.Actions = append(s.ready.Actions, Action{Kind: k, Daemon: d.Name})
}

func (s *Supervisor) event(e Event) { s.ready.Events = append(s.ready.Events, e) }

func (d *daemon) set(now time.Time, st State) {
	d.state, d.since = st, now
	if st == Down || st == Waiting {
		d.pid = 0
	}
}

// Start starts the node's daemons in order. It is ignored unless the node
// is PhaseIdle or PhaseStopped.
func (s *Supervisor) Start(now time.Time) {
	if s.phase != PhaseIdle && s.phase != PhaseStopped {
		return
	}
	s.phase = PhaseStarting
	s.event(Event{Msg: "starting"})
	s.advance(now)
}

// Stop stops the node's daemons in reverse order. A later Start starts
// them again.
func (s *Supervisor) Stop(now time.Time) {
	switch s.phase {
	case PhaseIdle, PhaseStopped, PhaseFailed:
		if s.phase == PhaseIdle {
			s.phase = PhaseStopped
			s.ready.Done = true
		}
		return
	case PhaseStopping:
		return
	}
	s.phase = PhaseStopping
	s.event(Event{Msg: "stopping"})
	s.advance(now)
}

func (s *Supervisor) get(name string) *daemon {
	d := s.byName[name]
	if d == nil {
		panic(fmt.Sprintf("supervisor: unknown daemon %q", name))
	}
	return d
}

// Spawned reports that the process of a Spawn action runs with pid.
func (s *Supervisor) Spawned(now time.Time, name string, pid int) {
	d := s.get(name)
	if d.state != Spawning {
		panic(fmt.Sprintf("supervisor: %s spawned in state %v", name, d.state))
	}
	d.pid = pid
	d.set(now, Starting)
	s.advance(now)
}

// SpawnFailed reports that a Spawn action could not start the process: a
// crash as far as the policy goes.
func (s *Supervisor) SpawnFailed(now time.Time, name string, err error) {
	d := s.get(name)
	if d.state != Spawning {
		panic(fmt.Sprintf("supervisor: %s spawn failed in state %v", name, d.state))
	}
	s.event(Event{Daemon: name, Msg: "spawn failed: " + err.Error()})
	s.exited(now, d)
}

// Answered reports that a Starting daemon's socket answers. Ignored in
// any other state.
func (s *Supervisor) Answered(now time.Time, name string) {
	d := s.get(name)
	if d.state != Starting {
		return
	}
	d.set(now, Up)
	s.event(Event{Daemon: name, Msg: "up"})
	s.advance(now)
}

// Exited reports that a daemon's process ended.
func (s *Supervisor) Exited(now time.Time, name string) {
	d := s.get(name)
	switch d.state {
	case Starting, Up, Stopping, Killing:
	default:
		panic(fmt.Sprintf("supervisor: %s exited in state %v", name, d.state))
	}
	s.exited(now, d)
}

// Tick advances timers: back-offs, start timeouts, stop grace.
func (s *Supervisor) Tick(now time.Time) { s.advance(now) }

func (s *Supervisor) backoff(k int) time.Duration {
	d := s.cfg.BackoffInitial
	for i := 1; i < k && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.BackoffMax)
}

func (s *Supervisor) exited(now time.Time, d *daemon) {
	was := d.state
	d.set(now, Down)
	if was == Stopping || was == Killing || s.phase == PhaseRestarting || s.phase == PhaseStopping {
		s.event(Event{Daemon: d.Name, Msg: "exited"})
		s.advance(now)
		return
	}
	// a crash
	kept := d.crashes[:0]
	for _, t := range d.crashes {
		if now.Sub(t) < s.cfg.Window {
			kept = append(kept, t)
		}
	}
	d.crashes = append(kept, now)
	k := len(d.crashes)
	if k > s.cfg.MaxCrashes {
		s.failErr = fmt.Errorf("%w: %s crashed %d times within %v", ErrGaveUp, d.Name, k, s.cfg.Window)
		s.event(Event{Daemon: d.Name, Msg: "crashed too often, stopping the node", Crashes: k})
		s.phase = PhaseStopping
		s.advance(now)
		return
	}
	delay := s.backoff(k)
	d.restarts++
	if d.Restart == RestartAlone {
		d.notBefore = now.Add(delay)
		if s.phase == PhaseRunning {
			d.set(now, Waiting)
		}
		s.event(Event{Daemon: d.Name, Msg: "crashed, restarting it alone", Delay: delay, Crashes: k})
		s.advance(now)
		return
	}
	delay = max(delay, s.cfg.RejoinDelay)
	s.event(Event{Daemon: d.Name, Msg: "crashed, restarting the stack", Delay: delay, Crashes: k})
	for _, x := range s.ds {
		x.notBefore = now.Add(delay)
	}
	s.phase = PhaseRestarting
	s.advance(now)
}

// advance issues whatever the phase allows now.
func (s *Supervisor) advance(now time.Time) {
	switch s.phase {
	case PhaseStarting:
		for _, d := range s.ds {
			if d.state == Up {
				continue
			}
			s.startOne(now, d)
			return
		}
		s.phase = PhaseRunning
		s.event(Event{Msg: "running"})
	case PhaseRunning:
		for _, d := range s.ds {
			if d.state == Waiting && !now.Before(d.notBefore) {
				d.set(now, Down)
			}
			if d.state == Down || d.state == Starting {
				s.startOne(now, d)
			}
		}
	case PhaseRestarting, PhaseStopping:
		for i := len(s.ds) - 1; i >= 0; i-- {
			d := s.ds[i]
			switch d.state {
			case Down:
				continue
			case Waiting:
				d.set(now, Down)
				continue
			case Starting, Up:
				d.set(now, Stopping)
				s.act(Term, d)
			case Stopping:
				if now.Sub(d.since) >= s.cfg.StopGrace {
					d.set(now, Killing)
					s.act(Kill, d)
					s.event(Event{Daemon: d.Name, Msg: "did not stop in time, killed"})
				}
			}
			return // one at a time: wait for this one's exit
		}
		switch {
		case s.phase == PhaseRestarting:
			s.phase = PhaseStarting
			s.event(Event{Msg: "stack down, starting again"})
			s.advance(now)
		case s.failErr != nil:
			s.phase = PhaseFailed
			s.ready.Done, s.ready.Err = true, s.failErr
			s.event(Event{Msg: "failed: " + s.failErr.Error()})
		default:
			s.phase = PhaseStopped
			s.ready.Done = true
			s.event(Event{Msg: "stopped"})
		}
	}
}

// startOne moves d towards Up: spawn when its back-off allows, kill it when
// its socket does not answer within StartTimeout.
func (s *Supervisor) startOne(now time.Time, d *daemon) {
	switch d.state {
	case Down:
		if !now.Before(d.notBefore) {
			d.set(now, Spawning)
			s.act(Spawn, d)
		}
	case Starting:
		if now.Sub(d.since) >= s.cfg.StartTimeout {
			// counted as a crash when its exit arrives: Killing would make
			// the exit look expected, so keep it Starting and only signal.
			s.event(Event{Daemon: d.Name, Msg: "socket did not answer in time, killing it"})
			d.since = now // one kill per timeout
			s.act(Kill, d)
		}
	}
}
