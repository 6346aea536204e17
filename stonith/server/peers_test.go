package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	"github.com/systole/systole/stonith"
)

// hub is an in-memory messaging layer: per-node ordered inboxes, a
// broadcast reaches every node (the sender included, as messagingd does).
type hub struct {
	mu    sync.Mutex
	nodes map[string]*Server
	inbox map[string]chan [2]string // from, data
}

func newHub() *hub { return &hub{nodes: map[string]*Server{}, inbox: map[string]chan [2]string{}} }

type hubTransport struct {
	h    *hub
	from string
}

func (t hubTransport) Send(_ context.Context, to string, data []byte) error {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	for n, in := range t.h.inbox {
		if to == "" || to == n {
			in <- [2]string{t.from, string(data)}
		}
	}
	return nil
}

// okExec succeeds at once and counts runs per node.
type okExec struct {
	node string
	mu   *sync.Mutex
	runs map[string]int
}

func (e okExec) Exec(_ context.Context, c stonith.Command) stonith.Result {
	e.mu.Lock()
	e.runs[e.node]++
	e.mu.Unlock()
	return stonith.Result{Command: c.ID}
}

// join starts a cluster-wide server named node on the hub and tells every
// node about every other one.
func (h *hub) join(t *testing.T, node string, runs map[string]int, mu *sync.Mutex) *Server {
	t.Helper()
	cfg := stonith.DefaultConfig()
	cfg.Node = node
	cfg.FirstID = FirstID(node, time.Now())
	s, err := New(cfg, nil, okExec{node: node, mu: mu, runs: runs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.EnablePeers(hubTransport{h: h, from: node})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.Run(ctx) }()
	go func() { defer wg.Done(); s.SendLoop(ctx) }()
	in := make(chan [2]string, 1024)
	go func() {
		defer wg.Done()
		for {
			select {
			case m := <-in:
				s.Deliver(ctx, m[0], []byte(m[1]))
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	topo, err := stonith.ParseCIB([]byte(`<cib><configuration><resources>
  <primitive id="d1" class="stonith" type="fence_x"><instance_attributes id="d1-ia">
    <nvpair id="d1-hl" name="pcmk_host_list" value="n1 n2 n3 n4 n5"/>
  </instance_attributes></primitive></resources></configuration></cib>`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTopology(ctx, topo); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.nodes[node] = s
	h.inbox[node] = in
	others := map[string]*Server{}
	for n, o := range h.nodes {
		others[n] = o
	}
	h.mu.Unlock()
	for n, o := range others {
		o.SetPeer(node, true, false)
		s.SetPeer(n, true, false)
	}
	s.AskHistory("") // as FollowMessaging does once subscribed
	return s
}

func eventually(t *testing.T, what string, cond func() bool, show ...func() string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			extra := ""
			for _, f := range show {
				extra += "\n" + f()
			}
			t.Fatalf("timeout waiting for %s%s", what, extra)
		}
	}
}

func histories(t *testing.T, s *Server) string {
	h, err := s.History(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, fmt.Sprintf("%s/%s/%s/%s", e.Target, e.Action, e.State, e.Delegate))
	}
	// Entries ended within the same millisecond have no defined order.
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestCluster: results reach every node, fencing of a node itself runs on
// another member, a joining node gets the history (each entry once), and
// a cleanup on one node clears every node.
func TestCluster(t *testing.T) {
	h := newHub()
	var mu sync.Mutex
	runs := map[string]int{}
	n1 := h.join(t, "n1", runs, &mu)
	n2 := h.join(t, "n2", runs, &mu)
	n3 := h.join(t, "n3", runs, &mu)
	ctx := context.Background()

	e, err := n1.Fence(ctx, stonith.Request{Target: "n3", Action: stonith.ActionReboot, Origin: "n1", Client: "crmd"})
	if err != nil || e.State != stonith.StateDone || e.Delegate != "n1" {
		t.Fatalf("n1 fences n3: %+v %v", e, err)
	}
	want := "n3/reboot/done/n1"
	for _, s := range []*Server{n2, n3} {
		eventually(t, s.Node()+" sees the result", func() bool { return histories(t, s) == want })
	}

	// n1 fencing n1: forwarded to n2, the first other member.
	e, err = n1.Fence(ctx, stonith.Request{Target: "n1", Action: stonith.ActionOff, Origin: "n1", Client: "crmd"})
	if err != nil || e.State != stonith.StateDone || e.Delegate != "n2" || e.Origin != "n1" {
		t.Fatalf("n1 fences n1: %+v %v", e, err)
	}
	mu.Lock()
	if runs["n1"] != 1 || runs["n2"] != 1 {
		t.Errorf("agent runs per node %v", runs)
	}
	mu.Unlock()
	want = "n1/off/done/n2 " + want
	for _, s := range []*Server{n1, n2, n3} {
		eventually(t, s.Node()+" sees both", func() bool { return histories(t, s) == want }, func() string { return histories(t, s) })
	}

	// A node that joins gets the history, each entry once although three
	// peers send it.
	n4 := h.join(t, "n4", runs, &mu)
	eventually(t, "n4 synced", func() bool { return histories(t, n4) == want })
	time.Sleep(50 * time.Millisecond)
	if got := histories(t, n4); got != want {
		t.Fatalf("n4 history %q", got)
	}

	// Events: a subscriber on n4 sees n2's operation.
	ch, cancel, err := n4.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if _, err := n2.Fence(ctx, stonith.Request{Target: "n5", Action: stonith.ActionOff, Origin: "n2", Client: "x"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-ch:
		if e.Target != "n5" || e.Delegate != "n2" {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event on n4")
	}

	// Every node has n5's entry before the cleanup (a result arriving
	// after a cleanup is recorded again: the exchange is eventually
	// consistent, see docs/stonith.md).
	want += " n5/off/done/n2"
	for _, s := range []*Server{n1, n2, n3, n4} {
		eventually(t, s.Node()+" sees n5", func() bool { return histories(t, s) == want })
	}
	if err := n3.CleanupHistory(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Server{n1, n2, n3, n4} {
		eventually(t, s.Node()+" cleaned", func() bool { return histories(t, s) == "" })
	}
}

// TestForwardWithoutPeer: fencing this node with no other member up fails
// with a clear reason.
func TestForwardWithoutPeer(t *testing.T) {
	h := newHub()
	var mu sync.Mutex
	n1 := h.join(t, "n1", map[string]int{}, &mu)
	_, err := n1.Fence(context.Background(), stonith.Request{Target: "n1", Action: stonith.ActionReboot, Client: "crmd"})
	if !errors.Is(err, ErrNoPeer) || !strings.Contains(err.Error(), "cannot fence n1 from n1 itself") {
		t.Fatalf("err %v", err)
	}
}

// TestMessageCodec: every kind round-trips; malformed input is refused.
func TestMessageCodec(t *testing.T) {
	entry := EntryToPB(stonith.Entry{ID: 5, Target: "n1", Action: stonith.ActionOff, State: stonith.StateDone,
		Origin: "n2", Clients: []string{"crmd"}, Delegate: "n3", Devices: []string{"d"}, Requested: time.UnixMilli(1), Completed: time.UnixMilli(2)})
	for _, m := range sampleMessages() {
		b := encodeMsg(m)
		got, err := decodeMsg(b)
		if err != nil {
			t.Fatalf("%d: %v", m.Kind, err)
		}
		if string(encodeMsg(got)) != string(b) {
			t.Errorf("kind %d does not round-trip", m.Kind)
		}
	}
	bad := map[string][]byte{
		"empty":                nil,
		"magic":                []byte("stn2\x08\x01"),
		"no kind":              []byte("stn1"),
		"unknown kind":         []byte("stn1\x08\x63"),
		"result, body missing": []byte("stn1\x08\x01"),
		"repeated kind":        []byte("stn1\x08\x02\x08\x02"),
		"fence without seq":    encodeMsg(message{Kind: kindFence, Fence: requestToPB(stonith.Request{Target: "n1", Action: stonith.ActionOff, Origin: "n2"})}),
		"pending result":       encodeMsg(message{Kind: kindResult, Entry: EntryToPB(stonith.Entry{ID: 1, Target: "n1", Action: stonith.ActionOff})}),
		"bad action":           encodeMsg(message{Kind: kindFence, Seq: 1, Fence: requestToPB(stonith.Request{Target: "n1", Action: "dance", Origin: "n2"})}),
		"trailing junk":        append(encodeMsg(message{Kind: kindResult, Entry: entry}), 0xff),
	}
	for name, b := range bad {
		if _, err := decodeMsg(b); !errors.Is(err, errBadMessage) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func sampleMessages() []message {
	entry := EntryToPB(stonith.Entry{ID: 5, Target: "n1", Action: stonith.ActionOff, State: stonith.StateDone,
		Origin: "n2", Clients: []string{"crmd"}, Delegate: "n3", Devices: []string{"d"}, Requested: time.UnixMilli(1), Completed: time.UnixMilli(2)})
	d := 3 * time.Second
	return []message{
		{Kind: kindResult, Entry: entry},
		{Kind: kindHistoryReq},
		{Kind: kindHistory, History: &stonithv1.HistoryResponse{Entries: nil}},
		{Kind: kindFence, Seq: 9, Fence: requestToPB(stonith.Request{Target: "n1", Action: stonith.ActionReboot, Origin: "n2", Client: "crmd", PriorityDelay: &d})},
		{Kind: kindFenceReply, Seq: 9, Reply: &stonithv1.FenceResponse{Id: 5, Entry: entry}},
		{Kind: kindFenceReply, Seq: 10, Err: "it is the target itself"},
		{Kind: kindCleanup, Cleanup: &stonithv1.HistoryRequest{Target: "n1"}},
	}
}

// TestWatchdogDevice: a configured stonith-watchdog-timeout pets the
// device; turning it off disarms it with the magic close 'V'; a missing
// device gives the unavailable message.
func TestWatchdogDevice(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "watchdog")
	os.WriteFile(dev, nil, 0o600)
	w := &watchdog{path: dev}
	if why := w.configure(400 * time.Millisecond); why != "" {
		t.Fatal(why)
	}
	eventually(t, "petting", func() bool { b, _ := os.ReadFile(dev); return len(b) >= 3 })
	w.configure(0)
	b, _ := os.ReadFile(dev)
	if !strings.HasSuffix(string(b), "V") || strings.Trim(string(b[:len(b)-1]), "1") != "" {
		t.Errorf("device content %q", b)
	}
	w = &watchdog{path: filepath.Join(dir, "none")}
	if why := w.configure(time.Second); why != "watchdog fencing unavailable: "+filepath.Join(dir, "none")+": no such device" {
		t.Errorf("missing device: %q", why)
	}
	if why := w.configure(0); why != "" {
		t.Errorf("after turning it off: %q", why)
	}
}

func TestTouchesConfiguration(t *testing.T) {
	diff := func(paths ...string) []byte {
		s := `<diff format="2"><version><source admin_epoch="0" epoch="1" num_updates="1"/><target admin_epoch="0" epoch="1" num_updates="2"/></version>`
		for _, p := range paths {
			s += `<change operation="delete" path="` + p + `"/>`
		}
		return []byte(s + `</diff>`)
	}
	cases := []struct {
		patch []byte
		want  bool
	}{
		{nil, false},
		{diff("/cib/status/node_state[@id='1']/lrm"), false},
		{diff("/cib/status/node_state[@id='1']", "/cib/configuration/resources/primitive[@id='d']"), true},
		{diff("/cib/configuration/crm_config/cluster_property_set[@id='o']"), true},
		{[]byte("<garbage"), true},
	}
	for i, c := range cases {
		if got := touchesConfiguration(c.patch); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
