package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/membership"
	"github.com/systole/systole/messaging/client"
	membershipv1 "github.com/systole/systole/proto/membership/v1"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// Channel is the messaging channel membership messages travel on.
const Channel = "membership"

// DefaultTick is how often the loop ticks the core.
const DefaultTick = 50 * time.Millisecond

// watcherBuffer is how many events a WatchViews stream may fall behind before it is cut off.
const watcherBuffer = 1024

// Options configure a Server.
type Options struct {
	// Core is the membership core's configuration (see Config.CoreConfig).
	Core membership.Config
	// Store keeps the hard state; the server does not close it.
	Store *Store
	// MessagingSocket is the local messagingd's API socket.
	MessagingSocket string
	// Logger may be nil (discard).
	Logger *slog.Logger
	// Tick is the loop's tick interval; 0 means DefaultTick.
	Tick time.Duration
	// PeerTimeout is how long a peer that messagingd reports up may send no membership
	// message before it counts as down (its membershipd is gone while its messagingd
	// runs); 0 means max(2 x Core.HoldDown, 4 x Core.ReportInterval): twice the
	// messaging deadtime, so that a briefly starved daemon is not mistaken for a dead one
	// (a dead node is found by messagingd at deadtime anyway).
	PeerTimeout time.Duration
}

// event is an input from the messagingd session goroutines.
type event struct {
	kind    eventKind
	session uint64
	peer    string
	up      bool
	from    string
	payload []byte
	err     error
}

type eventKind uint8

const (
	evConnected eventKind = iota + 1
	evDisconnected
	evPeer
	evDeliver
)

type watcher struct {
	ch     chan *membershipv1.WatchViewsResponse
	cut    chan struct{}
	reason error // why cut was closed; set before closing
}

// Server is the membership daemon: the core, its loop, the messagingd session and the API.
type Server struct {
	opts  Options
	log   *slog.Logger
	names []string // configured node names, sorted: bit i of a report is names[i]
	votes int      // expected votes
	mc    *client.Client
	calls chan func()
	evs   chan event
	done  chan struct{}
	wg    sync.WaitGroup

	// Owned by the loop goroutine.
	node        *membership.Node
	view        *membershipv1.View
	seenFull    bool
	connected   bool
	session     uint64
	peers       map[string]*peerState
	watchers    map[*watcher]struct{}
	sendErrs    int
	lastSendLog time.Time
}

// New loads the hard state from opts.Store and builds the core; nothing runs until Run.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("%w: no state store", ErrState)
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.PeerTimeout <= 0 {
		opts.PeerTimeout = max(2*opts.Core.HoldDown, 4*opts.Core.ReportInterval)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hs, err := opts.Store.Load()
	if err != nil {
		return nil, err
	}
	node, err := membership.NewNode(opts.Core, hs, log)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	mc, err := client.Dial(opts.MessagingSocket)
	if err != nil {
		return nil, fmt.Errorf("membershipd: messagingd socket: %w", err)
	}
	s := &Server{
		opts:     opts,
		log:      log,
		mc:       mc,
		node:     node,
		calls:    make(chan func()),
		evs:      make(chan event, 256),
		done:     make(chan struct{}),
		peers:    map[string]*peerState{},
		watchers: map[*watcher]struct{}{},
		view:     &membershipv1.View{},
	}
	for _, n := range opts.Core.Nodes {
		s.names = append(s.names, n.Name)
		v := n.Votes
		if v == 0 {
			v = 1
		}
		s.votes += v
	}
	slices.Sort(s.names)
	if opts.Core.ExpectedVotes > 0 {
		s.votes = opts.Core.ExpectedVotes
	}
	return s, nil
}

// Run serves the API on socketPath (a unix socket, replaced if it exists; "" serves
// nothing) and runs the daemon until ctx ends or the hard state cannot be written.
func (s *Server) Run(ctx context.Context, socketPath string) error {
	var lis net.Listener
	if socketPath != "" {
		if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
			return fmt.Errorf("membershipd: %w", err)
		}
		_ = os.Remove(socketPath)
		l, err := net.Listen("unix", socketPath)
		if err != nil {
			return fmt.Errorf("membershipd: listen %s: %w", socketPath, err)
		}
		_ = os.Chmod(socketPath, 0o600)
		lis = l
		defer os.Remove(socketPath)
	}
	return s.Serve(ctx, lis)
}

// Serve is Run on a listener of the caller's (nil serves no API).
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gs *grpc.Server
	if lis != nil {
		gs = s.GRPCServer()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := gs.Serve(lis); err != nil {
				s.log.Error("grpc serve", "err", err)
			}
		}()
	}
	s.wg.Add(1)
	go s.sessions(ctx)
	s.log.Info("membership started", "node", s.opts.Core.Name, "incarnation", s.node.HardState().Incarnation, "nodes", len(s.names))
	err := s.loop(ctx)
	close(s.done)
	cancel()
	if gs != nil {
		gs.Stop()
	}
	s.wg.Wait()
	s.mc.Close()
	return err
}

// GRPCServer returns a gRPC server with MembershipService registered.
func (s *Server) GRPCServer() *grpc.Server {
	gs := grpc.NewServer()
	membershipv1.RegisterMembershipServiceServer(gs, &service{s: s})
	return gs
}

func (s *Server) loop(ctx context.Context) error {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	// The first Ready persists the new incarnation before anything is sent.
	if err := s.drain(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			s.closeWatchers()
			return nil
		case <-t.C:
			now := time.Now()
			for p, ps := range s.peers {
				s.evaluate(now, p, ps)
			}
		case ev := <-s.evs:
			s.handle(ev)
		case f := <-s.calls:
			f()
		}
		s.node.Tick(time.Now())
		if err := s.drain(ctx); err != nil {
			s.closeWatchers()
			return err
		}
	}
}

// peerState is the shell's liveness of one peer: what messagingd says, and whether the
// peer's membershipd is heard.
type peerState struct {
	msgUp     bool      // messagingd reports the peer up
	upSince   time.Time // when messagingd last reported it up
	lastHeard time.Time // last membership message from it
	told      bool      // what the core was last told
	silent    bool      // counted down because its membershipd is silent (for logs)
}

// evaluate tells the core whether p counts as up: messagingd reports it up, and its
// membershipd sent something within PeerTimeout (counting from when it came up, so a
// peer is not held down before its first report can arrive).
func (s *Server) evaluate(now time.Time, name string, ps *peerState) {
	heard := ps.lastHeard
	if ps.upSince.After(heard) {
		heard = ps.upSince
	}
	silent := ps.msgUp && now.Sub(heard) >= s.opts.PeerTimeout
	up := ps.msgUp && !silent
	if silent != ps.silent {
		ps.silent = silent
		if silent {
			s.log.Warn("peer's messaging is up but its membershipd is silent; counting it down", "peer", name, "silence", now.Sub(heard))
		} else if ps.msgUp {
			s.log.Info("peer's membershipd is heard again", "peer", name)
		}
	}
	if up == ps.told {
		return
	}
	if err := s.node.PeerStatus(now, name, up); err != nil {
		s.log.Debug("peer status", "err", err)
		return
	}
	ps.told = up
	s.log.Debug("peer", "node", name, "up", up)
}

func (s *Server) handle(ev event) {
	now := time.Now()
	switch ev.kind {
	case evConnected:
		s.session = ev.session
		s.connected = true
		s.log.Info("connected to messagingd")
		return
	case evDisconnected:
		if ev.session != s.session {
			return
		}
		s.connected = false
		s.log.Warn("lost messagingd; every peer counts as down until it is back", "err", ev.err)
		for p, ps := range s.peers {
			ps.msgUp = false
			s.evaluate(now, p, ps)
		}
		return
	}
	if ev.session != s.session || !s.connected {
		return
	}
	switch ev.kind {
	case evPeer:
		ps := s.peers[ev.peer]
		if ps == nil {
			if !slices.Contains(s.names, ev.peer) {
				return
			}
			ps = &peerState{}
			s.peers[ev.peer] = ps
		}
		if ev.up && !ps.msgUp {
			ps.upSince = now
		}
		ps.msgUp = ev.up
		s.evaluate(now, ev.peer, ps)
	case evDeliver:
		if ev.from == s.opts.Core.Name {
			return // our own broadcast, delivered locally
		}
		if ps := s.peers[ev.from]; ps != nil {
			ps.lastHeard = now
			s.evaluate(now, ev.from, ps)
		}
		if err := s.node.Step(now, ev.from, ev.payload); err != nil {
			s.log.Debug("membership message dropped", "from", ev.from, "err", err)
		}
	}
}

// drain handles the core's Ready: persist, send, publish.
func (s *Server) drain(ctx context.Context) error {
	for s.node.HasReady() {
		rd := s.node.Ready()
		if rd.HardState != nil {
			if err := s.opts.Store.Save(*rd.HardState); err != nil {
				return err
			}
		}
		if len(rd.Messages) > 0 {
			s.send(ctx, rd.Messages)
		}
		now := time.Now()
		if rd.View != nil {
			s.publishView(*rd.View, now)
		}
		for _, n := range rd.Notices {
			s.log.Info("left out of a newer view", "by", n.By, "view", n.View)
			s.broadcast(&membershipv1.WatchViewsResponse{Event: &membershipv1.WatchViewsResponse_LeftOut{
				LeftOut: &membershipv1.LeftOut{By: n.By, View: n.View, TimeUnixMs: now.UnixMilli()}}})
		}
	}
	return nil
}

// send hands msgs to messagingd. Each Send is an API round trip through messagingd's
// loop (milliseconds on a loaded machine), so a coordinator's proposal to 15 members
// sent one after the other would take a large part of a failover. Unicasts to different
// nodes are therefore sent concurrently, keeping the order per destination; a
// broadcast is a barrier that keeps its place relative to every other message.
func (s *Server) send(ctx context.Context, msgs []membership.Envelope) {
	if !s.connected {
		return // nothing would get through; the core repeats what matters
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	for len(msgs) > 0 {
		if msgs[0].To == "" {
			s.sendOne(ctx, msgs[0])
			msgs = msgs[1:]
			continue
		}
		n := 0
		for n < len(msgs) && msgs[n].To != "" {
			n++
		}
		s.sendUnicasts(ctx, msgs[:n])
		msgs = msgs[n:]
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		s.log.Debug("slow send batch", "took", d)
	}
}

func (s *Server) sendUnicasts(ctx context.Context, msgs []membership.Envelope) {
	if len(msgs) == 1 {
		s.sendOne(ctx, msgs[0])
		return
	}
	byDest := map[string][]membership.Envelope{}
	var order []string
	for _, m := range msgs {
		if _, ok := byDest[m.To]; !ok {
			order = append(order, m.To)
		}
		byDest[m.To] = append(byDest[m.To], m)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, to := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range byDest[to] {
				if err := s.mc.Send(ctx, m.To, Channel, m.Payload); err != nil {
					errs[i] = fmt.Errorf("%v to %s: %w", m.Type, m.To, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.sendFailed(err)
		}
	}
}

func (s *Server) sendOne(ctx context.Context, m membership.Envelope) {
	if err := s.mc.Send(ctx, m.To, Channel, m.Payload); err != nil {
		s.sendFailed(fmt.Errorf("%v to %q: %w", m.Type, m.To, err))
	}
}

// sendFailed counts a failed send and logs at most one every 5 seconds. The core repairs
// lost messages (reports are periodic, proposals time out and are retried).
func (s *Server) sendFailed(err error) {
	s.sendErrs++
	if time.Since(s.lastSendLog) > 5*time.Second {
		s.log.Warn("send to messagingd failed", "err", err, "failures", s.sendErrs)
		s.lastSendLog = time.Now()
	}
}

func viewProto(v membership.View, at time.Time) *membershipv1.View {
	return &membershipv1.View{
		Number:          v.Number,
		Coordinator:     v.Coordinator,
		Members:         slices.Clone(v.Members),
		Votes:           int32(v.Votes),
		Quorum:          v.Quorum,
		InstalledUnixMs: at.UnixMilli(),
	}
}

func (s *Server) publishView(v membership.View, at time.Time) {
	s.view = viewProto(v, at)
	if len(v.Members) == len(s.names) {
		s.seenFull = true
	}
	s.broadcast(&membershipv1.WatchViewsResponse{Event: &membershipv1.WatchViewsResponse_View{View: s.view}})
}

func (s *Server) broadcast(ev *membershipv1.WatchViewsResponse) {
	for w := range s.watchers {
		select {
		case w.ch <- ev:
		default:
			w.reason = status.Error(codes.ResourceExhausted, "membershipd: watcher fell too far behind; watch again")
			close(w.cut)
			delete(s.watchers, w)
		}
	}
}

func (s *Server) closeWatchers() {
	for w := range s.watchers {
		w.reason = status.Error(codes.Unavailable, ErrStopped.Error())
		close(w.cut)
		delete(s.watchers, w)
	}
}

// do runs f on the loop goroutine and waits for it.
func (s *Server) do(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(ran) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
	<-ran
	return nil
}

// sessions keeps a session with messagingd: the peer watch and the subscription to the
// membership channel, reconnecting with backoff when they break.
func (s *Server) sessions(ctx context.Context) {
	defer s.wg.Done()
	var id uint64
	const minBackoff, maxBackoff = 50 * time.Millisecond, time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		id++
		start := time.Now()
		err := s.runSession(ctx, id)
		if ctx.Err() != nil {
			return
		}
		if !s.post(ctx, event{kind: evDisconnected, session: id, err: err}) {
			return
		}
		if time.Since(start) > 5*time.Second {
			backoff = minBackoff
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (s *Server) post(ctx context.Context, ev event) bool {
	select {
	case s.evs <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) runSession(ctx context.Context, id uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.mc.Subscribe(ctx, Channel)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	w, err := s.mc.WatchPeers(ctx)
	if err != nil {
		return fmt.Errorf("watch peers: %w", err)
	}
	if !s.post(ctx, event{kind: evConnected, session: id}) {
		return ctx.Err()
	}
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			ev, err := w.Recv()
			if err != nil {
				errc <- fmt.Errorf("peer watch: %w", err)
				return
			}
			p := ev.GetPeer()
			if p == nil {
				continue
			}
			up := p.GetPeer().GetState() == messagingv1.PeerState_PEER_STATE_UP
			if !s.post(ctx, event{kind: evPeer, session: id, peer: p.GetPeer().GetNode(), up: up}) {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			m, err := sub.Recv()
			if err != nil {
				errc <- fmt.Errorf("subscription: %w", err)
				return
			}
			if !s.post(ctx, event{kind: evDeliver, session: id, from: m.GetFrom(), payload: m.GetPayload()}) {
				return
			}
		}
	}()
	err = <-errc
	cancel()
	wg.Wait()
	if errors.Is(err, context.Canceled) {
		return ctx.Err()
	}
	return err
}
