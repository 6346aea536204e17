package server

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// hub is a fake messaging layer for in-process tests: one MessagingService endpoint per
// node on its own unix socket, and a symmetric link matrix deciding who hears whom.
type hub struct {
	t     *testing.T
	dir   string
	names []string

	mu    sync.Mutex
	cut   map[[2]string]bool
	subs  map[string]map[chan *messagingv1.Message]bool
	watch map[string]map[chan *messagingv1.WatchPeersResponse]bool
	eps   map[string]*grpc.Server
}

func newHub(t *testing.T, names ...string) *hub {
	h := &hub{t: t, dir: t.TempDir(), names: names, cut: map[[2]string]bool{},
		subs: map[string]map[chan *messagingv1.Message]bool{}, watch: map[string]map[chan *messagingv1.WatchPeersResponse]bool{},
		eps: map[string]*grpc.Server{}}
	for _, n := range names {
		h.start(n)
	}
	t.Cleanup(func() {
		h.mu.Lock()
		eps := h.eps
		h.eps = map[string]*grpc.Server{}
		h.mu.Unlock()
		for _, gs := range eps {
			gs.Stop()
		}
	})
	return h
}

func (h *hub) socket(node string) string { return filepath.Join(h.dir, node+".sock") }

// start serves node's endpoint (again).
func (h *hub) start(node string) {
	lis, err := net.Listen("unix", h.socket(node))
	if err != nil {
		h.t.Fatal(err)
	}
	gs := grpc.NewServer()
	messagingv1.RegisterMessagingServiceServer(gs, &endpoint{h: h, node: node})
	h.mu.Lock()
	h.eps[node] = gs
	for _, p := range h.names {
		if p != node && h.connected(p, node) {
			h.notify(p, node, true)
		}
	}
	h.mu.Unlock()
	go gs.Serve(lis)
}

// stop kills node's endpoint, as if its messagingd died.
func (h *hub) stop(node string) {
	h.mu.Lock()
	gs := h.eps[node]
	delete(h.eps, node)
	for _, p := range h.names {
		if p != node {
			h.notify(p, node, false)
		}
	}
	h.mu.Unlock()
	gs.Stop()
}

func key(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func (h *hub) connected(a, b string) bool {
	_, aUp := h.eps[a]
	_, bUp := h.eps[b]
	return aUp && bUp && !h.cut[key(a, b)]
}

// setLink cuts or restores the link between a and b and tells both sides' watchers.
func (h *hub) setLink(a, b string, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut[key(a, b)] = !up
	for _, p := range [][2]string{{a, b}, {b, a}} {
		h.notify(p[0], p[1], up)
	}
}

func (h *hub) notify(at, peer string, up bool) {
	state := messagingv1.PeerState_PEER_STATE_DEAD
	if up {
		state = messagingv1.PeerState_PEER_STATE_UP
	}
	for ch := range h.watch[at] {
		select {
		case ch <- &messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Peer{Peer: &messagingv1.PeerEvent{
			Peer: &messagingv1.Peer{Node: peer, State: state}}}}:
		default:
		}
	}
}

type endpoint struct {
	messagingv1.UnimplementedMessagingServiceServer
	h    *hub
	node string
}

func (e *endpoint) Send(_ context.Context, r *messagingv1.SendRequest) (*messagingv1.SendResponse, error) {
	h := e.h
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, to := range h.names {
		if (r.GetDest() != "" && r.GetDest() != to) || (to != e.node && !h.connected(e.node, to)) {
			continue
		}
		for ch := range h.subs[to] {
			select {
			case ch <- &messagingv1.Message{From: e.node, Channel: r.GetChannel(), Dest: r.GetDest(), Payload: r.GetPayload()}:
			default: // a real messagingd cuts the subscriber off; dropping is harsher
			}
		}
	}
	return &messagingv1.SendResponse{}, nil
}

func (e *endpoint) Subscribe(_ *messagingv1.SubscribeRequest, s messagingv1.MessagingService_SubscribeServer) error {
	h := e.h
	ch := make(chan *messagingv1.Message, 4096)
	h.mu.Lock()
	if h.subs[e.node] == nil {
		h.subs[e.node] = map[chan *messagingv1.Message]bool{}
	}
	h.subs[e.node][ch] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs[e.node], ch)
		h.mu.Unlock()
	}()
	if err := s.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		select {
		case m := <-ch:
			if err := s.Send(&messagingv1.SubscribeResponse{Message: m}); err != nil {
				return err
			}
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}

func (e *endpoint) WatchPeers(_ *messagingv1.WatchPeersRequest, s messagingv1.MessagingService_WatchPeersServer) error {
	h := e.h
	ch := make(chan *messagingv1.WatchPeersResponse, 4096)
	h.mu.Lock()
	if h.watch[e.node] == nil {
		h.watch[e.node] = map[chan *messagingv1.WatchPeersResponse]bool{}
	}
	h.watch[e.node][ch] = true
	for _, p := range h.names {
		if p == e.node {
			continue
		}
		state := messagingv1.PeerState_PEER_STATE_DEAD
		if h.connected(e.node, p) {
			state = messagingv1.PeerState_PEER_STATE_UP
		}
		ch <- &messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Peer{Peer: &messagingv1.PeerEvent{
			Snapshot: true, Peer: &messagingv1.Peer{Node: p, State: state}}}}
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.watch[e.node], ch)
		h.mu.Unlock()
	}()
	for {
		select {
		case m := <-ch:
			if err := s.Send(m); err != nil {
				return err
			}
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}
