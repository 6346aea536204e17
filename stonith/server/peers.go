package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	"github.com/systole/systole/stonith"
)

// Transport sends stonithd messages to other stonithds (messagingd
// channel "stonithd"). Send blocks until the message is queued by the
// messaging layer; it is called from one goroutine at a time.
type Transport interface {
	// Send sends data to node to; "" sends to every node, this one
	// included (the receiver ignores its own messages).
	Send(ctx context.Context, to string, data []byte) error
}

// ErrNoPeer is returned when fencing this node itself needs another member
// to run it and none is up.
var ErrNoPeer = errors.New("stonithd: no other cluster member is up to fence this node")

// outboxSize bounds the messages waiting for messagingd; beyond it new
// ones are dropped with a warning (messagingd is stuck; results are
// re-exchanged by the history sync when the peers see each other again).
const outboxSize = 4096

// dedupeSize bounds the remembered forwarded requests (from, seq).
const dedupeSize = 1024

type outMsg struct {
	to   string
	data []byte
}

// peerState is the cluster side of the server. Its fields are guarded by
// mu (the follower, the handlers and the loop's onEnd hook all use it).
type peerState struct {
	tr  Transport
	out chan outMsg

	mu    sync.Mutex
	up    map[string]bool // other nodes messaging sees up
	seq   uint64
	waits map[uint64]chan message
	seen  map[string]bool // forwarded requests already taken
	order []string        // seen, oldest first
}

// EnablePeers makes the server cluster-wide over tr: every operation this
// node ends is broadcast (kindResult) and peers' results are observed;
// fencing of this node itself is forwarded to another member. Call before
// Run; feed it with Deliver and SetPeer (FollowMessaging does both).
func (s *Server) EnablePeers(tr Transport) {
	p := &peerState{tr: tr, out: make(chan outMsg, outboxSize), up: map[string]bool{},
		waits: map[uint64]chan message{}, seen: map[string]bool{},
		// A restarted stonithd must not reuse the sequence numbers its
		// peers remember as taken.
		seq: uint64(time.Now().UnixNano())}
	s.peers = p
	s.onEnd = append(s.onEnd, func(e stonith.Entry) {
		s.send("", message{Kind: kindResult, Entry: EntryToPB(e)})
	})
}

// send queues a message for the sender goroutine; it never blocks.
func (s *Server) send(to string, m message) {
	if s.peers == nil {
		return
	}
	select {
	case s.peers.out <- outMsg{to: to, data: encodeMsg(m)}:
	default:
		s.log.Warn("stonithd outbox full; message dropped", "to", to, "kind", m.Kind)
	}
}

// SendLoop sends the queued messages until ctx ends, retrying a message
// while messagingd is away (for up to a few seconds).
func (s *Server) SendLoop(ctx context.Context) {
	if s.peers == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.peers.out:
			for try := 0; ; try++ {
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := s.peers.tr.Send(sctx, m.to, m.data)
				cancel()
				if err == nil || ctx.Err() != nil {
					break
				}
				if try == 20 {
					s.log.Warn("cannot send a stonithd message; dropped", "to", m.to, "err", err)
					break
				}
				sleep(ctx, 200*time.Millisecond)
			}
		}
	}
}

// broadcastCleanup tells every node to forget target's ended operations.
func (s *Server) broadcastCleanup(target string) {
	s.send("", message{Kind: kindCleanup, Cleanup: &stonithv1.HistoryRequest{Target: target}})
}

// AskHistory asks node ("" = every node) for its history; the answers are
// observed as they arrive.
func (s *Server) AskHistory(node string) {
	s.send(node, message{Kind: kindHistoryReq})
}

// SetPeer records that node is up or not (messaging liveness). A node that
// comes up (or restarted) is asked for its history.
func (s *Server) SetPeer(node string, up, restarted bool) {
	if s.peers == nil || node == s.node {
		return
	}
	s.peers.mu.Lock()
	was := s.peers.up[node]
	if up {
		s.peers.up[node] = true
	} else {
		delete(s.peers.up, node)
	}
	s.peers.mu.Unlock()
	if up && (!was || restarted) {
		s.log.Info("peer up; asking for its fencing history", "peer", node)
		s.AskHistory(node)
	}
}

// Peers returns the other nodes seen up, sorted.
func (s *Server) Peers() []string {
	if s.peers == nil {
		return nil
	}
	s.peers.mu.Lock()
	defer s.peers.mu.Unlock()
	var out []string
	for n := range s.peers.up {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// mustForward reports whether a request is for another node to run: this
// node is the target of an off or reboot, and the server is cluster-wide.
// A node may turn itself on (unfencing), as in Pacemaker.
func (s *Server) mustForward(req stonith.Request) bool {
	return s.peers != nil && req.Target == s.node && req.Action != stonith.ActionOn
}

// forwardTimeout bounds the wait for a forwarded request's answer.
func (s *Server) forwardTimeout(req stonith.Request) time.Duration {
	t := req.Timeout
	if t <= 0 {
		t = 60 * time.Second
		if d, err := s.DefaultTimeout(context.Background()); err == nil {
			t = d
		}
	}
	return t + 10*time.Second
}

// forward asks another member to run req (this node is the target) and
// waits for its answer. The member chosen is the first, by name, of the
// other nodes up.
func (s *Server) forward(ctx context.Context, req stonith.Request) (stonith.Entry, error) {
	peers := s.Peers()
	if len(peers) == 0 {
		return stonith.Entry{}, fmt.Errorf("%w (cannot fence %s from %s itself)", ErrNoPeer, req.Target, s.node)
	}
	to := peers[0]
	ch := make(chan message, 1)
	s.peers.mu.Lock()
	s.peers.seq++
	seq := s.peers.seq
	s.peers.waits[seq] = ch
	s.peers.mu.Unlock()
	defer func() {
		s.peers.mu.Lock()
		delete(s.peers.waits, seq)
		s.peers.mu.Unlock()
	}()
	s.log.Info("forwarding the fencing of this node", "target", req.Target, "action", string(req.Action), "to", to)
	s.send(to, message{Kind: kindFence, Seq: seq, Fence: requestToPB(req)})
	select {
	case m := <-ch:
		if m.Err != "" {
			return stonith.Entry{}, fmt.Errorf("stonithd: %s refused to fence %s: %s", to, req.Target, m.Err)
		}
		return EntryFromPB(m.Reply.Entry), nil
	case <-ctx.Done():
		return stonith.Entry{}, fmt.Errorf("stonithd: fencing of %s forwarded to %s: %w", req.Target, to, ctx.Err())
	case <-s.stopped:
		return stonith.Entry{}, ErrStopped
	}
}

// Deliver handles a message from node from on channel stonithd. Malformed
// messages are logged and dropped. It does not block on fencing: a
// forwarded request runs in its own goroutine.
func (s *Server) Deliver(ctx context.Context, from string, data []byte) error {
	if from == s.node {
		return nil // our own broadcast
	}
	m, err := decodeMsg(data)
	if err != nil {
		s.log.Warn("stonithd message refused", "from", from, "err", err)
		return nil
	}
	switch m.Kind {
	case kindResult:
		return s.Observe(ctx, EntryFromPB(m.Entry))
	case kindHistoryReq:
		h, err := s.History(ctx, "")
		if err != nil {
			return err
		}
		resp := &stonithv1.HistoryResponse{}
		for _, e := range h {
			if e.State != stonith.StatePending {
				resp.Entries = append(resp.Entries, EntryToPB(e))
			}
		}
		s.send(from, message{Kind: kindHistory, History: resp})
	case kindHistory:
		var es []stonith.Entry
		for _, e := range m.History.Entries {
			es = append(es, EntryFromPB(e))
		}
		return s.Observe(ctx, es...)
	case kindFence:
		if !s.peers.take(from, m.Seq) {
			return nil // a duplicate
		}
		req := RequestFromPB(m.Fence, from)
		if req.Target == s.node {
			s.send(from, message{Kind: kindFenceReply, Seq: m.Seq, Err: "it is the target itself"})
			return nil
		}
		go func() {
			fctx, cancel := context.WithTimeout(context.Background(), s.forwardTimeout(req))
			defer cancel()
			e, err := s.Fence(fctx, req)
			if err != nil {
				s.send(from, message{Kind: kindFenceReply, Seq: m.Seq, Err: err.Error()})
				return
			}
			s.send(from, message{Kind: kindFenceReply, Seq: m.Seq, Reply: &stonithv1.FenceResponse{Id: e.ID, Entry: EntryToPB(e)}})
		}()
	case kindFenceReply:
		s.peers.mu.Lock()
		ch := s.peers.waits[m.Seq]
		delete(s.peers.waits, m.Seq)
		s.peers.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case kindCleanup:
		target := m.Cleanup.GetTarget()
		if target == "*" {
			target = ""
		}
		return s.cleanupLocal(ctx, target)
	}
	return nil
}

// take records a forwarded request and reports whether it is new.
func (p *peerState) take(from string, seq uint64) bool {
	key := fmt.Sprintf("%s/%d", from, seq)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[key] {
		return false
	}
	p.seen[key] = true
	p.order = append(p.order, key)
	if len(p.order) > dedupeSize {
		delete(p.seen, p.order[0])
		p.order = p.order[1:]
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
