package membership

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testNet delivers messages between cores instantly; hears[a][b] says whether b hears a
// (messages from a reach b, and b's liveness says a is up).
type testNet struct {
	t     *testing.T
	names []string
	nodes map[string]*Node
	hs    map[string]HardState
	hears map[string]map[string]bool
	now   time.Time
	views map[string]View
}

func newTestNet(t *testing.T, mod func(*Config), names ...string) *testNet {
	tn := &testNet{t: t, names: names, nodes: map[string]*Node{}, hs: map[string]HardState{},
		hears: map[string]map[string]bool{}, now: t0, views: map[string]View{}}
	for _, a := range names {
		tn.hears[a] = map[string]bool{}
		for _, b := range names {
			tn.hears[a][b] = true
		}
	}
	for _, name := range names {
		tn.start(name, mod)
	}
	return tn
}

func (tn *testNet) start(name string, mod func(*Config)) {
	cfg := DefaultConfig(name, tn.names...)
	cfg.HoldDown = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	n, err := NewNode(cfg, tn.hs[name], nil)
	if err != nil {
		tn.t.Fatal(err)
	}
	tn.nodes[name] = n
	delete(tn.views, name)
	tn.liveness()
}

// liveness pushes the current hearing matrix into every core.
func (tn *testNet) liveness() {
	for _, b := range tn.names {
		n := tn.nodes[b]
		if n == nil {
			continue
		}
		for _, a := range tn.names {
			if a != b {
				up := tn.hears[a][b] && tn.nodes[a] != nil
				if err := n.PeerStatus(tn.now, a, up); err != nil {
					tn.t.Fatal(err)
				}
			}
		}
	}
}

func (tn *testNet) drain() {
	for busy := true; busy; {
		busy = false
		for _, from := range tn.names {
			n := tn.nodes[from]
			if n == nil || !n.HasReady() {
				continue
			}
			busy = true
			rd := n.Ready()
			if rd.HardState != nil {
				tn.hs[from] = *rd.HardState
			}
			if rd.View != nil {
				if old, ok := tn.views[from]; ok && rd.View.Number <= old.Number {
					tn.t.Fatalf("%s: view number %d after %d", from, rd.View.Number, old.Number)
				}
				tn.views[from] = *rd.View
			}
			for _, m := range rd.Messages {
				for _, to := range tn.names {
					if to == from || (m.To != "" && m.To != to) || !tn.hears[from][to] || tn.nodes[to] == nil {
						continue
					}
					if err := tn.nodes[to].Step(tn.now, from, m.Payload); err != nil {
						tn.t.Fatalf("%s: step from %s: %v", to, from, err)
					}
				}
			}
		}
	}
}

// run advances time by d in 100ms ticks.
func (tn *testNet) run(d time.Duration) {
	for end := tn.now.Add(d); tn.now.Before(end); {
		tn.now = tn.now.Add(100 * time.Millisecond)
		tn.liveness()
		for _, name := range tn.names {
			if n := tn.nodes[name]; n != nil {
				n.Tick(tn.now)
			}
		}
		tn.drain()
	}
}

func (tn *testNet) cut(a, b string) { tn.hears[a][b] = false }

func (tn *testNet) members(name string) []string { return tn.nodes[name].View().Members }

func TestThreeNodesAgree(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c")
	tn.run(5 * time.Second)
	for _, name := range tn.names {
		v := tn.nodes[name].View()
		if !slices.Equal(v.Members, []string{"a", "b", "c"}) || !v.Quorum || v.Coordinator != "a" {
			t.Fatalf("%s: %v", name, v)
		}
	}
	num := tn.nodes["a"].View().Number
	tn.cut("c", "a")
	tn.cut("c", "b")
	tn.cut("a", "c")
	tn.cut("b", "c")
	tn.run(5 * time.Second)
	if got := tn.members("a"); !slices.Equal(got, []string{"a", "b"}) || !tn.nodes["a"].View().Quorum {
		t.Fatalf("a after isolating c: %v", tn.nodes["a"].View())
	}
	if v := tn.nodes["c"].View(); !slices.Equal(v.Members, []string{"c"}) || v.Quorum {
		t.Fatalf("c isolated: %v", v)
	}
	if tn.nodes["a"].View().Number <= num {
		t.Fatal("view number did not grow")
	}
}

func TestAsymmetricLinkSplits(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c", "d")
	tn.run(5 * time.Second)
	tn.cut("a", "b") // b no longer hears a; a still hears b
	tn.run(10 * time.Second)
	for _, name := range tn.names {
		m := tn.members(name)
		if slices.Contains(m, "a") && slices.Contains(m, "b") {
			t.Fatalf("%s holds a and b together: %v", name, m)
		}
	}
	if got := tn.members("c"); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("c: %v, want the tie-break to pick [a c d]", got)
	}
	if got := tn.members("b"); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("b: %v", got)
	}
}

func TestHoldDown(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c")
	tn.run(5 * time.Second)
	tn.cut("c", "a")
	tn.cut("a", "c")
	tn.run(3 * time.Second)
	if slices.Contains(tn.members("a"), "c") {
		t.Fatal("c still in a's view")
	}
	tn.hears["c"]["a"], tn.hears["a"]["c"] = true, true
	tn.run(1 * time.Second) // less than HoldDown (2s)
	if p := tn.nodes["a"].Peers()[1]; p.Name != "c" || !p.Up || p.Counted || p.HoldDown != 2*time.Second || !p.HasReport {
		t.Fatalf("a's view of c during hold-down: %+v", p)
	}
	if slices.Contains(tn.members("a"), "c") {
		t.Fatal("c came back before its hold-down")
	}
	tn.run(3 * time.Second)
	if !slices.Contains(tn.members("a"), "c") {
		t.Fatalf("c not back after its hold-down: %v", tn.members("a"))
	}
}

func TestTwoNodeWaitForAll(t *testing.T) {
	two := func(c *Config) { c.TwoNode = true }
	tn := newTestNet(t, two, "a", "b")
	tn.cut("a", "b")
	tn.cut("b", "a")
	tn.run(5 * time.Second)
	for _, name := range tn.names {
		if v := tn.nodes[name].View(); len(v.Members) != 1 || v.Quorum {
			t.Fatalf("%s started alone but has %v", name, v)
		}
	}
	tn.hears["a"]["b"], tn.hears["b"]["a"] = true, true
	tn.run(5 * time.Second)
	if v := tn.nodes["a"].View(); len(v.Members) != 2 || !v.Quorum {
		t.Fatalf("a: %v", v)
	}
	tn.cut("a", "b")
	tn.cut("b", "a")
	tn.run(5 * time.Second)
	for _, name := range tn.names {
		if v := tn.nodes[name].View(); len(v.Members) != 1 || !v.Quorum {
			t.Fatalf("%s after seeing both once: %v, want quorum alone", name, v)
		}
	}
}

func TestRestartKeepsNumbersGrowing(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c")
	tn.run(5 * time.Second)
	old := tn.nodes["a"].View().Number
	inc := tn.hs["a"].Incarnation
	tn.nodes["a"] = nil
	tn.run(5 * time.Second)
	tn.start("a", nil)
	tn.run(10 * time.Second)
	v := tn.nodes["a"].View()
	if v.Number <= old || len(v.Members) != 3 {
		t.Fatalf("after restart a has %v (before: %d)", v, old)
	}
	if tn.hs["a"].Incarnation != inc+1 {
		t.Fatalf("incarnation %d, want %d", tn.hs["a"].Incarnation, inc+1)
	}
}

func TestStepRejects(t *testing.T) {
	cfg := DefaultConfig("a", "a", "b", "c")
	n, err := NewNode(cfg, HardState{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewNode(DefaultConfig("b", "a", "b", "x"), HardState{}, nil)
	peer, _ := NewNode(DefaultConfig("b", "a", "b", "c"), HardState{}, nil)
	peer.Tick(t0)
	state := peer.Ready().Messages[0].Payload
	other.Tick(t0)
	foreign := other.Ready().Messages[0].Payload
	for _, tc := range []struct {
		name    string
		from    string
		payload []byte
		want    error
	}{
		{"garbage", "b", []byte("hello"), ErrMalformed},
		{"unknown sender", "zz", state, ErrUnknownNode},
		{"spoofed sender", "c", state, ErrUnknownNode},
		{"other cluster", "b", foreign, ErrFingerprint},
		{"member outside config", "b", (&Message{Type: MsgPropose, Fingerprint: n.fp, From: 1, Number: 5, Members: 1 << 9}).Encode(nil), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := n.View()
			if err := n.Step(t0, tc.from, tc.payload); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !n.View().Equal(before) || len(n.Ready().Messages) != 0 {
				t.Fatal("a rejected message changed state")
			}
		})
	}
	if err := n.Step(t0, "b", state); err != nil {
		t.Fatalf("valid state: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig("a", "a", "b")
	many := DefaultConfig("n0")
	for i := range MaxNodes + 1 {
		many.Nodes = append(many.Nodes, NodeConfig{Name: string(rune('A'+i/26)) + string(rune('a'+i%26))})
	}
	many.Nodes[0].Name = "n0"
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		cfg  *Config
		want error
	}{
		{name: "default", want: nil},
		{name: "no nodes", mod: func(c *Config) { c.Nodes = nil }, want: ErrInvalidConfig},
		{name: "duplicate", mod: func(c *Config) { c.Nodes = append(c.Nodes, NodeConfig{Name: "a"}) }, want: ErrInvalidConfig},
		{name: "self missing", mod: func(c *Config) { c.Name = "z" }, want: ErrInvalidConfig},
		{name: "negative votes", mod: func(c *Config) { c.Nodes[0].Votes = -1 }, want: ErrInvalidConfig},
		{name: "two-node with three", mod: func(c *Config) { c.TwoNode = true; c.Nodes = append(c.Nodes, NodeConfig{Name: "c"}) }, want: ErrInvalidConfig},
		{name: "two-node weighted", mod: func(c *Config) { c.TwoNode = true; c.Nodes[0].Votes = 2 }, want: ErrInvalidConfig},
		{name: "two-node", mod: func(c *Config) { c.TwoNode = true }, want: nil},
		{name: "zero report interval", mod: func(c *Config) { c.ReportInterval = 0 }, want: ErrInvalidConfig},
		{name: "too many", cfg: &many, want: ErrTooManyNodes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Nodes = slices.Clone(ok.Nodes)
			if tc.cfg != nil {
				c = *tc.cfg
			}
			if tc.mod != nil {
				tc.mod(&c)
			}
			if err := c.Validate(); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFlapDamping(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c")
	tn.run(3 * time.Second)
	hold := func() time.Duration { return tn.nodes["a"].Peers()[1].HoldDown }
	flap := func() {
		tn.cut("c", "a")
		tn.cut("a", "c")
		tn.run(time.Second)
		tn.hears["c"]["a"], tn.hears["a"]["c"] = true, true
	}
	flap() // c was never down before: the first down is not a flap
	if hold() != 2*time.Second {
		t.Fatalf("hold-down %v after the first outage", hold())
	}
	tn.run(3 * time.Second) // counted up again after 2s
	for i, want := range []time.Duration{4, 8, 16, 16} {
		flap() // down again soon after coming back
		if got := hold(); got != want*time.Second {
			t.Fatalf("flap %d: hold-down %v, want %v", i+1, got, want*time.Second)
		}
		tn.run(want*time.Second + 200*time.Millisecond)
		if !tn.nodes["a"].Peers()[1].Counted {
			t.Fatalf("flap %d: c not counted after its hold-down", i+1)
		}
	}
	tn.run(70 * time.Second) // stable for four hold-downs: damping resets
	if hold() != 2*time.Second {
		t.Fatalf("hold-down %v after a stable minute, want 2s", hold())
	}
}

// TestLostHardState: a node restarted without its hard state (wiped disk) learns its old
// incarnation from its peers' relayed reports, moves past it and rejoins.
func TestLostHardState(t *testing.T) {
	tn := newTestNet(t, nil, "a", "b", "c")
	tn.run(5 * time.Second)
	for range 3 { // a few restarts push c's incarnation up
		tn.nodes["c"] = nil
		tn.run(3 * time.Second)
		tn.start("c", nil)
		tn.run(5 * time.Second)
	}
	old := tn.hs["c"].Incarnation
	tn.nodes["c"] = nil
	tn.run(3 * time.Second)
	tn.hs["c"] = HardState{}
	tn.start("c", nil)
	tn.run(10 * time.Second)
	if got := tn.hs["c"].Incarnation; got <= old {
		t.Fatalf("incarnation %d after losing hard state, want above %d", got, old)
	}
	if m := tn.members("c"); len(m) != 3 {
		t.Fatalf("c did not rejoin: %v", tn.nodes["c"].View())
	}
}
