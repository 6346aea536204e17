package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/messaging"
	"github.com/systole/systole/messaging/client"
	"github.com/systole/systole/messaging/transport"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

type testNode struct {
	name   string
	mem    *transport.Mem
	cancel context.CancelFunc
	done   chan error
	c      *client.Client
}

func startNode(t *testing.T, dir, name string, net *transport.MemNetwork, keys *messaging.Keys) *testNode {
	t.Helper()
	h, err := messaging.ParseHaCf("ha.cf", []byte("node a b c\nbcast mem0\nkeepalive 50ms\ndeadtime 250ms\ninitdead 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := NextGeneration(filepath.Join(dir, name), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mem := net.Attach()
	s, err := New(Options{Config: h, Keys: keys, Node: name, Generation: gen, Media: []transport.Transport{mem}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(dir, name+".sock")
	n := &testNode{name: name, mem: mem, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- s.Run(ctx, sock) }()
	n.c, err = client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stop(); n.c.Close() })
	return n
}

func (n *testNode) stop() {
	if n.cancel != nil {
		n.cancel()
		<-n.done
		n.cancel = nil
	}
}

func waitPeer(t *testing.T, c *client.Client, peer string, want messagingv1.PeerState, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.Status(ctx)
		cancel()
		if err == nil {
			for _, p := range st.GetPeers() {
				if p.GetNode() == peer && p.GetState() == want {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("peer %s not %v within %v", peer, want, within)
}

func TestServerEndToEndInMemory(t *testing.T) {
	dir := t.TempDir()
	keys := &messaging.Keys{Active: 1, ByID: map[uint8]messaging.Key{1: {ID: 1, Method: messaging.MethodSHA256, Secret: []byte("k")}}}
	net := transport.NewMemNetwork("bcast mem0")
	a := startNode(t, dir, "a", net, keys)
	b := startNode(t, dir, "b", net, keys)
	c := startNode(t, dir, "c", net, keys)
	for _, n := range []*testNode{a, b, c} {
		for _, p := range []string{"a", "b", "c"} {
			if p != n.name {
				waitPeer(t, n.c, p, messagingv1.PeerState_PEER_STATE_UP, 5*time.Second)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := b.c.Subscribe(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.c.WatchPeers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // snapshot
		ev, err := w.Recv()
		if err != nil || !ev.GetPeer().GetSnapshot() {
			t.Fatalf("snapshot: %v %v", ev, err)
		}
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for i, p := range [][]byte{[]byte("hello"), big, []byte("bye")} {
		dest := ""
		if i == 1 {
			dest = "b"
		}
		if err := a.c.Send(ctx, dest, "test", p); err != nil {
			t.Fatal(err)
		}
		if err := c.c.Send(ctx, "a", "test", []byte("not for b")); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range [][]byte{[]byte("hello"), big, []byte("bye")} {
		m, err := sub.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetFrom() != "a" || !bytes.Equal(m.GetPayload(), want) {
			t.Fatalf("message %d: from %s, %d bytes", i, m.GetFrom(), len(m.GetPayload()))
		}
	}
	err = a.c.Send(ctx, "nobody", "test", nil)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("send to unknown node: %v", err)
	}
	// Kill c: b reports it dead.
	killed := time.Now()
	c.stop()
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if p := ev.GetPeer(); p != nil && p.GetPeer().GetNode() == "c" && p.GetPeer().GetState() == messagingv1.PeerState_PEER_STATE_DEAD {
			t.Logf("c dead after %v", time.Since(killed))
			break
		}
	}
	stats, err := b.c.Stats(ctx)
	if err != nil || stats.GetMessagesDelivered() < 3 {
		t.Fatalf("stats %v %v", stats, err)
	}
}

func TestNextGeneration(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	g1, err := NextGeneration(dir, now)
	if err != nil || g1 != 1000 {
		t.Fatal(g1, err)
	}
	g2, _ := NextGeneration(dir, now)
	if g2 != 1001 {
		t.Fatal(g2)
	}
	os.WriteFile(filepath.Join(dir, "generation"), []byte("junk"), 0o600)
	if _, err := NextGeneration(dir, now); err == nil {
		t.Fatal("junk generation accepted")
	}
}

func TestToStatus(t *testing.T) {
	if status.Code(toStatus(messaging.ErrQueueFull)) != codes.ResourceExhausted ||
		status.Code(toStatus(errors.New("x"))) != codes.Internal || toStatus(nil) != nil {
		t.Fatal("error mapping")
	}
}
