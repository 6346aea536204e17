package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/membership"
	"github.com/systole/systole/membership/client"
	membershipv1 "github.com/systole/systole/proto/membership/v1"
)

// testNode is one in-process Server wired to the fake hub.
type testNode struct {
	name   string
	store  *Store
	c      *client.Client
	cancel context.CancelFunc
	done   chan error
}

func fastConfig(name string, names []string) membership.Config {
	cfg := membership.DefaultConfig(name, names...)
	cfg.ReportInterval = 20 * time.Millisecond
	cfg.ProposeTimeout = 300 * time.Millisecond
	cfg.RetryDelay = 20 * time.Millisecond
	cfg.HoldDown = 100 * time.Millisecond
	cfg.Settle = 20 * time.Millisecond
	cfg.InitDead = 40 * time.Millisecond
	return cfg
}

func startNode(t *testing.T, h *hub, name string, stateDir string) *testNode {
	t.Helper()
	store, err := OpenStore(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Core: fastConfig(name, h.names), Store: store, MessagingSocket: h.socket(name), Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "m.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{name: name, store: store, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- s.Serve(ctx, lis) }()
	n.c, err = client.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *testNode) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	<-n.done
	n.c.Close()
	n.store.Close()
	n.cancel = nil
}

func (n *testNode) view(t *testing.T) *membershipv1.View {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, name, err := n.c.View(ctx)
	if err != nil {
		t.Fatalf("%s: GetView: %v", n.name, err)
	}
	if name != n.name {
		t.Fatalf("GetView names %q, want %q", name, n.name)
	}
	return v
}

// waitView waits until every node of nodes holds one view (same number and coordinator)
// with exactly those members and the given quorum.
func waitView(t *testing.T, quorum bool, nodes ...*testNode) *membershipv1.View {
	t.Helper()
	var want []string
	for _, n := range nodes {
		want = append(want, n.name)
	}
	slices.Sort(want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var first *membershipv1.View
		ok := true
		var got []string
		for _, n := range nodes {
			v := n.view(t)
			got = append(got, fmt.Sprintf("%s: %d %v q=%v", n.name, v.GetNumber(), v.GetMembers(), v.GetQuorum()))
			if !slices.Equal(v.GetMembers(), want) || v.GetQuorum() != quorum ||
				(first != nil && (first.GetNumber() != v.GetNumber() || first.GetCoordinator() != v.GetCoordinator())) {
				ok = false
			}
			if first == nil {
				first = v
			}
		}
		if ok {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("no view %v quorum=%v:\n%s", want, quorum, strings.Join(got, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServerOverFakeMessaging runs three daemons over the fake messaging hub: they form a
// view, a cut node loses quorum, healing restores one view, a messagingd restart is
// survived, watchers see growing views, and a restarted daemon keeps its view numbers.
func TestServerOverFakeMessaging(t *testing.T) {
	h := newHub(t, "a", "b", "c")
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	a, b, c := startNode(t, h, "a", dirs[0]), startNode(t, h, "b", dirs[1]), startNode(t, h, "c", dirs[2])
	v := waitView(t, true, a, b, c)
	if v.GetCoordinator() != "a" || v.GetVotes() != 3 || v.GetInstalledUnixMs() == 0 {
		t.Fatalf("view %v", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := c.c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := w.Recv()
	if err != nil || !ev.GetInitial() || ev.GetView().GetNumber() != v.GetNumber() {
		t.Fatalf("first watch event %v, %v", ev, err)
	}

	// Cut c off: a and b keep quorum, c loses it.
	h.setLink("a", "c", false)
	h.setLink("b", "c", false)
	waitView(t, true, a, b)
	waitView(t, false, c)
	q, err := c.c.Quorum(ctx)
	if err != nil || q.GetQuorum() || q.GetExpectedVotes() != 3 || q.GetVotes() != 1 {
		t.Fatalf("c's quorum %v, %v", q, err)
	}
	h.setLink("a", "c", true)
	h.setLink("b", "c", true)
	v2 := waitView(t, true, a, b, c)
	if v2.GetNumber() <= v.GetNumber() {
		t.Fatalf("view number went from %d to %d", v.GetNumber(), v2.GetNumber())
	}
	last := uint64(0)
	for last != v2.GetNumber() {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if vv := ev.GetView(); vv != nil {
			if vv.GetNumber() <= last {
				t.Fatalf("watched view number went from %d to %d", last, vv.GetNumber())
			}
			last = vv.GetNumber()
		}
	}

	// b's messagingd dies and comes back: b's daemon reconnects.
	h.stop("b")
	waitView(t, true, a, c)
	p, err := b.c.Peers(ctx)
	if err != nil || p.GetMessagingConnected() {
		t.Fatalf("b's peers while messagingd is down: %v, %v", p, err)
	}
	h.start("b")
	v3 := waitView(t, true, a, b, c)
	p, err = b.c.Peers(ctx)
	if err != nil || !p.GetMessagingConnected() || len(p.GetPeers()) != 2 || !p.GetPeers()[0].GetCounted() ||
		!slices.Equal(p.GetPeers()[0].GetHears(), []string{"a", "b", "c"}) {
		t.Fatalf("b's peers after reconnect: %v, %v", p, err)
	}

	// A restarted daemon starts a new incarnation and never reuses a view number.
	hs, err := c.store.Load()
	if err != nil || hs.Incarnation != 1 || hs.MaxView < v3.GetNumber() {
		t.Fatalf("c's stored hard state %+v, %v (view %d)", hs, err, v3.GetNumber())
	}
	c.stop()
	waitView(t, true, a, b)
	c = startNode(t, h, "c", dirs[2])
	v4 := waitView(t, true, a, b, c)
	if v4.GetNumber() <= v3.GetNumber() {
		t.Fatalf("view number after restart %d <= %d", v4.GetNumber(), v3.GetNumber())
	}
	hs, err = c.store.Load()
	if err != nil || hs.Incarnation != 2 {
		t.Fatalf("c's hard state after restart %+v, %v", hs, err)
	}
}

func TestStoreLockedAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); !errors.Is(err, ErrState) {
		t.Fatalf("second OpenStore of a locked dir: %v", err)
	}
	hs, err := s.Load()
	if err != nil || hs != (membership.HardState{}) {
		t.Fatalf("empty store: %+v, %v", hs, err)
	}
	want := membership.HardState{Incarnation: 3, MaxView: 42}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if hs, err := s.Load(); err != nil || hs != want {
		t.Fatalf("load %+v, %v", hs, err)
	}
	if err := writeFile(s.Path(), "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrState) {
		t.Fatalf("corrupt state accepted: %v", err)
	}
	s.Close()
}
