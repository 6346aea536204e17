package server

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/systole/systole/messaging"
	"github.com/systole/systole/messaging/transport"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// MaxGRPCMessage bounds one gRPC message: a maximum-size cluster message
// plus framing.
const MaxGRPCMessage = 64 << 20

// subscriberBuffer is how many messages a subscriber may fall behind
// before it is cut off; watcherBuffer likewise for status events.
const (
	subscriberBuffer = 4096
	watcherBuffer    = 1024
)

// Options configure a Server.
type Options struct {
	// Config is the parsed ha.cf.
	Config *messaging.HaCf
	// Keys is the parsed authkeys.
	Keys *messaging.Keys
	// Node is this node's name (must be a `node` of ha.cf).
	Node string
	// Generation is this incarnation's generation (see NextGeneration).
	Generation uint64
	// Media are the open media, in the order of Config.MediaNames(). The
	// server closes them when Run returns.
	Media []transport.Transport
	// Tune, if set, adjusts the core configuration (tests, benchmarks).
	Tune func(*messaging.Config)
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
}

var errStopped = errors.New("server: messaging daemon stopped")

type inbound struct {
	medium int
	data   []byte
}

type subscriber struct {
	channels map[string]bool
	ch       chan *messagingv1.Message
	dead     chan struct{} // closed when cut off for being slow
}

type watcher struct {
	ch   chan *messagingv1.WatchPeersResponse
	dead chan struct{}
}

// Server runs one messaging node. Create it with New, then call Run.
type Server struct {
	opts    Options
	log     *slog.Logger
	node    *messaging.Node
	media   []transport.Transport
	names   []string
	in      chan inbound
	calls   chan func()
	subs    map[*subscriber]bool
	watch   map[*watcher]bool
	sendErr uint64
	stopped chan struct{} // closed when the loop has returned
	wg      sync.WaitGroup
}

// New builds the core from opts.
func New(opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !slices.Contains(opts.Config.Nodes, opts.Node) {
		return nil, fmt.Errorf("server: node %q is not a `node` of ha.cf (%v)", opts.Node, opts.Config.Nodes)
	}
	cfg := opts.Config.Config(opts.Node, opts.Generation)
	cfg.Logger = log
	if opts.Tune != nil {
		opts.Tune(&cfg)
	}
	if len(opts.Media) != len(cfg.Media) {
		return nil, fmt.Errorf("server: %d media open, ha.cf names %d", len(opts.Media), len(cfg.Media))
	}
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("server: seed: %w", err)
	}
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	node, err := messaging.NewNode(cfg, opts.Keys, rng, time.Now())
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{opts: opts, log: log.With("node", opts.Node), node: node, media: opts.Media,
		in: make(chan inbound, 4096), calls: make(chan func()), subs: map[*subscriber]bool{},
		watch: map[*watcher]bool{}, stopped: make(chan struct{})}
	for _, m := range cfg.Media {
		s.names = append(s.names, m.Name)
	}
	return s, nil
}

// Run runs the node until ctx is done, serving the gRPC API on the unix
// socket socketPath (replacing a stale socket file) if it is not empty.
func (s *Server) Run(ctx context.Context, socketPath string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gs *grpc.Server
	if socketPath != "" {
		if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		_ = os.Remove(socketPath)
		lis, err := net.Listen("unix", socketPath)
		if err != nil {
			return fmt.Errorf("server: listen %s: %w", socketPath, err)
		}
		_ = os.Chmod(socketPath, 0o600)
		gs = s.GRPCServer()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := gs.Serve(lis); err != nil {
				s.log.Error("grpc serve", "err", err)
			}
		}()
	}
	for i, t := range s.media {
		s.wg.Add(1)
		go s.reader(ctx, i, t)
	}
	s.log.Info("messaging started", "gen", s.node.Generation(), "media", s.names)
	err := s.loop(ctx)
	if gs != nil {
		gs.Stop()
	}
	for _, t := range s.media {
		t.Close()
	}
	s.wg.Wait()
	if socketPath != "" {
		_ = os.Remove(socketPath)
	}
	return err
}

// GRPCServer returns a gRPC server with the MessagingService registered
// (for tests serving on another listener).
func (s *Server) GRPCServer() *grpc.Server {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(MaxGRPCMessage), grpc.MaxSendMsgSize(MaxGRPCMessage))
	messagingv1.RegisterMessagingServiceServer(gs, &service{s: s})
	return gs
}

func (s *Server) reader(ctx context.Context, medium int, t transport.Transport) {
	defer s.wg.Done()
	buf := make([]byte, transport.MaxPacket)
	for {
		n, err := t.Recv(buf)
		if err != nil {
			if errors.Is(err, transport.ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Error("medium read failed", "medium", t.Name(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case s.in <- inbound{medium: medium, data: append([]byte(nil), buf[:n]...)}:
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) loop(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer close(s.stopped)
	for {
		s.drain()
		wait := time.Until(s.node.NextDeadline())
		if wait < 0 {
			wait = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			for sub := range s.subs {
				close(sub.ch)
			}
			for w := range s.watch {
				close(w.ch)
			}
			return nil
		case p := <-s.in:
			s.step(p)
			// Take what is already queued, but a bounded batch, so that a
			// flood of packets cannot starve the heartbeat timer.
			for k := 0; k < 256; k++ {
				select {
				case p := <-s.in:
					s.step(p)
					continue
				default:
				}
				break
			}
		case f := <-s.calls:
			f()
		case <-timer.C:
			s.node.Tick(time.Now())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (s *Server) step(p inbound) {
	if err := s.node.Step(p.data, p.medium, time.Now()); err != nil {
		s.log.Debug("packet dropped", "medium", s.names[p.medium], "err", err)
	}
}

// call runs f on the loop goroutine and waits for it.
func (s *Server) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return errStopped
	}
	<-done
	return nil
}

func (s *Server) drain() {
	if !s.node.HasReady() {
		return
	}
	rd := s.node.Ready()
	if len(rd.Packets) > 0 {
		perMedium := make([][][]byte, len(s.media))
		for _, p := range rd.Packets {
			perMedium[p.Medium] = append(perMedium[p.Medium], p.Data)
		}
		for m, pkts := range perMedium {
			if len(pkts) == 0 {
				continue
			}
			var err error
			if b, ok := s.media[m].(transport.BatchSender); ok && len(pkts) > 1 {
				if err = b.SendBatch(pkts); err != nil {
					s.sendErr += uint64(len(pkts)) // an upper bound: some may have left
				}
			} else {
				for _, p := range pkts {
					if e := s.media[m].Send(p); e != nil {
						s.sendErr++
						err = e
					}
				}
			}
			if err != nil {
				s.log.Debug("send failed", "medium", s.names[m], "err", err)
			}
		}
	}
	for _, m := range rd.Messages {
		pm := &messagingv1.Message{From: m.From, Generation: m.Generation, Seq: m.Seq, Channel: m.Channel, Dest: m.Dest, Payload: m.Payload}
		for sub := range s.subs {
			if len(sub.channels) > 0 && !sub.channels[m.Channel] {
				continue
			}
			select {
			case sub.ch <- pm:
			default:
				s.log.Warn("subscriber too slow, cut off")
				delete(s.subs, sub)
				close(sub.dead)
			}
		}
	}
	now := time.Now().UnixMilli()
	var evs []*messagingv1.WatchPeersResponse
	peers := map[string]*messagingv1.Peer{}
	if len(rd.Peers) > 0 {
		for _, p := range s.peerTable() {
			peers[p.Node] = p
		}
	}
	for _, e := range rd.Peers {
		s.log.Info("peer status", "peer", e.Node, "state", e.State.String(), "gen", e.Generation, "late", e.Late, "restarted", e.Restarted)
		p := peers[e.Node]
		ev := &messagingv1.PeerEvent{Peer: &messagingv1.Peer{Node: e.Node, State: peerState(e.State), Generation: e.Generation,
			Late: e.Late, Links: p.GetLinks(), SilenceMs: p.GetSilenceMs()}, Restarted: e.Restarted, TimeUnixMs: now}
		evs = append(evs, &messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Peer{Peer: ev}})
	}
	for _, e := range rd.Links {
		s.log.Info("link status", "peer", e.Node, "medium", s.names[e.Medium], "up", e.Up)
		evs = append(evs, &messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Link{Link: &messagingv1.LinkEvent{
			Node: e.Node, Medium: s.names[e.Medium], Up: e.Up, TimeUnixMs: now}}})
	}
	for _, e := range rd.Lost {
		evs = append(evs, &messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Lost{Lost: &messagingv1.LostEvent{
			From: e.From, Generation: e.Generation, FirstSeq: e.First, LastSeq: e.Last}}})
	}
	for _, ev := range evs {
		s.publish(ev)
	}
}

func (s *Server) publish(ev *messagingv1.WatchPeersResponse) {
	for w := range s.watch {
		select {
		case w.ch <- ev:
		default:
			delete(s.watch, w)
			close(w.dead)
		}
	}
}

func peerState(st messaging.PeerState) messagingv1.PeerState {
	switch st {
	case messaging.PeerUnknown:
		return messagingv1.PeerState_PEER_STATE_UNKNOWN
	case messaging.PeerUp:
		return messagingv1.PeerState_PEER_STATE_UP
	case messaging.PeerDead:
		return messagingv1.PeerState_PEER_STATE_DEAD
	}
	return messagingv1.PeerState_PEER_STATE_UNSPECIFIED
}

// peerTable must run on the loop goroutine.
func (s *Server) peerTable() []*messagingv1.Peer {
	var out []*messagingv1.Peer
	now := time.Now()
	for _, ps := range s.node.Peers() {
		p := &messagingv1.Peer{Node: ps.Node, State: peerState(ps.State), Generation: ps.Generation, Late: ps.Late}
		if !ps.LastHeard.IsZero() {
			p.SilenceMs = now.Sub(ps.LastHeard).Milliseconds()
		}
		for i, up := range ps.Links {
			p.Links = append(p.Links, &messagingv1.Link{Medium: s.names[i], Up: up})
		}
		out = append(out, p)
	}
	return out
}
