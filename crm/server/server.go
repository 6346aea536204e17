package server

import (
	"context"
	"fmt"
	cibserver "github.com/systole/systole/cib/server"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	cibv1 "github.com/systole/systole/proto/cib/v1"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// Channel is the messaging channel crm messages travel on.
const Channel = "crmd"

// Transport sends encoded crm messages to other nodes.
type Transport interface {
	// Send sends data to node to ("" = every other node).
	Send(ctx context.Context, to string, data []byte) error
}

// Status is a snapshot of what the node sees.
type Status struct {
	// Node is this node's name.
	Node string
	// View is the current view.
	View crm.View
	// DC is the DC this node follows ("" when none).
	DC string
	// IsDC reports whether this node is the DC.
	IsDC bool
	// Version is the version of the node's CIB.
	Version cib.Version
	// Lost lists the configuration changes partition merges discarded
	// (the newest 100), and LostAt when each was reported.
	Lost   []crm.LostChange
	LostAt []time.Time
	// Active reports that this node is the DC and its join is complete.
	Active bool
	// Transition is the DC pipeline's state, TransitionID the id of the
	// last graph computed and Summary its Transition Summary (DC only).
	Transition   crmv1.TransitionState
	TransitionID int64
	Summary      []string
}

const maxLost = 100

type inbound struct {
	from string
	data []byte
}

// Server runs one crm.Node. Create it with New, start it with Run, feed
// it with Deliver and SetView (or Follow*), and serve clients with Serve.
type Server struct {
	// shutdownOnce closes shutdownDone when this node's do_shutdown runs.
	shutdownOnce sync.Once
	shutdownDone chan struct{}
	// shuttingDown is set by Shutdown.
	shuttingDown atomic.Bool

	cfg   Config
	log   *slog.Logger
	store cib.Store
	tr    Transport
	node  *crm.Node
	name  string

	inbox chan inbound
	views chan crm.View
	calls chan func()
	done  chan struct{} // closed when Run returns
	once  sync.Once

	// loop-only
	nextID  uint64
	waiting map[uint64]chan crm.Reply

	wmu      sync.Mutex
	watchers map[*watcher]struct{}

	smu      sync.Mutex
	status   Status
	tstate   crmv1.TransitionState
	tid      int64
	tsummary []string

	// life ends when Run returns: actions run on it, not on a caller's
	// context, so that a caller's deadline never leaves one half-done.
	life       context.Context
	lifeCancel context.CancelFunc

	basePolicy crm.NoQuorumPolicy
	lrm        *lrmMirror
	expect     *expectations // loop-only
	trig       chan string

	xmu      sync.Mutex
	xnext    uint64
	xpending map[uint64]*pendingExec
	xdone    map[string]*execEntry
	xorder   []string

	omu     sync.Mutex
	outbox  []crm.Message
	outWake chan struct{}
}

type watcher struct {
	ch chan *cibv1.WatchEvent
}

// New loads the CIB from store and builds the node. The server does not
// close the store.
func New(core crm.Config, store cib.Store, tr Transport, cfg Config) (*Server, error) {
	def := DefaultConfig()
	if cfg.Tick == 0 {
		cfg.Tick = def.Tick
	}
	if cfg.WatchBuffer == 0 {
		cfg.WatchBuffer = def.WatchBuffer
	}
	if cfg.OutboxLimit == 0 {
		cfg.OutboxLimit = def.OutboxLimit
	}
	if cfg.DebounceCompute == 0 {
		cfg.DebounceCompute = def.DebounceCompute
	}
	if cfg.ExecRetry == 0 {
		cfg.ExecRetry = def.ExecRetry
	}
	if cfg.Access == nil {
		a := DefaultAccessPolicy()
		cfg.Access = &a
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if core.Logger == nil {
		core.Logger = log
	}
	c, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("crmd: load CIB: %w", err)
	}
	n, err := crm.NewNode(core, c)
	if err != nil {
		return nil, fmt.Errorf("crmd: %w", err)
	}
	s := &Server{
		cfg: cfg, log: log, store: store, tr: tr, node: n, name: core.Name,
		inbox:        make(chan inbound, 1024),
		views:        make(chan crm.View, 16),
		calls:        make(chan func()),
		done:         make(chan struct{}),
		shutdownDone: make(chan struct{}),
		waiting:      map[uint64]chan crm.Reply{},
		watchers:     map[*watcher]struct{}{},
		outWake:      make(chan struct{}, 1),
		lrm:          newLRMMirror(),
		expect:       newExpectations(),
		trig:         make(chan string, 1),
		xpending:     map[uint64]*pendingExec{},
		xdone:        map[string]*execEntry{},
	}
	s.life, s.lifeCancel = context.WithCancel(context.Background())
	s.basePolicy = n.NoQuorumPolicy()
	s.status = Status{Node: core.Name, Version: c.Version()}
	return s, nil
}

// Name returns the node's name.
func (s *Server) Name() string { return s.name }

// Deliver hands a crm message received from node from to the loop. It
// blocks while the loop is busy and returns ErrClosed after Run ended.
// Messages from this node itself (broadcast echoes) are dropped.
func (s *Server) Deliver(ctx context.Context, from string, data []byte) error {
	if from == s.name {
		return nil
	}
	select {
	case s.inbox <- inbound{from: from, data: data}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// SetView hands a membership view to the loop.
func (s *Server) SetView(ctx context.Context, v crm.View) error {
	select {
	case s.views <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// Status returns a snapshot of the node's view, DC and version.
func (s *Server) Status() Status {
	s.smu.Lock()
	defer s.smu.Unlock()
	st := s.status
	st.Lost = append([]crm.LostChange(nil), st.Lost...)
	st.LostAt = append([]time.Time(nil), st.LostAt...)
	st.View.Members = append([]string(nil), st.View.Members...)
	st.Transition, st.TransitionID, st.Summary = s.tstate, s.tid, append([]string(nil), s.tsummary...)
	return st
}

// do runs f on the loop goroutine and waits for it.
func (s *Server) do(ctx context.Context, f func()) error {
	fin := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(fin) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
	<-fin
	return nil
}

// Query reads the local replica (as cibadmin -Q does). The elements are
// serialised on the loop, so they are a consistent copy.
func (s *Server) Query(ctx context.Context, req cib.Request) ([][]byte, cib.Version, error) {
	req.Op = cib.OpQuery
	var out [][]byte
	var v cib.Version
	var qerr error
	if err := s.do(ctx, func() {
		res, err := s.node.Query(req)
		if err != nil {
			qerr = err
			return
		}
		v = res.Version
		for _, e := range res.Output {
			out = append(out, elementBytes(e))
		}
	}); err != nil {
		return nil, cib.Version{}, err
	}
	return out, v, qerr
}

// Write submits a write and waits for the core's answer: the version that
// holds it once replicated (see package crm), or an error. When ctx ends
// first the outcome is unknown.
func (s *Server) Write(ctx context.Context, req cib.Request) (cib.Version, error) {
	ch := make(chan crm.Reply, 1)
	if err := s.do(ctx, func() {
		s.nextID++
		id := s.nextID
		if err := s.node.Write(s.cfg.Now(), id, req); err != nil {
			ch <- crm.Reply{ID: id, Err: err}
			return
		}
		s.waiting[id] = ch
	}); err != nil {
		return cib.Version{}, err
	}
	select {
	case r := <-ch:
		return r.Version, r.Err
	case <-ctx.Done():
		return cib.Version{}, ctx.Err()
	case <-s.done:
		return cib.Version{}, ErrClosed
	}
}

// Subscribe registers a CIB watcher; with fullCopy its first event is the
// current CIB. The returned function cancels it.
func (s *Server) Subscribe(ctx context.Context, fullCopy bool) (<-chan *cibv1.WatchEvent, func(), error) {
	w := &watcher{ch: make(chan *cibv1.WatchEvent, s.cfg.WatchBuffer+1)}
	if err := s.do(ctx, func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if fullCopy {
			w.ch <- s.fullEvent()
		}
		s.watchers[w] = struct{}{}
	}); err != nil {
		return nil, nil, err
	}
	return w.ch, func() {
		s.wmu.Lock()
		delete(s.watchers, w)
		s.wmu.Unlock()
	}, nil
}

// Done is closed when Run has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// Run runs the loop until ctx ends (nil) or the store fails (ErrPersist).
// Call it once.
func (s *Server) Run(ctx context.Context) error {
	defer s.once.Do(func() { close(s.done) })
	defer s.lifeCancel()
	sendCtx, stopSend := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.sender(sendCtx) }()
	go func() { defer wg.Done(); s.runDC(sendCtx) }()
	defer func() { stopSend(); wg.Wait() }()

	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-s.inbox:
			if err := s.node.StepBytes(s.cfg.Now(), m.from, m.data); err != nil {
				s.log.Debug("message refused", "from", m.from, "err", err)
			}
		case v := <-s.views:
			s.log.Info("view", "number", v.Number, "members", v.Members, "quorum", v.Quorum)
			s.applyNoQuorumPolicy()
			s.node.SetView(s.cfg.Now(), v)
			s.smu.Lock()
			s.status.View = v
			s.smu.Unlock()
			s.failLeft(v.Members)
			s.trigger("view change")
		case f := <-s.calls:
			f()
		case <-t.C:
			s.node.Tick(s.cfg.Now())
		}
		if err := s.drain(); err != nil {
			return err
		}
	}
}

// drain performs the node's Ready in the required order.
func (s *Server) drain() error {
	if !s.node.HasReady() {
		return nil
	}
	rd := s.node.Ready()
	if len(rd.Ahead) > 0 {
		s.enqueue(rd.Ahead) // DC patches leave while we fsync (crm.Config.SendAhead)
	}
	if len(rd.Persist) > 0 {
		if err := s.store.SaveBatch(rd.Persist); err != nil {
			s.log.Error("cannot persist the CIB; stopping", "err", err)
			for id, ch := range s.waiting {
				ch <- crm.Reply{ID: id, Err: fmt.Errorf("%w: %v", ErrPersist, err)}
				delete(s.waiting, id)
			}
			return fmt.Errorf("%w: %v", ErrPersist, err)
		}
		s.publish(rd.Persist)
		s.classify(rd.Persist)
	}
	if len(rd.Messages) > 0 {
		s.enqueue(rd.Messages)
	}
	// the status shows the new version before any client hears of it
	s.smu.Lock()
	s.status.Version = s.node.Version()
	s.smu.Unlock()
	for _, r := range rd.Replies {
		if ch, ok := s.waiting[r.ID]; ok {
			delete(s.waiting, r.ID)
			ch <- r
		}
	}
	s.smu.Lock()
	if rd.DC != nil {
		s.status.DC = rd.DC.DC
		s.status.IsDC = rd.DC.Self
	}
	active := s.node.Active()
	becameActive := active && !s.status.Active
	s.status.Active = active
	s.status.Lost = append(s.status.Lost, rd.Lost...)
	for range rd.Lost {
		s.status.LostAt = append(s.status.LostAt, s.cfg.Now())
	}
	if n := len(s.status.Lost); n > maxLost {
		s.status.Lost = append([]crm.LostChange(nil), s.status.Lost[n-maxLost:]...)
		s.status.LostAt = append([]time.Time(nil), s.status.LostAt[n-maxLost:]...)
	}
	s.smu.Unlock()
	if becameActive || rd.DC != nil {
		s.trigger("DC change")
	}
	if rd.DC != nil {
		s.log.Info("DC", "view", rd.DC.View, "dc", rd.DC.DC, "self", rd.DC.Self)
	}
	for _, l := range rd.Lost {
		var patch string
		if l.Patch != nil {
			patch = string(l.Patch.Bytes())
		}
		s.log.Warn("configuration lost in a partition merge", "node", l.Node, "version", l.Version.String(),
			"winner", l.Winner, "winner_version", l.WinnerVersion.String(), "patch", patch)
	}
	return nil
}

// publish hands committed versions to the watchers (called on the loop,
// right after the store saved them, so in version order).
func (s *Server) publish(entries []cib.Entry) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if len(s.watchers) == 0 {
		return
	}
	resynced := map[*watcher]bool{}
	for _, e := range entries {
		var ev *cibv1.WatchEvent
		if e.Patch != nil {
			ev = &cibv1.WatchEvent{Version: cibserver.PBVersion(e.Patch.Target), Patch: e.Patch.Bytes()}
		} else {
			ev = &cibv1.WatchEvent{Version: cibserver.PBVersion(e.CIB.Version()), Cib: e.CIB.Bytes(), Full: true}
		}
		for w := range s.watchers {
			if resynced[w] {
				continue // its full copy already covers the rest of the batch
			}
			select {
			case w.ch <- ev:
				continue
			default:
			}
			// fell behind: replace what it has not read by the current CIB
			// (the node's CIB already holds every entry of this batch)
		drain:
			for {
				select {
				case <-w.ch:
				default:
					break drain
				}
			}
			w.ch <- s.fullEvent()
			resynced[w] = true
			s.log.Warn("CIB watcher fell behind; sending a full copy")
		}
	}
}

func (s *Server) fullEvent() *cibv1.WatchEvent {
	c := s.node.CIB()
	return &cibv1.WatchEvent{Version: cibserver.PBVersion(c.Version()), Cib: c.Bytes(), Full: true}
}

// enqueue queues messages for the sender goroutine.
func (s *Server) enqueue(ms []crm.Message) {
	s.omu.Lock()
	s.outbox = append(s.outbox, ms...)
	if over := len(s.outbox) - s.cfg.OutboxLimit; over > 0 {
		s.log.Warn("outbox full; dropping the oldest messages", "dropped", over)
		s.outbox = append([]crm.Message(nil), s.outbox[over:]...)
	}
	s.omu.Unlock()
	select {
	case s.outWake <- struct{}{}:
	default:
	}
}

// sender sends queued messages in order until ctx ends.
func (s *Server) sender(ctx context.Context) {
	for {
		s.omu.Lock()
		batch := s.outbox
		s.outbox = nil
		s.omu.Unlock()
		for _, m := range batch {
			if err := s.tr.Send(ctx, m.To, crm.Encode(m)); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Debug("send failed (the core retries)", "to", m.To, "type", m.Type, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.outWake:
		}
	}
}

// applyNoQuorumPolicy sets the core's no-quorum-policy before a view is
// installed: Config.NoQuorumPolicy when given, else crm_config's cluster
// property, else the core's configured policy (crm.Config.NoQuorumPolicy,
// stop by default).
func (s *Server) applyNoQuorumPolicy() {
	p := s.cfg.NoQuorumPolicy
	if p == "" {
		p = crm.NoQuorumPolicy(noQuorumPolicy(s.node.CIB()))
		if p == "" {
			p = s.basePolicy
		}
	}
	if p == s.node.NoQuorumPolicy() {
		return
	}
	if err := s.node.SetNoQuorumPolicy(p); err != nil {
		s.log.Warn("invalid no-quorum-policy in crm_config; keeping the current one", "value", p, "current", s.node.NoQuorumPolicy())
		return
	}
	s.log.Info("no-quorum-policy", "value", p)
}
