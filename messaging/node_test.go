package messaging

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func twoNodes(t *testing.T, media []Medium) *simNet {
	t.Helper()
	s := newSimNet(t, 42, 2, media)
	for i := range s.nodes {
		s.start(i)
	}
	s.run(s.now.Add(500 * time.Millisecond))
	return s
}

func TestLargeMessageFragmented(t *testing.T) {
	s := twoNodes(t, []Medium{{Name: "a"}})
	s.loss, s.dup, s.maxDelay = 0.05, 0.05, 3*time.Millisecond
	s.send(0, "n2", 16<<20)
	s.send(0, "", 100)
	s.run(s.now.Add(20 * time.Second))
	s.check()
	k := pairKey{from: "n1", to: "n2", fromInc: 1, toInc: 1}
	if got := s.delivered[k]; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("delivered %v, want [1 2]", got)
	}
	st := s.nodes[0].node.Stats()
	if st.Retransmits == 0 || st.FlowBlocked == 0 {
		t.Fatalf("expected retransmits and flow control under loss: %+v", st)
	}
}

func TestDeadWithinDeadtime(t *testing.T) {
	s := twoNodes(t, []Medium{{Name: "a"}, {Name: "b"}})
	cfg := s.nodes[1].node.Config()
	if v := s.nodes[1].view["n1"]; !v.up {
		t.Fatalf("n2 does not see n1 up: %+v", v)
	}
	killed := s.now
	s.crash(0)
	for s.nodes[1].view["n1"].up {
		s.run(s.now.Add(time.Millisecond))
		if s.now.Sub(killed) > 2*cfg.Deadtime {
			t.Fatal("n1 never declared dead")
		}
	}
	if d := s.now.Sub(killed); d > cfg.Deadtime+cfg.Keepalive {
		t.Fatalf("declared dead after %v, want <= deadtime+keepalive %v", d, cfg.Deadtime+cfg.Keepalive)
	}
}

func TestLinkDownNodeUp(t *testing.T) {
	s := twoNodes(t, []Medium{{Name: "udp"}, {Name: "serial", Slow: true}})
	s.cutMed = map[int]bool{0: true}
	s.run(s.now.Add(time.Second))
	for _, ps := range s.nodes[1].node.Peers() {
		if ps.State != PeerUp || ps.Links[0] || !ps.Links[1] {
			t.Fatalf("want peer up, udp link down, serial link up; have %+v", ps)
		}
	}
	// Messages now flow over the slow medium.
	s.send(0, "", 5000)
	s.run(s.now.Add(time.Second))
	if got := s.delivered[pairKey{from: "n1", to: "n2", fromInc: 1, toInc: 1}]; len(got) != 1 {
		t.Fatalf("message over serial not delivered: %v", got)
	}
}

func TestInitdead(t *testing.T) {
	s := newSimNet(t, 1, 3, []Medium{{Name: "a"}})
	s.start(0)
	s.start(1)
	s.run(s.now.Add(900 * time.Millisecond))
	if v, ok := s.nodes[0].view["n3"]; ok {
		t.Fatalf("n3 reported %+v before initdead", v)
	}
	s.run(s.now.Add(200 * time.Millisecond))
	if _, ok := s.nodes[0].view["n3"]; !ok || s.nodes[0].view["n3"].up {
		t.Fatalf("n3 not reported dead after initdead: %+v", s.nodes[0].view)
	}
}

func TestIrretrievablyLost(t *testing.T) {
	s := newSimNet(t, 3, 2, []Medium{{Name: "a"}})
	s.cfgMod = func(c *Config) { c.History, c.Window = 32, 16 }
	s.start(0)
	s.start(1)
	s.run(s.now.Add(500 * time.Millisecond))
	s.send(0, "", 10)
	s.run(s.now.Add(100 * time.Millisecond))
	// Make n2 miss everything for a while but keep it alive in n1's eyes
	// long enough to be excluded: cut only n1->n2.
	s.cut[[2]int{0, 1}] = true
	s.run(s.now.Add(time.Second)) // n2 sees n1 dead; n1 sees n2 up
	s.cut = map[[2]int]bool{{1, 0}: true}
	s.run(s.now.Add(time.Second)) // now n1 sees n2 dead: excluded from flow control
	for range 100 {
		s.send(0, "", 10)
	}
	s.heal()
	s.run(s.now.Add(2 * time.Second))
	k := pairKey{from: "n1", to: "n2", fromInc: 1, toInc: 1}
	if !s.lost[k] {
		t.Fatalf("no lost event; stats n1 %+v n2 %+v", s.nodes[0].node.Stats(), s.nodes[1].node.Stats())
	}
	s.check()
	// Later messages flow again.
	s.send(0, "", 10)
	s.run(s.now.Add(time.Second))
	got := s.delivered[k]
	if got[len(got)-1] != 102 {
		t.Fatalf("last delivered %d, want 102", got[len(got)-1])
	}
}

// pair returns two started nodes wired by hand, and the first heartbeat of a.
func pair(t *testing.T, keysB *Keys, modB func(*Config)) (a, b *Node) {
	t.Helper()
	mk := func(name string, keys *Keys, mod func(*Config)) *Node {
		c := DefaultConfig()
		c.Node, c.Nodes, c.Generation, c.Media = name, []string{"a", "b"}, 5, []Medium{{Name: "m"}}
		if mod != nil {
			mod(&c)
		}
		n, err := NewNode(c, keys, rand.New(rand.NewPCG(1, 2)), simEpoch)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return mk("a", testKeys(), nil), mk("b", keysB, modB)
}

func TestBadPacketsDroppedAndCounted(t *testing.T) {
	a, b := pair(t, testKeys(), nil)
	a.Tick(simEpoch)
	hb := a.Ready().Packets[0].Data
	now := simEpoch.Add(time.Millisecond)
	if err := b.Step(hb, 0, now); err != nil {
		t.Fatalf("valid heartbeat: %v", err)
	}
	b.Ready()
	cases := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"replay", hb, nil}, // same packet again: duplicate, not an error
		{"truncated", hb[:10], ErrTruncated},
		{"truncated mac", hb[:len(hb)-1], ErrBadAuth},
		{"flipped bit", flip(hb, len(hb)-5), ErrBadAuth},
		{"empty", nil, ErrTruncated},
		{"garbage", bytes.Repeat([]byte{0xff}, 100), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := b.Step(c.pkt, 0, now)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
	// foreign cluster and wrong key
	other := &Keys{Active: 1, ByID: map[uint8]Key{1: {ID: 1, Method: MethodSHA256, Secret: []byte("wrong")}}}
	c, _ := newCodec("systole", other, false)
	forged := c.encode(&packet{Type: typeHeartbeat, Src: "a", Gen: 9, Pktno: 1, NextSeq: 1})
	if err := b.Step(forged, 0, now); !errors.Is(err, ErrBadAuth) {
		t.Fatalf("forged: %v", err)
	}
	c2, _ := newCodec("elsewhere", testKeys(), false)
	if err := b.Step(c2.encode(&packet{Type: typeHeartbeat, Src: "a", Gen: 9, Pktno: 1, NextSeq: 1}), 0, now); !errors.Is(err, ErrForeignCluster) {
		t.Fatalf("foreign: %v", err)
	}
	c3, _ := newCodec("systole", testKeys(), false)
	if err := b.Step(c3.encode(&packet{Type: typeHeartbeat, Src: "a", Gen: 4, Pktno: 100, NextSeq: 1}), 0, now); !errors.Is(err, ErrReplay) {
		t.Fatalf("old generation: %v", err)
	}
	if err := b.Step(c3.encode(&packet{Type: typeHeartbeat, Src: "zz", Gen: 4, Pktno: 100, NextSeq: 1}), 0, now); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("unknown node: %v", err)
	}
	st := b.Stats()
	if st.Duplicates != 1 || st.Truncated != 2 || st.BadAuth != 3 || st.Malformed != 1 || st.ForeignCluster != 1 || st.Replays != 1 || st.UnknownNode != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestWrongKeyNeverAccepted(t *testing.T) {
	bad := &Keys{Active: 1, ByID: map[uint8]Key{1: {ID: 1, Method: MethodSHA256, Secret: []byte("nope")}}}
	a, b := pair(t, bad, nil)
	now := simEpoch
	for range 50 {
		now = now.Add(100 * time.Millisecond)
		a.Tick(now)
		b.Tick(now)
		for _, p := range b.Ready().Packets {
			_ = a.Step(p.Data, 0, now)
		}
		for _, p := range a.Ready().Packets {
			_ = b.Step(p.Data, 0, now)
		}
		for _, e := range a.Ready().Peers {
			if e.State == PeerUp {
				t.Fatalf("peer with wrong key accepted: %+v", e)
			}
		}
	}
	if a.Stats().BadAuth == 0 {
		t.Fatal("bad auth not counted")
	}
}

func TestEncryptionAndKeyRollover(t *testing.T) {
	// b signs with key 2 (md5) and knows key 1; a knows both.
	both := func(active uint8) *Keys {
		return &Keys{Active: active, ByID: map[uint8]Key{
			1: {ID: 1, Method: MethodSHA256, Secret: []byte("sim-secret")},
			2: {ID: 2, Method: MethodMD5, Secret: []byte("legacy")},
		}}
	}
	enc := func(c *Config) { c.Encrypt = true }
	for _, encrypt := range []bool{false, true} {
		mod := func(c *Config) {}
		if encrypt {
			mod = enc
		}
		ca := DefaultConfig()
		ca.Node, ca.Nodes, ca.Generation, ca.Media, ca.Encrypt = "a", []string{"a", "b"}, 1, []Medium{{Name: "m"}}, encrypt
		a, _ := NewNode(ca, both(1), rand.New(rand.NewPCG(1, 1)), simEpoch)
		_, b := pair(t, both(2), mod)
		if err := b.Send("a", "ch", []byte("secret payload"), simEpoch); err != nil {
			t.Fatal(err)
		}
		b.Tick(simEpoch)
		var got []Message
		for _, p := range b.Ready().Packets {
			if encrypt && bytes.Contains(p.Data, []byte("secret payload")) {
				t.Fatal("payload in clear with encryption on")
			}
			if err := a.Step(p.Data, 0, simEpoch); err != nil {
				t.Fatalf("encrypt=%v: %v", encrypt, err)
			}
			got = append(got, a.Ready().Messages...)
		}
		_ = got // b's first data packet opens the stream, so the message arrives
		if len(got) != 1 || string(got[0].Payload) != "secret payload" {
			t.Fatalf("encrypt=%v: got %+v", encrypt, got)
		}
	}
}

func TestSendErrors(t *testing.T) {
	a, _ := pair(t, testKeys(), func(c *Config) {})
	if err := a.Send("nobody", "x", nil, simEpoch); !errors.Is(err, ErrBadDest) {
		t.Fatal(err)
	}
	if err := a.Send("", "", nil, simEpoch); !errors.Is(err, ErrBadChannel) {
		t.Fatal(err)
	}
	if err := a.Send("", "x", make([]byte, a.Config().MaxMessage+1), simEpoch); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	// b never acks, but it is not up either: no flow control applies, so
	// the queue drains; a local copy is delivered at once.
	if err := a.Send("", "x", []byte("hi"), simEpoch); err != nil {
		t.Fatal(err)
	}
	if m := a.Ready().Messages; len(m) != 1 || m[0].From != "a" {
		t.Fatalf("local delivery: %+v", m)
	}
}

func TestHeartbeatFitsMaxPacket(t *testing.T) {
	// 60 nodes with 200-byte names: the acks cannot fit one packet.
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("%0200d", i))
	}
	mk := func(self string) *Node {
		c := DefaultConfig()
		c.Node, c.Nodes, c.Generation, c.Media = self, names, 1, []Medium{{Name: "m"}}
		n, err := NewNode(c, testKeys(), rand.New(rand.NewPCG(1, 2)), simEpoch)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	nodes := make([]*Node, len(names))
	for i := range names {
		nodes[i] = mk(names[i])
	}
	for step := range 3 {
		now := simEpoch.Add(time.Duration(step) * 100 * time.Millisecond)
		var pkts [][]byte
		for _, n := range nodes {
			n.Tick(now)
			for _, p := range n.Ready().Packets {
				if len(p.Data) > 1400 {
					t.Fatalf("packet of %d bytes", len(p.Data))
				}
				pkts = append(pkts, p.Data)
			}
		}
		for _, n := range nodes {
			for _, p := range pkts {
				_ = n.Step(p, 0, now)
			}
			n.Ready()
		}
	}
	// Everybody acked everybody: each node is joined in every other's view.
	for _, n := range nodes[1:] {
		if !nodes[0].peers[n.cfg.Node].joined {
			t.Fatalf("no ack from %.8s...", n.cfg.Node)
		}
	}
}

// TestOneWayFailureDoesNotStall: n3 no longer hears n1 but n1 still hears
// n3 (so n3 stays up for n1). n1's flow control must not wait for n3's
// acks forever: n2 keeps receiving.
func TestOneWayFailureDoesNotStall(t *testing.T) {
	s := newSimNet(t, 5, 3, []Medium{{Name: "a"}})
	for i := range s.nodes {
		s.start(i)
	}
	s.run(s.now.Add(500 * time.Millisecond))
	s.cut[[2]int{0, 2}] = true
	for range 2000 {
		s.send(0, "", 600)
	}
	s.run(s.now.Add(5 * time.Second))
	got := s.delivered[pairKey{from: "n1", to: "n2", fromInc: 1, toInc: 1}]
	if len(got) != 2000 {
		t.Fatalf("n2 received %d of 2000 messages", len(got))
	}
	if v := s.nodes[0].view["n3"]; !v.up {
		t.Fatal("n3 should still be up for n1")
	}
	s.check()
}

// TestReplayDoesNotKeepPeerAlive: a heartbeat captured while its sender was
// up and replayed over and over (on the medium that carried it) must not
// keep the sender up once it is gone, while the same packet arriving first
// over a second medium still brings that medium's link up.
func TestReplayDoesNotKeepPeerAlive(t *testing.T) {
	two := func(c *Config) { c.Media = []Medium{{Name: "m"}, {Name: "m2"}} }
	a, b := pair(t, testKeys(), two)
	cfg := b.Config()
	a.Tick(simEpoch)
	var hb []byte
	for _, p := range a.Ready().Packets {
		if p.Medium == 0 {
			hb = p.Data
		}
	}
	now := simEpoch.Add(time.Millisecond)
	if err := b.Step(hb, 0, now); err != nil {
		t.Fatalf("valid heartbeat: %v", err)
	}
	// The same packet over the second medium: a duplicate that still
	// brings that link up.
	if err := b.Step(hb, 1, now); err != nil {
		t.Fatalf("duplicate on medium 1: %v", err)
	}
	if ps := b.Peers()[0]; ps.State != PeerUp || !ps.Links[0] || !ps.Links[1] {
		t.Fatalf("after the first heartbeat on both media: %+v", ps)
	}
	// a is gone; an attacker replays its heartbeat every keepalive on
	// both media.
	start := now
	for now.Sub(start) < 3*cfg.Deadtime {
		now = now.Add(cfg.Keepalive)
		for m := range 2 {
			if err := b.Step(hb, m, now); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		b.Tick(now)
		b.Ready()
	}
	if ps := b.Peers()[0]; ps.State != PeerDead || ps.Links[0] || ps.Links[1] {
		t.Fatalf("a replayed heartbeat kept a dead peer up: %+v", ps)
	}
	if st := b.Stats(); st.Duplicates < 2*uint64(3*cfg.Deadtime/cfg.Keepalive) {
		t.Fatalf("replays not counted as duplicates: %+v", st)
	}
}
