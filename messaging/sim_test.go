package messaging

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The simulator runs several Nodes in one goroutine over a virtual clock
// and a lossy network (loss, duplication, reordering by random delay,
// partitions, crashes) driven by one seeded random source, so a failing
// seed replays exactly.

var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type simEvent struct {
	at     time.Time
	order  uint64
	to     int
	medium int
	data   []byte
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].order < q[j].order
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type simNode struct {
	name  string
	node  *Node // nil while crashed
	gen   uint64
	inc   int // incarnation number, grows at restart
	sent  int // app message counter of this incarnation
	view  map[string]simView
	since time.Time // incarnation start
	next  time.Time // cached NextDeadline, refreshed in drain
}

// simView is a node's view of a peer: up or not, for which incarnation,
// since when.
type simView struct {
	up    bool
	gen   uint64
	since time.Time
}

type sentMsg struct {
	at   time.Time
	id   int
	dest string
}

type pairKey struct {
	from, to       string
	fromInc, toInc int
}

type simNet struct {
	t        testing.TB
	seed     uint64
	rng      *rand.Rand
	now      time.Time
	nodes    []*simNode
	byName   map[string]int
	media    []Medium
	q        simQueue
	order    uint64
	loss     float64
	dup      float64
	maxDelay time.Duration
	cut      map[[2]int]bool // directed i->j cut
	cutMed   map[int]bool    // media whose packets are all dropped
	keys     *Keys
	cfgMod   func(*Config)
	trace    *strings.Builder // scenario scripts: event trace

	sent      map[pairKey][]sentMsg // what from-incarnation sent, per receiver incarnation at send time... filled at check
	senderLog map[string][]sentMsg  // by "name/inc"
	delivered map[pairKey][]int
	lost      map[pairKey]bool
	deadSeen  map[pairKey]bool
}

func testKeys() *Keys {
	return &Keys{Active: 1, ByID: map[uint8]Key{1: {ID: 1, Method: MethodSHA256, Secret: []byte("sim-secret")}}}
}

func newSimNet(t testing.TB, seed uint64, n int, media []Medium) *simNet {
	s := &simNet{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: simEpoch,
		byName: map[string]int{}, media: media, cut: map[[2]int]bool{}, keys: testKeys(),
		maxDelay: 2 * time.Millisecond, senderLog: map[string][]sentMsg{}, delivered: map[pairKey][]int{},
		lost: map[pairKey]bool{}, deadSeen: map[pairKey]bool{}}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		s.byName[name] = i
		s.nodes = append(s.nodes, &simNode{name: name})
	}
	return s
}

func (s *simNet) names() []string {
	var out []string
	for _, n := range s.nodes {
		out = append(out, n.name)
	}
	return out
}

func (s *simNet) start(i int) {
	sn := s.nodes[i]
	cfg := DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Nodes, cfg.Media = "sim", sn.name, s.names(), s.media
	sn.gen++
	sn.inc++
	sn.sent = 0
	cfg.Generation = sn.gen
	cfg.Initdead = time.Second
	if s.cfgMod != nil {
		s.cfgMod(&cfg)
	}
	nd, err := NewNode(cfg, s.keys, rand.New(rand.NewPCG(s.seed, uint64(i)<<32|sn.gen)), s.now)
	if err != nil {
		s.t.Fatalf("seed %d: %v", s.seed, err)
	}
	sn.node, sn.view, sn.since, sn.next = nd, map[string]simView{}, s.now, nd.NextDeadline()
}

func (s *simNet) crash(i int) { s.nodes[i].node = nil }

func (s *simNet) partition(groups ...[]int) {
	s.cut = map[[2]int]bool{}
	grp := map[int]int{}
	for g, members := range groups {
		for _, m := range members {
			grp[m] = g
		}
	}
	for i := range s.nodes {
		for j := range s.nodes {
			if i != j && grp[i] != grp[j] {
				s.cut[[2]int{i, j}] = true
			}
		}
	}
}

func (s *simNet) heal() { s.cut = map[[2]int]bool{} }

func (s *simNet) send(i int, dest string, size int) {
	sn := s.nodes[i]
	if sn.node == nil {
		return
	}
	payload := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(payload, uint64(sn.sent+1))
	for k := 8; k < len(payload); k++ {
		payload[k] = byte(k * 7)
	}
	if err := sn.node.Send(dest, "test", payload, s.now); err != nil {
		if err == ErrQueueFull {
			return
		}
		s.t.Fatalf("seed %d: send: %v", s.seed, err)
	}
	sn.sent++
	key := fmt.Sprintf("%s/%d", sn.name, sn.inc)
	s.senderLog[key] = append(s.senderLog[key], sentMsg{at: s.now, id: sn.sent, dest: dest})
	s.drain(i)
}

func (s *simNet) drain(i int) {
	sn := s.nodes[i]
	rd := sn.node.Ready()
	sn.next = sn.node.NextDeadline()
	s.traceReady(sn, rd)
	for _, p := range rd.Packets {
		for j, other := range s.nodes {
			if j == i || other.node == nil || s.cut[[2]int{i, j}] || s.cutMed[p.Medium] {
				continue
			}
			copies := 1
			if s.rng.Float64() < s.dup {
				copies = 2
			}
			for range copies {
				if s.rng.Float64() < s.loss {
					continue
				}
				d := time.Duration(s.rng.Int64N(int64(s.maxDelay))) + time.Microsecond
				s.order++
				heap.Push(&s.q, simEvent{at: s.now.Add(d), order: s.order, to: j, medium: p.Medium, data: p.Data})
			}
		}
	}
	for _, m := range rd.Messages {
		if m.From == sn.name || m.Channel != "test" {
			continue
		}
		from := s.nodes[s.byName[m.From]]
		fromInc := s.incOf(m.From, m.Generation)
		k := pairKey{from: m.From, to: sn.name, fromInc: fromInc, toInc: sn.inc}
		id := int(binary.BigEndian.Uint64(m.Payload))
		for x := 8; x < len(m.Payload); x++ {
			if m.Payload[x] != byte(x*7) {
				s.t.Fatalf("seed %d: %v: corrupt payload of message %d at byte %d", s.seed, k, id, x)
			}
		}
		if m.Dest != "" && m.Dest != sn.name {
			s.t.Fatalf("seed %d: %v: message %d for %q delivered", s.seed, k, id, m.Dest)
		}
		_ = from
		s.delivered[k] = append(s.delivered[k], id)
	}
	for _, e := range rd.Peers {
		k := pairKey{from: e.Node, to: sn.name, toInc: sn.inc}
		v := sn.view[e.Node]
		switch e.State {
		case PeerUp:
			if !v.up || v.gen != e.Generation || e.Restarted {
				sn.view[e.Node] = simView{up: true, gen: e.Generation, since: s.now}
			}
		default:
			if v.up {
				s.deadSeen[k] = true
			}
			sn.view[e.Node] = simView{gen: e.Generation, since: s.now}
		}
	}
	for _, l := range rd.Lost {
		s.lost[pairKey{from: l.From, to: sn.name, fromInc: s.incOf(l.From, l.Generation), toInc: sn.inc}] = true
	}
}

// incOf maps a generation to an incarnation: in the simulator they are equal.
func (s *simNet) incOf(_ string, gen uint64) int { return int(gen) }

// run advances the simulation to until, calling Tick at each node's
// deadline and delivering packets in time order.
func (s *simNet) run(until time.Time) {
	for {
		next := until
		if len(s.q) > 0 && s.q[0].at.Before(next) {
			next = s.q[0].at
		}
		for _, n := range s.nodes {
			if n.node != nil && n.next.Before(next) {
				next = n.next
			}
		}
		if !next.After(s.now) {
			next = s.now.Add(50 * time.Microsecond)
		}
		if next.After(until) {
			s.now = until
			return
		}
		s.now = next
		for len(s.q) > 0 && !s.q[0].at.After(s.now) {
			e := heap.Pop(&s.q).(simEvent)
			if n := s.nodes[e.to]; n.node != nil {
				_ = n.node.Step(e.data, e.medium, s.now)
				s.drain(e.to)
			}
		}
		for i, n := range s.nodes {
			if n.node != nil && !n.next.After(s.now) {
				n.node.Tick(s.now)
				s.drain(i)
			}
		}
	}
}

// check verifies per-sender in-order exactly-once delivery and, for pairs
// that have seen each other up continuously since time U, delivery of
// every message sent at or after U.
func (s *simNet) check() {
	for k, ids := range s.delivered {
		for x := 1; x < len(ids); x++ {
			if ids[x] <= ids[x-1] {
				s.t.Fatalf("seed %d: %v: delivery out of order or duplicated: %d after %d", s.seed, k, ids[x], ids[x-1])
			}
		}
	}
	for _, from := range s.nodes {
		for _, to := range s.nodes {
			if from == to || from.node == nil || to.node == nil {
				continue
			}
			vf, vt := from.view[to.name], to.view[from.name]
			if !vf.up || !vt.up || vf.gen != to.gen || vt.gen != from.gen {
				continue
			}
			u := vf.since
			if vt.since.After(u) {
				u = vt.since
			}
			k := pairKey{from: from.name, to: to.name, fromInc: from.inc, toInc: to.inc}
			got := map[int]bool{}
			for _, id := range s.delivered[k] {
				got[id] = true
			}
			for _, m := range s.senderLog[fmt.Sprintf("%s/%d", from.name, from.inc)] {
				if m.at.Before(u) || (m.dest != "" && m.dest != to.name) {
					continue
				}
				if !got[m.id] {
					s.t.Fatalf("seed %d: %v: message %d sent at +%v after mutual up at +%v never delivered (lost reported: %v)",
						s.seed, k, m.id, m.at.Sub(simEpoch), u.Sub(simEpoch), s.lost[k])
				}
			}
		}
	}
}

func simRuns(t *testing.T, def int) int {
	if v := os.Getenv("SYSTOLE_SIM_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	if testing.Short() {
		return def / 10
	}
	return def
}

func simSeed(i int) uint64 {
	if v := os.Getenv("SYSTOLE_SIM_SEED"); v != "" {
		n, _ := strconv.ParseUint(v, 10, 64)
		return n
	}
	return uint64(i) + 1
}

// runScenario is one seeded random fault schedule.
func runScenario(t testing.TB, seed uint64) *simNet {
	rng := rand.New(rand.NewPCG(seed, 7))
	return runScenarioN(t, seed, rng, 2+rng.IntN(3))
}

func runScenarioN(t testing.TB, seed uint64, rng *rand.Rand, nodes int) *simNet {
	media := []Medium{{Name: "a"}, {Name: "b"}}
	s := newSimNet(t, seed, nodes, media)
	s.loss = rng.Float64() * 0.30
	s.dup = rng.Float64() * 0.2
	s.maxDelay = time.Duration(1+rng.IntN(20)) * time.Millisecond
	for i := range s.nodes {
		s.start(i)
	}
	s.run(s.now.Add(1200 * time.Millisecond))
	faults := rng.IntN(3)
	steps := 60 + rng.IntN(60)
	for step := range steps {
		for range 1 + rng.IntN(3) {
			i := rng.IntN(nodes)
			dest := ""
			if rng.IntN(3) == 0 {
				dest = s.nodes[rng.IntN(nodes)].name
			}
			size := 8 + rng.IntN(64)
			if rng.IntN(10) == 0 {
				size = 1000 + rng.IntN(20000)
			}
			s.send(i, dest, size)
		}
		if faults > 0 && rng.IntN(steps) < 2 {
			faults--
			switch rng.IntN(5) {
			case 0:
				a := rng.IntN(nodes)
				var rest []int
				for j := range nodes {
					if j != a {
						rest = append(rest, j)
					}
				}
				s.partition([]int{a}, rest)
				s.run(s.now.Add(time.Duration(100+rng.IntN(1500)) * time.Millisecond))
				s.heal()
			case 1:
				i := rng.IntN(nodes)
				s.crash(i)
				s.run(s.now.Add(time.Duration(100+rng.IntN(1000)) * time.Millisecond))
				s.start(i)
			case 2:
				s.loss = 0.5 // a burst of heavy loss
				s.run(s.now.Add(time.Duration(50+rng.IntN(400)) * time.Millisecond))
				s.loss = rng.Float64() * 0.30
			case 3: // one-way cut: i hears j, j does not hear i
				i, j := rng.IntN(nodes), rng.IntN(nodes)
				if i != j {
					s.cut[[2]int{i, j}] = true
				}
				s.run(s.now.Add(time.Duration(100+rng.IntN(1500)) * time.Millisecond))
				s.heal()
			case 4: // one medium fails for everybody
				s.cutMed = map[int]bool{rng.IntN(len(media)): true}
				s.run(s.now.Add(time.Duration(100+rng.IntN(2000)) * time.Millisecond))
				s.cutMed = nil
			}
		}
		_ = step
		s.run(s.now.Add(time.Duration(rng.IntN(30)) * time.Millisecond))
	}
	s.run(s.now.Add(3 * time.Second)) // quiet tail: everything retransmittable arrives
	s.check()
	return s
}

func TestSimRandomFaults(t *testing.T) {
	runs := simRuns(t, 3000)
	var delivered, lostPairs int
	for i := range runs {
		s := runScenario(t, simSeed(i))
		for _, ids := range s.delivered {
			delivered += len(ids)
		}
		lostPairs += len(s.lost)
	}
	t.Logf("%d runs, %d messages delivered, %d pairs with lost reports", runs, delivered, lostPairs)
	// A violation stops the test (Fatalf) before this line.
	fmt.Printf("sim: messaging schedules=%d violations=0\n", runs)
}

// TestSimLargeCluster runs a few schedules with 16 nodes, the size the
// architecture targets.
func TestSimLargeCluster(t *testing.T) {
	runs := max(1, simRuns(t, 2000)/400)
	for i := range runs {
		seed := simSeed(i) + 1_000_000
		runScenarioN(t, seed, rand.New(rand.NewPCG(seed, 7)), 16)
	}
	fmt.Printf("sim: messaging-16nodes schedules=%d violations=0\n", runs)
}
