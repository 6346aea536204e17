package server

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/systole/systole/stonith"
)

// Executor runs one agent command. Exec blocks until the agent ended (or
// ctx ended and the agent was killed); it is called from many goroutines.
type Executor interface {
	Exec(ctx context.Context, c stonith.Command) stonith.Result
}

// Agents lists installed fence agents and reads their metadata
// (agent.Runner). Both block and may be called concurrently.
type Agents interface {
	List() ([]string, error)
	Metadata(ctx context.Context, name string, timeout time.Duration) (string, error)
}

// subBuffer bounds the completions queued for one WatchEvents subscriber;
// a subscriber that falls further behind is dropped (its stream ends).
const subBuffer = 256

// Server runs the Fencer loop. Create with New, configure with the Set*
// methods, start with Run.
type Server struct {
	core   *stonith.Fencer
	exec   Executor
	agents Agents
	log    *slog.Logger
	now    func() time.Time
	node   string

	calls   chan func()
	results chan stonith.Result
	stopped chan struct{}

	// Owned by the loop goroutine.
	waiters map[uint64][]chan stonith.Entry
	subs    map[chan stonith.Entry]bool
	onEnd   []func(stonith.Entry) // called on the loop for every local completion

	peers *peerState // nil without a messaging transport

	mu        sync.Mutex
	devStatus map[string]DeviceStatus // last monitor result per device

	wd           *watchdog
	monitorEvery time.Duration // default recurring monitor period
}

// DeviceStatus is the last monitor result of a device.
type DeviceStatus struct {
	At     time.Time
	RC     int
	Status string // "ok", or "failed: ..."
}

// New returns a Server around a Fencer configured by cfg; rng draws the
// pcmk_delay_max delays (nil: none). A nil logger discards.
func New(cfg stonith.Config, rng *rand.Rand, exec Executor, log *slog.Logger) (*Server, error) {
	core, err := stonith.NewFencer(cfg, rng)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{core: core, exec: exec, log: log, now: nowMs, node: cfg.Node,
		calls: make(chan func()), results: make(chan stonith.Result, 64), stopped: make(chan struct{}),
		waiters: map[uint64][]chan stonith.Entry{}, subs: map[chan stonith.Entry]bool{},
		devStatus: map[string]DeviceStatus{}, wd: &watchdog{path: DefaultWatchdogDevice}}, nil
}

// nowMs is the clock: milliseconds, the precision entries travel with, so
// that a node orders its own entries and its peers' alike.
func nowMs() time.Time { return time.Now().Truncate(time.Millisecond) }

// SetAgents sets what serves ListAgents and AgentMetadata. Call before Run.
func (s *Server) SetAgents(a Agents) { s.agents = a }

// Node returns this node's name.
func (s *Server) Node() string { return s.node }

// Run owns the Fencer until ctx is done, then interrupts the running
// agents and waits for them. It returns nil on a clean stop.
func (s *Server) Run(ctx context.Context) error {
	execCtx, cancelExec := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer close(s.stopped)
	defer s.wd.close()
	for {
		s.drain(execCtx, &wg)
		if d := s.core.NextDeadline(); !d.IsZero() {
			timer.Reset(max(d.Sub(s.now()), 0))
		} else {
			timer.Stop()
		}
		select {
		case f := <-s.calls:
			f()
		case r := <-s.results:
			s.core.Complete(s.now(), r)
		case <-timer.C:
			s.core.Tick(s.now())
		case <-ctx.Done():
			cancelExec(ErrStopped)
			go func() { wg.Wait(); close(s.results) }()
			for r := range s.results {
				s.core.Complete(s.now(), r)
				s.publish(s.core.Ready().Completions)
			}
			for _, ws := range s.waiters {
				for _, w := range ws {
					close(w)
				}
			}
			for ch := range s.subs {
				close(ch)
			}
			s.subs = nil
			return nil
		}
	}
}

// drain hands the Fencer's commands to the executor and its completions
// to the waiters.
func (s *Server) drain(ctx context.Context, wg *sync.WaitGroup) {
	rd := s.core.Ready()
	for _, c := range rd.Commands {
		s.log.Info("running fence agent", "device", c.Device, "agent", c.Agent, "action", c.Args[0].Value, "op", c.Op)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.results <- s.exec.Exec(ctx, c)
		}()
	}
	s.publish(rd.Completions)
}

func (s *Server) publish(cs []stonith.Completion) {
	for _, c := range cs {
		s.log.Info("fencing ended", "target", c.Target, "action", string(c.Action), "state", c.State.String(),
			"devices", c.Devices, "reason", c.Reason, "id", c.ID)
		for _, w := range s.waiters[c.ID] {
			w <- c.Entry // buffered, one entry each
			close(w)
		}
		delete(s.waiters, c.ID)
		s.notify(c.Entry)
		for _, f := range s.onEnd {
			f(c.Entry)
		}
	}
}

// notify hands an ended entry to the WatchEvents subscribers; one that
// cannot keep up is dropped.
func (s *Server) notify(e stonith.Entry) {
	for ch := range s.subs {
		select {
		case ch <- e:
		default:
			s.log.Warn("fencing event subscriber too slow; dropped")
			delete(s.subs, ch)
			close(ch)
		}
	}
}

// do runs f on the loop goroutine and waits for it.
func (s *Server) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(done) }:
	case <-s.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// Fence requests fencing (or joins the operation already fencing the
// target with the same action) and waits for its end. A failed fencing is
// an Entry with State failed, not an error; errors are a bad request, the
// caller's context ending, or the server stopping. A request to fence
// this node itself is forwarded to another member (see peers.go).
func (s *Server) Fence(ctx context.Context, req stonith.Request) (stonith.Entry, error) {
	if s.mustForward(req) {
		return s.forward(ctx, req)
	}
	ch := make(chan stonith.Entry, 1)
	var rerr error
	if err := s.do(ctx, func() {
		id, err := s.core.Request(s.now(), req)
		if err != nil {
			rerr = err
			return
		}
		s.waiters[id] = append(s.waiters[id], ch)
	}); err != nil {
		return stonith.Entry{}, err
	}
	if rerr != nil {
		return stonith.Entry{}, rerr
	}
	select {
	case e, ok := <-ch:
		if !ok {
			return stonith.Entry{}, ErrStopped
		}
		return e, nil
	case <-ctx.Done():
		return stonith.Entry{}, ctx.Err() // the operation goes on
	}
}

// Submit requests fencing like Fence but returns at once with the
// operation's entry (pending, or ended when --tolerance matched). A
// forwarded request (this node is the target) returns a pending entry
// with id 0; its result arrives as an event and in the history.
func (s *Server) Submit(ctx context.Context, req stonith.Request) (stonith.Entry, error) {
	if err := validate(req); err != nil {
		return stonith.Entry{}, err
	}
	if s.mustForward(req) {
		go func() {
			fctx, cancel := context.WithTimeout(context.Background(), s.forwardTimeout(req))
			defer cancel()
			if _, err := s.forward(fctx, req); err != nil {
				s.log.Warn("forwarded fencing failed", "target", req.Target, "err", err)
			}
		}()
		return stonith.Entry{Target: req.Target, Action: req.Action, State: stonith.StatePending, Origin: req.Origin,
			Clients: []string{req.Client}, Requested: s.now()}, nil
	}
	var e stonith.Entry
	var rerr error
	if err := s.do(ctx, func() {
		id, err := s.core.Request(s.now(), req)
		if err != nil {
			rerr = err
			return
		}
		e, _ = s.core.Entry(id)
	}); err != nil {
		return stonith.Entry{}, err
	}
	return e, rerr
}

func validate(req stonith.Request) error {
	switch req.Action {
	case stonith.ActionOff, stonith.ActionOn, stonith.ActionReboot:
	default:
		return fmt.Errorf("%w: action %q is not off, on or reboot", stonith.ErrBadRequest, req.Action)
	}
	if req.Target == "" {
		return fmt.Errorf("%w: no target", stonith.ErrBadRequest)
	}
	return nil
}

// Confirm records that target is safely down (manual fencing).
func (s *Server) Confirm(ctx context.Context, target, origin string) error {
	if target == "" {
		return fmt.Errorf("%w: no target", stonith.ErrBadRequest)
	}
	return s.do(ctx, func() { s.core.Confirm(s.now(), target, origin) })
}

// History returns the fencing history of target ("" for all).
func (s *Server) History(ctx context.Context, target string) ([]stonith.Entry, error) {
	var h []stonith.Entry
	err := s.do(ctx, func() { h = s.core.History(target) })
	return h, err
}

// CleanupHistory forgets the ended operations of target ("" for all) on
// this node, and on every node when peers are connected.
func (s *Server) CleanupHistory(ctx context.Context, target string) error {
	if err := s.do(ctx, func() { s.core.CleanupHistory(target) }); err != nil {
		return err
	}
	s.broadcastCleanup(target)
	return nil
}

// cleanupLocal forgets the ended operations of target here only.
func (s *Server) cleanupLocal(ctx context.Context, target string) error {
	return s.do(ctx, func() { s.core.CleanupHistory(target) })
}

// Observe records entries another node ended; the new ones are published
// to the WatchEvents subscribers (not to the onEnd hooks: they are not
// this node's to broadcast).
func (s *Server) Observe(ctx context.Context, es ...stonith.Entry) error {
	return s.do(ctx, func() {
		for _, e := range es {
			if s.core.Observe(e) {
				s.log.Info("fencing ended on a peer", "target", e.Target, "action", string(e.Action), "state", e.State.String(),
					"delegate", e.Delegate, "reason", e.Reason, "id", e.ID)
				s.notify(e)
			}
		}
	})
}

// Subscribe returns a channel of every ended operation (local or a
// peer's) from now on; it is closed when cancel is called, when the
// subscriber falls too far behind, or when the server stops.
func (s *Server) Subscribe(ctx context.Context) (<-chan stonith.Entry, func(), error) {
	ch := make(chan stonith.Entry, subBuffer)
	if err := s.do(ctx, func() { s.subs[ch] = true }); err != nil {
		return nil, nil, err
	}
	cancel := func() {
		_ = s.do(context.Background(), func() {
			if s.subs[ch] {
				delete(s.subs, ch)
				close(ch)
			}
		})
	}
	return ch, cancel, nil
}

// SetTopology replaces the devices and levels, and applies the options
// (stonith-timeout as the default operation timeout).
func (s *Server) SetTopology(ctx context.Context, t *stonith.Topology) error {
	return s.do(ctx, func() {
		s.core.SetTopology(t)
		s.core.SetDefaultTimeout(t.Options.Timeout)
		s.core.SetWatchdog(t.Options.WatchdogTimeout, s.configureWatchdog(t.Options.WatchdogTimeout))
	})
}

// Topology returns the current devices and levels (do not modify).
func (s *Server) Topology(ctx context.Context) (*stonith.Topology, error) {
	var t *stonith.Topology
	err := s.do(ctx, func() { t = s.core.Topology() })
	return t, err
}

// DefaultTimeout returns the current default operation timeout.
func (s *Server) DefaultTimeout(ctx context.Context) (time.Duration, error) {
	var d time.Duration
	err := s.do(ctx, func() { d = s.core.DefaultTimeout() })
	return d, err
}

// ErrNoDevice is returned for an unknown device.
var ErrNoDevice = errors.New("stonithd: no such device")

// RunDeviceAction runs action (monitor, list, status) of a device outside
// any fencing operation (stonith_admin -Q, -l and the recurring monitor)
// and records a monitor's outcome as the device's status.
func (s *Server) RunDeviceAction(ctx context.Context, id string, a stonith.Action, target string) (stonith.Result, error) {
	t, err := s.Topology(ctx)
	if err != nil {
		return stonith.Result{}, err
	}
	d := t.Devices[id]
	if d == nil {
		return stonith.Result{}, fmt.Errorf("%w: %s", ErrNoDevice, id)
	}
	timeout := 60 * time.Second
	if v := d.Timeouts[a]; v > 0 {
		timeout = v
	}
	r := s.exec.Exec(ctx, stonith.Command{Device: d.ID, Agent: d.Agent, Action: a, Args: d.Args(a, target), Timeout: timeout})
	if a == stonith.ActionMonitor {
		st := DeviceStatus{At: s.now(), RC: r.RC, Status: "ok"}
		if r.Error != "" || r.RC != stonith.RCOK {
			why := r.Error
			if why == "" {
				why = fmt.Sprintf("rc=%d", r.RC)
			}
			st.Status = "failed: " + why
		}
		s.mu.Lock()
		s.devStatus[id] = st
		s.mu.Unlock()
	}
	return r, nil
}

// Status returns the last monitor result of a device (zero if never run).
func (s *Server) Status(id string) DeviceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.devStatus[id]
}

// Capable returns the ids of the devices that can fence target, running
// the agents' list or status actions for dynamic-list and status host
// checks; with a topology for the target, its levels' devices.
func (s *Server) Capable(ctx context.Context, target string) ([]string, error) {
	t, err := s.Topology(ctx)
	if err != nil {
		return nil, err
	}
	if levels := t.LevelsFor(target); len(levels) > 0 {
		var out []string
		for _, l := range levels {
			for _, d := range l.Devices {
				if !slices.Contains(out, d) && t.Devices[d] != nil {
					out = append(out, d)
				}
			}
		}
		return out, nil
	}
	var out []string
	for _, id := range t.DeviceIDs() {
		d := t.Devices[id]
		if d.Disabled {
			continue
		}
		yes := false
		switch d.HostCheck {
		case stonith.CheckNone:
			yes = true
		case stonith.CheckStaticList:
			_, mapped := d.HostMap[target]
			yes = mapped || slices.Contains(d.HostList, target)
		case stonith.CheckStatus:
			r, err := s.RunDeviceAction(ctx, id, stonith.ActionStatus, target)
			yes = err == nil && r.Error == "" && (r.RC == stonith.RCOK || r.RC == stonith.RCOff)
		default:
			r, err := s.RunDeviceAction(ctx, id, stonith.ActionList, "")
			if err == nil && r.Error == "" && r.RC == stonith.RCOK {
				hosts := stonith.ParseList(r.Output)
				yes = slices.Contains(hosts, target) || slices.Contains(hosts, d.Port(target))
			}
		}
		if yes {
			out = append(out, id)
		}
	}
	return out, nil
}

// FirstID returns an operation id start for node that no other node and no
// earlier run of this node uses: 20 bits of a hash of the node name, then
// the start time in milliseconds (44 bits: until the year 2527). Ids
// increment from there, so a run reuses none unless it ran more than one
// operation per millisecond of the time between two starts.
func FirstID(node string, now time.Time) uint64 {
	h := fnv.New32a()
	h.Write([]byte(node))
	return uint64(h.Sum32()&0xfffff)<<44 | uint64(now.UnixMilli())&(1<<44-1)
}
