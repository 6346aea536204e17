package crm

import (
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/cib"
)

// simCluster is the in-package deterministic harness: N crm Nodes, a
// message queue with seeded delays (hence reordering), drops and
// partitions, a simulated membership layer handing out agreed views, and
// virtual time. It checks the invariants after every step.
type simCluster struct {
	t        testing.TB
	rng      *rand.Rand
	seed     int64
	names    []string
	nodes    map[string]*Node
	stores   map[string]cib.Store
	newStore func(name string) cib.Store
	group    map[string]int
	now      time.Time
	msgs     []simMsg
	msgSeq   uint64
	views    []simView
	vnum     uint64
	issued   map[int][]string // group -> members of the last view issued
	cfg      func(name string) Config

	dropP      float64
	maxDelay   time.Duration
	viewDelay  time.Duration
	reorder    bool
	lastVer    map[string]cib.Version
	writes     map[string]map[uint64]string // node -> client id -> resource id
	nextWrite  int
	acked      map[string]bool
	errs       map[string]error
	refused    int
	lost       []LostChange
	replies    int
	trace      []string
	traceOn    bool
	dcChanges  int
	crashes    int
	partitions int
	// aheadCrashP is the chance that a node crashes after sending a
	// Ready's Ahead messages and before saving its Persist.
	aheadCrashP  float64
	aheadCrashes int
	crmdRestarts int
	watchHas     map[string]bool
	saved        map[string]cib.Version // the last version each store saved
	attrAcked    int
	attrWrites   int
}

type simMsg struct {
	at       time.Time
	seq      uint64
	from, to string
	data     []byte
}

type simView struct {
	at   time.Time
	seq  uint64
	node string
	v    View
}

func newSim(t testing.TB, seed int64, n int, policy NoQuorumPolicy) *simCluster {
	return newSimStore(t, seed, n, policy, nil)
}

func newSimStore(t testing.TB, seed int64, n int, policy NoQuorumPolicy, newStore func(string) cib.Store) *simCluster {
	s := &simCluster{newStore: newStore, t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), nodes: map[string]*Node{},
		stores: map[string]cib.Store{}, group: map[string]int{}, now: time.Unix(1700000000, 0).UTC(),
		issued: map[int][]string{}, maxDelay: 20 * time.Millisecond, viewDelay: 100 * time.Millisecond,
		lastVer: map[string]cib.Version{}, writes: map[string]map[uint64]string{}, acked: map[string]bool{}, errs: map[string]error{}, reorder: true,
		saved: map[string]cib.Version{}}
	s.cfg = func(name string) Config {
		c := DefaultConfig(name)
		c.Retry = 200 * time.Millisecond
		c.WriteTimeout = 5 * time.Second
		c.NoQuorumPolicy = policy
		c.SendAhead = true
		return c
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node%d", i)
		s.names = append(s.names, name)
		if s.newStore != nil {
			s.stores[name] = s.newStore(name)
		} else {
			s.stores[name] = cib.NewMemStore(4)
		}
		s.start(name)
	}
	s.recomputeViews()
	return s
}

func (s *simCluster) fatalf(format string, a ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d at %s: %s", s.seed, s.now.Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

func (s *simCluster) logf(format string, a ...any) {
	if s.traceOn {
		s.trace = append(s.trace, fmt.Sprintf(format, a...))
	}
}

func (s *simCluster) start(name string) {
	c, err := s.stores[name].Load()
	if err != nil {
		s.fatalf("load %s: %v", name, err)
	}
	cfg := s.cfg(name)
	if os.Getenv("CRM_TRACE") == "v" {
		cfg.Logger = slog.New(slog.NewTextHandler(traceWriter{s}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := NewNode(cfg, c)
	if err != nil {
		s.fatalf("new node: %v", err)
	}
	if err := n.SetLRM([]byte(fmt.Sprintf(`<lrm id="%s"><lrm_resources/></lrm>`, name))); err != nil {
		s.fatalf("set lrm: %v", err)
	}
	s.nodes[name] = n
	s.writes[name] = map[uint64]string{}
}

type traceWriter struct{ s *simCluster }

func (w traceWriter) Write(b []byte) (int, error) {
	w.s.logf("  %s log: %s", w.s.now.Format("05.000"), strings.TrimSpace(string(b)))
	return len(b), nil
}

func (s *simCluster) crash(name string) {
	s.logf("crash %s", name)
	s.crashes++
	s.nodes[name] = nil
	s.writes[name] = nil
	s.recomputeViews()
}

func (s *simCluster) restart(name string) {
	s.logf("restart %s", name)
	s.start(name)
	s.recomputeViews()
}

// restartCrmd restarts name's crmd alone: the membership layer keeps its
// view, so the new crmd is handed the same view number again.
func (s *simCluster) restartCrmd(name string) {
	old := s.nodes[name]
	if old == nil || !old.hasView {
		return
	}
	v := old.view
	s.logf("restart crmd %s (view %d kept)", name, v.Number)
	s.crmdRestarts++
	s.start(name)
	s.msgSeq++
	s.views = append(s.views, simView{at: s.now.Add(s.viewDelay / 10), seq: s.msgSeq, node: name, v: v})
}

func (s *simCluster) partition(groups ...[]string) {
	s.logf("partition %v%s", groups, s.versions())
	s.partitions++
	for i, g := range groups {
		for _, n := range g {
			s.group[n] = i + 1
		}
	}
	s.recomputeViews()
}

func (s *simCluster) heal() {
	s.logf("heal")
	for _, n := range s.names {
		s.group[n] = 0
	}
	s.recomputeViews()
}

// recomputeViews plays the membership layer: every group of running
// nodes gets a new agreed view when its member set changed.
func (s *simCluster) recomputeViews() {
	byGroup := map[int][]string{}
	for _, n := range s.names {
		if s.nodes[n] != nil {
			byGroup[s.group[n]] = append(byGroup[s.group[n]], n)
		}
	}
	groups := make([]int, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Ints(groups)
	for _, g := range groups {
		members := byGroup[g]
		stale := false
		for _, m := range members { // a restarted node has no view yet
			if s.nodes[m].hasView == false && !s.pendingViewFor(m) {
				stale = true
			}
		}
		if slices.Equal(s.issued[g], members) && !stale {
			continue
		}
		s.issued[g] = members
		s.vnum++
		v := View{Number: s.vnum, Members: members, Quorum: 2*len(members) > len(s.names)}
		for _, m := range members {
			s.msgSeq++
			at := s.now.Add(s.viewDelay + time.Duration(s.rng.Int63n(int64(s.viewDelay))))
			s.views = append(s.views, simView{at: at, seq: s.msgSeq, node: m, v: v})
		}
	}
	// a group name may now be unused: forget it so that reuse reissues
	for g := range s.issued {
		if _, ok := byGroup[g]; !ok {
			delete(s.issued, g)
		}
	}
}

func (s *simCluster) pendingViewFor(n string) bool {
	for _, v := range s.views {
		if v.node == n {
			return true
		}
	}
	return false
}

func (s *simCluster) write(node string) {
	n := s.nodes[node]
	if n == nil {
		return
	}
	s.nextWrite++
	id := fmt.Sprintf("w%d", s.nextWrite)
	s.writes[node][uint64(s.nextWrite)] = id
	req := cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(fmt.Sprintf(`<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy"/>`, id))}
	if err := n.Write(s.now, uint64(s.nextWrite), req); err != nil {
		s.fatalf("write: %v", err)
	}
	s.drain(node)
}

// step advances virtual time by d, delivering and ticking.
func (s *simCluster) step(d time.Duration) {
	end := s.now.Add(d)
	for {
		// next event: the earliest message or view at or before end
		next := end
		for _, m := range s.msgs {
			if m.at.Before(next) {
				next = m.at
			}
		}
		for _, v := range s.views {
			if v.at.Before(next) {
				next = v.at
			}
		}
		s.now = next
		s.deliverDue()
		if !s.now.Before(end) {
			break
		}
	}
	for _, name := range s.names {
		if n := s.nodes[name]; n != nil {
			n.Tick(s.now)
			s.drain(name)
		}
	}
	s.deliverDue()
	s.check()
}

func (s *simCluster) deliverDue() {
	for {
		idx := -1
		for i, v := range s.views {
			if !v.at.After(s.now) && (idx < 0 || v.seq < s.views[idx].seq) {
				idx = i
			}
		}
		if idx >= 0 {
			v := s.views[idx]
			s.views = append(s.views[:idx], s.views[idx+1:]...)
			if n := s.nodes[v.node]; n != nil {
				n.SetView(s.now, v.v)
				s.drain(v.node)
			}
			continue
		}
		for i, m := range s.msgs {
			if !m.at.After(s.now) && (idx < 0 || m.seq < s.msgs[idx].seq) {
				idx = i
			}
		}
		if idx < 0 {
			return
		}
		m := s.msgs[idx]
		s.msgs = append(s.msgs[:idx], s.msgs[idx+1:]...)
		n := s.nodes[m.to]
		if n == nil || s.nodes[m.from] == nil || s.group[m.to] != s.group[m.from] {
			continue
		}
		if err := n.StepBytes(s.now, m.from, m.data); err != nil {
			s.fatalf("%s step from %s: %v", m.to, m.from, err)
		}
		s.drain(m.to)
	}
}

func (s *simCluster) drain(name string) {
	n := s.nodes[name]
	for n.HasReady() {
		rd := n.Ready()
		s.sendAll(name, rd.Ahead)
		if len(rd.Ahead) > 0 && len(rd.Persist) > 0 && s.aheadCrashP > 0 && s.canCrash() && s.rng.Float64() < s.aheadCrashP {
			// the DC dies after its patches left and before its own
			// fsync: the replicas may hold a version its store lacks
			s.logf("crash %s before saving %s (patches sent ahead)", name, n.Version())
			s.aheadCrashes++
			s.lastVer[name] = s.saved[name]
			s.crash(name)
			return
		}
		if len(rd.Persist) > 0 {
			if err := s.stores[name].SaveBatch(rd.Persist); err != nil {
				s.fatalf("%s: save: %v", name, err)
			}
			if e := rd.Persist[len(rd.Persist)-1]; e.Patch != nil {
				s.saved[name] = e.Patch.Target
			} else {
				s.saved[name] = e.CIB.Version()
			}
		}
		s.sendAll(name, rd.Messages)
		if id := os.Getenv("CRM_WATCH"); id != "" {
			_, err := n.cib.Apply(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("//primitive[@id='%s']", id)})
			has := err == nil
			if s.watchHas == nil {
				s.watchHas = map[string]bool{}
			}
			if has != s.watchHas[name] {
				s.logf("  %s %s %s at %s (persisted %d entries)", name, map[bool]string{true: "gains", false: "LOSES"}[has], id, n.Version(), len(rd.Persist))
				s.watchHas[name] = has
			}
		}
		for _, r := range rd.Replies {
			s.replies++
			id, ok := s.writes[name][r.ID]
			if !ok {
				s.fatalf("%s: reply to unknown write %d", name, r.ID)
			}
			delete(s.writes[name], r.ID)
			if r.Err == nil {
				s.acked[id] = true
				s.logf("%s acked %s at %s", name, id, r.Version)
			} else {
				s.refused++
				s.errs[id] = r.Err
				s.logf("%s refused %s: %v", name, id, r.Err)
			}
		}
		if rd.DC != nil {
			s.dcChanges++
			if os.Getenv("CRM_TRACE") == "v" {
				s.logf("%s view %d dc %q at %s (%s)", name, rd.DC.View, rd.DC.DC, n.Version(), s.now.Format("05.000"))
			} else {
				s.logf("%s view %d dc %q", name, rd.DC.View, rd.DC.DC)
			}
		}
		for _, l := range rd.Lost {
			s.logf("%s lost: %s@%s vs %s@%s, %d changes", name, l.Node, l.Version, l.Winner, l.WinnerVersion, len(l.Patch.Changes))
		}
		s.lost = append(s.lost, rd.Lost...)
	}
}

// sendAll queues messages from name (drops, delays, partitions).
func (s *simCluster) sendAll(name string, ms []Message) {
	for _, m := range ms {
		data := Encode(m)
		dests := []string{m.To}
		if m.To == "" {
			dests = nil
			for _, o := range s.names {
				if o != name {
					dests = append(dests, o)
				}
			}
		}
		for _, to := range dests {
			if s.group[to] != s.group[name] || s.rng.Float64() < s.dropP {
				continue
			}
			delay := time.Millisecond
			if s.reorder {
				delay += time.Duration(s.rng.Int63n(int64(s.maxDelay)))
			}
			s.msgSeq++
			s.msgs = append(s.msgs, simMsg{at: s.now.Add(delay), seq: s.msgSeq, from: name, to: to, data: data})
		}
	}
}

// versions lists every node's version with CRM_TRACE=v.
func (s *simCluster) versions() string {
	if os.Getenv("CRM_TRACE") != "v" {
		return ""
	}
	out := ""
	for _, name := range s.names {
		if n := s.nodes[name]; n != nil {
			out += fmt.Sprintf(" %s@%s", name, n.Version())
		}
	}
	return fmt.Sprintf(" at %s:%s", s.now.Format("05.000"), out)
}

// canCrash reports whether one more node may crash with a majority left.
func (s *simCluster) canCrash() bool {
	down := 0
	for _, name := range s.names {
		if s.nodes[name] == nil {
			down++
		}
	}
	return 2*(down+1) < len(s.names)
}

// check verifies the safety invariants.
func (s *simCluster) check() {
	dcs := map[uint64]string{}
	latest := map[int]uint64{}
	for _, v := range s.views {
		_ = v
	}
	for _, name := range s.names {
		n := s.nodes[name]
		if n == nil {
			continue
		}
		v := n.Version()
		if v.Compare(s.lastVer[name]) < 0 {
			s.fatalf("%s: cib version went back from %s to %s", name, s.lastVer[name], v)
		}
		s.lastVer[name] = v
		if !n.IsDC() {
			continue
		}
		if !n.view.Quorum && n.cfg.NoQuorumPolicy != NoQuorumIgnore {
			s.fatalf("%s: DC without quorum in view %d", name, n.view.Number)
		}
		if other, ok := dcs[n.view.Number]; ok {
			s.fatalf("two DCs in view %d: %s and %s", n.view.Number, other, name)
		}
		dcs[n.view.Number] = name
		if n.view.Number > latest[s.group[name]] {
			latest[s.group[name]] = n.view.Number
		}
	}
	// at most one DC per partition among nodes that hold its newest view
	for g := range latest {
		count := 0
		for _, name := range s.names {
			if n := s.nodes[name]; n != nil && s.group[name] == g && n.IsDC() && n.view.Number == latest[g] {
				count++
			}
		}
		if count > 1 {
			s.fatalf("%d DCs in partition %d", count, g)
		}
	}
}

// stabilize heals, restarts every node, stops faults and runs until every
// node has the same CIB and one DC.
func (s *simCluster) stabilize() {
	s.dropP, s.aheadCrashP = 0, 0
	for _, name := range s.names {
		if s.nodes[name] == nil {
			s.restart(name)
		}
	}
	s.heal()
	for i := 0; i < 600; i++ {
		s.step(50 * time.Millisecond)
		if s.converged() == nil && i > 10 {
			// let pending writes finish and replies arrive
			for j := 0; j < 20; j++ {
				s.step(50 * time.Millisecond)
			}
			if err := s.converged(); err == nil {
				return
			}
		}
	}
	s.fatalf("no convergence after 30 s: %v\n%s", s.converged(), strings.Join(s.tail(), "\n"))
}

func (s *simCluster) tail() []string {
	if len(s.trace) > 60 && os.Getenv("CRM_TRACE") == "" {
		return s.trace[len(s.trace)-60:]
	}
	return s.trace
}

func (s *simCluster) converged() error {
	var dc string
	var ref []byte
	for _, name := range s.names {
		n := s.nodes[name]
		if n == nil {
			return fmt.Errorf("%s down", name)
		}
		if len(n.view.Members) != len(s.names) {
			return fmt.Errorf("%s view %v", name, n.view.Members)
		}
		if !n.decided || n.dc == "" {
			return fmt.Errorf("%s has no DC", name)
		}
		if dc != "" && n.dc != dc {
			return fmt.Errorf("%s follows %s, others %s", name, n.dc, dc)
		}
		dc = n.dc
		b := n.cib.Bytes()
		if ref != nil && string(b) != string(ref) {
			return fmt.Errorf("%s cib %s differs", name, n.Version())
		}
		ref = b
		if len(s.writes[name]) > 0 || len(n.outstanding) > 0 {
			return fmt.Errorf("%s has %d writes outstanding", name, len(n.outstanding))
		}
	}
	if !s.nodes[dc].Active() {
		return fmt.Errorf("dc %s not active", dc)
	}
	return nil
}

// checkFinal verifies that every acknowledged write is in the final CIB
// (or, with no-quorum-policy=ignore, was reported lost), and that the
// status section has every node joined.
func (s *simCluster) checkFinal() {
	c := s.nodes[s.names[0]].cib
	ids := map[string]bool{}
	res, err := c.Apply(cib.Request{Op: cib.OpQuery, XPath: "//primitive"})
	if err == nil {
		for _, e := range res.Output {
			ids[e.SelectAttrValue("id", "")] = true
		}
	}
	for id := range s.acked {
		if ids[id] {
			continue
		}
		if s.nodes[s.names[0]].cfg.NoQuorumPolicy == NoQuorumIgnore && s.reportedLost(id) {
			continue // two DCs wrote: the losing side's writes are reported
		}
		s.fatalf("acknowledged write %s missing from the final cib and not reported lost\n%s", id, strings.Join(s.tail(), "\n"))
	}
	for _, name := range s.names {
		res, err := c.Apply(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']", name)})
		if err != nil || len(res.Output) != 1 {
			s.fatalf("no node_state for %s", name)
		}
		e := res.Output[0]
		if e.SelectAttrValue("in_ccm", "") != "true" || e.SelectAttrValue("crmd", "") != "online" || e.SelectAttrValue("join", "") != "member" || e.SelectElement("lrm") == nil {
			s.fatalf("node_state of %s not joined: %v", name, e.Attr)
		}
	}
}

func (s *simCluster) reportedLost(id string) bool {
	for _, l := range s.lost {
		for _, ch := range l.Patch.Changes {
			if ch.Element != nil && ch.Element.SelectAttrValue("id", "") == id {
				return true
			}
		}
	}
	return false
}

func (s *simCluster) dc() string {
	for _, name := range s.names {
		if n := s.nodes[name]; n != nil && n.IsDC() {
			return name
		}
	}
	return ""
}

// seedRange returns the seeds to run: CRM_SEED=N replays one seed;
// CRM_SEEDS=N runs N seeds instead of the default (the soak, make
// soak-crm), starting at CRM_SEED_FIRST (default 1); -short runs fewer.
func seedRange(full, short int) (int64, int) {
	if v := os.Getenv("CRM_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return n, 1
		}
	}
	first := int64(1)
	if v := os.Getenv("CRM_SEED_FIRST"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			first = n
		}
	}
	if v := os.Getenv("CRM_SEEDS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return first, n
		}
	}
	if testing.Short() {
		return first, short
	}
	return first, full
}

// randomSchedule runs one seeded random fault schedule and checks it.
func randomSchedule(t testing.TB, seed int64, policy NoQuorumPolicy) *simCluster {
	return randomScheduleStore(t, seed, policy, nil)
}

func randomScheduleStore(t testing.TB, seed int64, policy NoQuorumPolicy, newStore func(string) cib.Store) *simCluster {
	rng := rand.New(rand.NewSource(seed))
	n := 3 + rng.Intn(3)
	s := newSimStore(t, seed, n, policy, newStore)
	s.traceOn = true
	s.aheadCrashP = 0.02
	steps := 100 + rng.Intn(100)
	for i := 0; i < steps; i++ {
		r := s.rng.Float64()
		switch {
		case r < 0.30:
			s.write(s.names[s.rng.Intn(n)])
		case r < 0.36:
			name := s.names[s.rng.Intn(n)]
			if nd := s.nodes[name]; nd != nil {
				if s.rng.Intn(2) == 0 {
					_ = nd.SetAttr(s.now, Attr{Node: name, Name: "pingd", Value: fmt.Sprint(s.rng.Intn(5) * 100), Lifetime: LifetimeReboot, Dampen: 300 * time.Millisecond})
				} else {
					_ = nd.FailCount(s.now, name, "d1", "monitor", 10000)
				}
				s.drain(name)
			}
		case r < 0.39:
			// split into two random groups
			var a, b []string
			for _, name := range s.names {
				if s.rng.Intn(2) == 0 {
					a = append(a, name)
				} else {
					b = append(b, name)
				}
			}
			s.partition(a, b)
		case r < 0.42:
			s.heal()
		case r < 0.445:
			down := 0
			for _, name := range s.names {
				if s.nodes[name] == nil {
					down++
				}
			}
			if 2*(down+1) < n {
				name := s.names[s.rng.Intn(n)]
				if s.nodes[name] != nil {
					s.crash(name)
				}
			}
		case r < 0.47:
			for _, name := range s.names {
				if s.nodes[name] == nil {
					s.restart(name)
					break
				}
			}
		case r < 0.49:
			s.dropP = []float64{0, 0.05, 0.2}[s.rng.Intn(3)]
		case r < 0.505:
			s.restartCrmd(s.names[s.rng.Intn(n)])
		}
		s.step(time.Duration(20+s.rng.Intn(200)) * time.Millisecond)
	}
	s.stabilize()
	s.checkFinal()
	return s
}

func TestRandomSchedules(t *testing.T) {
	t.Parallel()
	first, seeds := seedRange(200, 50)
	total := map[string]int{}
	start := time.Now()
	for seed := first; seed < first+int64(seeds); seed++ {
		s := randomSchedule(t, seed, NoQuorumStop)
		// with quorum only a stale DC (one that has not yet heard that it
		// lost its partition) applies writes the others miss; those writes
		// were never acknowledged
		for id := range s.acked {
			if s.reportedLost(id) {
				t.Fatalf("seed %d: acknowledged write %s reported lost\n%s", seed, id, strings.Join(s.tail(), "\n"))
			}
		}
		total["lost"] += len(s.lost)
		total["acked"] += len(s.acked)
		total["refused"] += s.refused
		total["crashes"] += s.crashes
		total["ahead"] += s.aheadCrashes
		total["crmd"] += s.crmdRestarts
		total["partitions"] += s.partitions
		total["dcs"] += s.dcChanges
	}
	t.Logf("%d seeds (from %d) in %.1fs: %d crashes (%d of a DC between sending a patch and saving it), %d crmd restarts in an unchanged view, %d partitions, %d DC events, %d writes acknowledged, %d refused or unknown, %d lost-change reports (stale DCs)",
		seeds, first, time.Since(start).Seconds(), total["crashes"], total["ahead"], total["crmd"], total["partitions"], total["dcs"], total["acked"], total["refused"], total["lost"])
	fmt.Printf("sim: crm schedules=%d violations=0\n", seeds) // a violation stops the test before this line
}

func TestRandomSchedulesIgnoreQuorum(t *testing.T) {
	t.Parallel()
	first, seeds := seedRange(100, 30)
	lost, acked, crashes, restarts, partitions := 0, 0, 0, 0, 0
	start := time.Now()
	for seed := first; seed < first+int64(seeds); seed++ {
		s := randomSchedule(t, seed, NoQuorumIgnore)
		lost += len(s.lost)
		acked += len(s.acked)
		crashes += s.crashes
		restarts += s.crmdRestarts
		partitions += s.partitions
	}
	t.Logf("%d seeds (from %d) in %.1fs: %d crashes, %d crmd restarts in an unchanged view, %d partitions, %d writes acknowledged, %d lost-change reports",
		seeds, first, time.Since(start).Seconds(), crashes, restarts, partitions, acked, lost)
	fmt.Printf("sim: crm-ignore-quorum schedules=%d violations=0\n", seeds)
	if lost == 0 {
		t.Errorf("no merge ever lost a change: the schedules do not exercise merges")
	}
}

// TestRandomSchedulesBoltStore runs schedules against the real bbolt
// store (without fsync), which, unlike MemStore, checks that every patch
// entry follows the stored version: the Ready.Persist contract the daemon
// relies on. A crashed node restarts from what its store Loads.
func TestRandomSchedulesBoltStore(t *testing.T) {
	t.Parallel()
	first, seeds := seedRange(10, 3)
	if os.Getenv("CRM_SEEDS") != "" && os.Getenv("CRM_SEED") == "" {
		seeds = max(10, seeds/20) // the soak: bbolt schedules are slower
	}
	for seed := first; seed < first+int64(seeds); seed++ {
		dir := t.TempDir()
		open := map[string]*cib.BoltStore{}
		newStore := func(name string) cib.Store {
			opts := cib.DefaultStoreOptions()
			opts.NoSync = true
			opts.Keep = 8
			st, err := cib.OpenStore(filepath.Join(dir, name+".db"), opts)
			if err != nil {
				t.Fatal(err)
			}
			open[name] = st
			return st
		}
		s := randomScheduleStore(t, seed, NoQuorumStop, newStore)
		for _, name := range s.names {
			c, err := s.stores[name].Load()
			if err != nil {
				t.Fatalf("seed %d: %s: load: %v", seed, name, err)
			}
			if string(c.Bytes()) != string(s.nodes[name].CIB().Bytes()) {
				t.Fatalf("seed %d: %s: the store holds %s, the node %s", seed, name, c.Version(), s.nodes[name].Version())
			}
		}
		for _, st := range open {
			st.Close()
		}
	}
	fmt.Printf("sim: crm-bbolt schedules=%d violations=0\n", seeds)
}
