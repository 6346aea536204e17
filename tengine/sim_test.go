package tengine_test

// The DC pipeline in the simulator (issue 8): N nodes, each with a crm.Node
// core and a simulated lrm; the DC runs pengine.Compute and a
// tengine.Engine; actions go to the target node over the simulated
// network, the target executes them in its lrm, records the result in the
// CIB through the DC (a crm write, client crmd-te) and only then answers
// the DC. Seeded faults (node crash and restart, partitions, monitor
// failures, failed starts, lost messages) run for a while; then the network
// heals, crashed nodes restart, and the cluster must converge to the
// policy engine's target. See docs/tengine.md for the invariants checked.

import (
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/pengine"
	"github.com/systole/systole/tengine"
)

const (
	simTick      = 100 * time.Millisecond // crm and DC driver tick
	simViewDelay = 300 * time.Millisecond // membership: a change is agreed after this (plus jitter)
	simMaxDelay  = 10 * time.Millisecond  // message delay range
	simDebounce  = 20 * time.Millisecond  // DebounceCompute
)

// simRscs are the primitives of the simulated configuration (g1 and g2 form
// the group g).
var simRscs = []string{"d1", "d2", "d3", "d4", "g1", "g2"}

func simCIB(names []string) string {
	var nodes, rscs strings.Builder
	for _, n := range names {
		fmt.Fprintf(&nodes, `<node id="%s" uname="%s"/>`, n, n)
	}
	prim := func(id string) string {
		return fmt.Sprintf(`<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="%s-ia"><nvpair id="%s-state" name="state" value="/run/%s"/></instance_attributes><operations><op id="%s-mon" name="monitor" interval="10s" timeout="2s"/><op id="%s-start" name="start" interval="0" timeout="2s"/><op id="%s-stop" name="stop" interval="0" timeout="2s"/></operations></primitive>`, id, id, id, id, id, id, id)
	}
	for _, id := range []string{"d1", "d2", "d3", "d4"} {
		rscs.WriteString(prim(id))
	}
	rscs.WriteString(`<group id="g">` + prim("g1") + prim("g2") + `</group>`)
	return `<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.9"><configuration><crm_config><cluster_property_set id="opts">` +
		`<nvpair id="o1" name="stonith-enabled" value="false"/><nvpair id="o2" name="cluster-delay" value="5s"/><nvpair id="o3" name="no-quorum-policy" value="stop"/>` +
		`</cluster_property_set></crm_config><nodes>` + nodes.String() + `</nodes><resources>` + rscs.String() + `</resources><constraints>` +
		`<rsc_location id="l1" rsc="d1" node="` + names[0] + `" score="100"/>` +
		`<rsc_colocation id="c1" rsc="d2" with-rsc="d1" score="-INFINITY"/>` +
		`<rsc_order id="o1" first="d3" then="d4" kind="Mandatory"/>` +
		`<rsc_colocation id="c2" rsc="g" with-rsc="d3" score="50"/>` +
		`</constraints>` +
		`</configuration><status/></cib>`
}

// lrmOp is one history entry of the simulated lrm.
type lrmOp struct {
	id, key, op        string
	interval           int64
	rc, status, callID int
	tkey, digest       string
}

// simLRM is a node's local resource manager: instant results.
type simLRM struct {
	running  map[string]bool
	monitors map[string]int64 // rsc -> recurring monitor interval
	hist     map[string][]lrmOp
	callID   int
	failNext map[string]bool // rsc -> the next start fails
}

func newLRM() *simLRM {
	return &simLRM{running: map[string]bool{}, monitors: map[string]int64{}, hist: map[string][]lrmOp{}, failNext: map[string]bool{}}
}

func (l *simLRM) record(rsc string, o lrmOp) {
	h := l.hist[rsc]
	for i := range h {
		if h[i].id == o.id {
			h[i] = o
			l.hist[rsc] = h
			return
		}
	}
	l.hist[rsc] = append(h, o)
}

func (l *simLRM) xml(node string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<lrm id="%s"><lrm_resources>`, node)
	ids := make([]string, 0, len(l.hist))
	for id := range l.hist {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, `<lrm_resource id="%s" class="ocf" provider="heartbeat" type="Dummy">`, id)
		for _, o := range l.hist[id] {
			fmt.Fprintf(&b, `<lrm_rsc_op id="%s" operation_key="%s" operation="%s" crm-feature-set="3.19.0" transition-key="%s" transition-magic="%d:%d;%s" exit-reason="" on_node="%s" call-id="%d" rc-code="%d" op-status="%d" interval="%d" last-rc-change="1700000000" exec-time="1" queue-time="0" op-digest="%s"/>`,
				o.id, o.key, o.op, o.tkey, o.status, o.rc, o.tkey, node, o.callID, o.rc, o.status, o.interval, o.digest)
		}
		b.WriteString(`</lrm_resource>`)
	}
	b.WriteString(`</lrm_resources></lrm>`)
	return b.String()
}

// exec runs one action and returns rc; the history is updated as crmd
// records it (docs/dc.md).
func (l *simLRM) exec(a *tengine.Action, key string) int {
	rsc := ""
	if a.Rsc != nil {
		rsc = a.Rsc.ID
	}
	iv := a.Interval.Milliseconds()
	rc := 0
	switch a.Operation {
	case "start":
		if l.failNext[rsc] {
			delete(l.failNext, rsc)
			rc = 1
		} else {
			l.running[rsc] = true
		}
	case "stop":
		delete(l.running, rsc)
		delete(l.monitors, rsc)
	case "monitor":
		if !l.running[rsc] {
			rc = 7
		}
		if iv > 0 && rc == 0 {
			l.monitors[rsc] = iv
		}
	case "cancel":
		delete(l.monitors, rsc)
		h := l.hist[rsc]
		out := h[:0]
		for _, o := range h {
			if o.id != fmt.Sprintf("%s_monitor_%d", rsc, iv) {
				out = append(out, o)
			}
		}
		l.hist[rsc] = out
		return 0
	case "lrm_delete", "delete":
		delete(l.hist, rsc)
		delete(l.monitors, rsc)
		return 0
	default:
		return 0 // clear_failcount and the like: nothing to run
	}
	if rsc == "" {
		return rc
	}
	l.callID++
	o := lrmOp{key: a.OperationKey, op: a.Operation, interval: iv, rc: rc, callID: l.callID, tkey: key,
		digest: pengine.OpDigest(a.Attributes, iv)}
	if iv > 0 {
		o.id = fmt.Sprintf("%s_monitor_%d", rsc, iv)
	} else {
		o.id = rsc + "_last_0"
	}
	if rc != a.TargetRC && !(a.Operation == "monitor" && iv == 0) {
		f := o
		f.id = rsc + "_last_failure_0"
		l.record(rsc, f)
	}
	l.record(rsc, o)
	return rc
}

// simMsg is a message on the simulated network.
type simMsg struct {
	at       time.Time
	seq      uint64
	from, to string
	crm      []byte // a crm message
	exec     *execReq
	result   *execResult
}

type execReq struct {
	transition int
	dc         string
	action     *tengine.Action
	key        string
	stamps     map[string]uint64 // the DC's members and their stamps at compute time
	// startOffset is the graph's failed-start-offset.
	startOffset string
	// quorate: the DC's view had quorum when it dispatched the action (it
	// may lose it before the target runs the action: no fencing).
	quorate bool
}

type execResult struct {
	transition int
	id         int
	res        tengine.Result
}

type pendingExec struct {
	req *execReq
	rc  int
}

type simNode struct {
	name     string
	crm      *crm.Node
	store    cib.Store
	lrm      *simLRM
	writeID  uint64
	waiting  map[uint64]*pendingExec // write id -> exec to answer after the write
	lrmWrite map[uint64]bool         // write ids of unsolicited results
	dcWrites map[uint64]bool         // write ids of the DC's timeout records
}

// dcDriver is the DC's pipeline (crmd's part on the DC plus tengine).
type dcDriver struct {
	node       string
	eng        *tengine.Engine
	transition int
	viewNum    uint64
	stamps     map[string]uint64
	needed     bool
	neededAt   time.Time
	lastEmpty  bool
	ran        bool // the running graph dispatched actions
}

type simCluster struct {
	t     testing.TB
	seed  int64
	rng   *rand.Rand
	now   time.Time
	names []string
	nodes map[string]*simNode // nil: crashed
	disks map[string]cib.Store
	lrms  map[string]*simLRM // survives nothing: a crash loses the resources
	group map[string]int
	msgs  []simMsg
	seq   uint64
	// linkLast is the delivery time of the last message on each link.
	linkLast map[string]time.Time
	dropP    float64

	views    []simView
	vnum     uint64
	issued   map[int][]string
	needView map[string]bool
	stamp    map[string]uint64 // grows when a node's view or incarnation changes
	incarn   uint64
	viewOf   map[string]crm.View

	dc           *dcDriver
	transitions  int
	computations int
	actions      int
	unsolicited  bool // an acknowledged unsolicited result: compute needed
	log          []string
	initial      *cib.CIB

	// counters for the report
	crashes, partitions, monFails, startFails, aborts, retransmits int
}

type simView struct {
	at   time.Time
	seq  uint64
	node string
	v    crm.View
}

func newSimCluster(t testing.TB, seed int64, n int) *simCluster {
	s := &simCluster{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), now: time.Unix(1700000000, 0).UTC(),
		nodes: map[string]*simNode{}, disks: map[string]cib.Store{}, lrms: map[string]*simLRM{}, group: map[string]int{},
		issued: map[int][]string{}, linkLast: map[string]time.Time{}, needView: map[string]bool{}, stamp: map[string]uint64{}, viewOf: map[string]crm.View{}}
	for i := 1; i <= n; i++ {
		s.names = append(s.names, fmt.Sprintf("node%d", i))
	}
	c, err := cib.Parse([]byte(simCIB(s.names)))
	if err != nil {
		t.Fatal(err)
	}
	s.initial = c
	for _, name := range s.names {
		s.disks[name] = cib.NewMemStore(4)
		s.start(name, true)
	}
	s.recomputeViews()
	return s
}

func (s *simCluster) fatalf(format string, a ...any) {
	s.t.Helper()
	tail := s.log
	if len(tail) > 40 {
		tail = tail[len(tail)-40:]
	}
	s.t.Fatalf("seed %d (replay: TENGINE_SEED=%d) at %s: %s\nlast events:\n  %s", s.seed, s.seed,
		s.now.Format("15:04:05.000"), fmt.Sprintf(format, a...), strings.Join(tail, "\n  "))
}

func (s *simCluster) logf(format string, a ...any) {
	s.log = append(s.log, s.now.Format("05.000")+" "+fmt.Sprintf(format, a...))
	if len(s.log) > 400 {
		s.log = s.log[200:]
	}
}

func (s *simCluster) start(name string, first bool) {
	var c *cib.CIB
	var err error
	if first {
		c = s.initial.Clone()
	} else if c, err = s.disks[name].Load(); err != nil {
		s.fatalf("load %s: %v", name, err)
	}
	s.incarn++
	cfg := crm.DefaultConfig(name)
	cfg.Retry = 200 * time.Millisecond
	cfg.WriteTimeout = 5 * time.Second
	cfg.Incarnation = s.incarn
	n, err := crm.NewNode(cfg, c)
	if err != nil {
		s.fatalf("new node: %v", err)
	}
	l := newLRM() // after a crash nothing runs and the history is gone
	s.lrms[name] = l
	sn := &simNode{name: name, crm: n, store: s.disks[name], lrm: l, waiting: map[uint64]*pendingExec{}, lrmWrite: map[uint64]bool{}, dcWrites: map[uint64]bool{}}
	if err := n.SetLRM([]byte(l.xml(name))); err != nil {
		s.fatalf("set lrm: %v", err)
	}
	s.nodes[name] = sn
	s.viewOf[name] = crm.View{}
	s.needView[name] = true
	s.stamp[name]++
}

func (s *simCluster) crash(name string) {
	s.logf("crash %s", name)
	s.crashes++
	s.nodes[name] = nil
	s.lrms[name] = newLRM()
	s.viewOf[name] = crm.View{}
	s.stamp[name]++
	if s.dc != nil && s.dc.node == name {
		s.dc = nil
	}
	s.recomputeViews()
}

func (s *simCluster) restart(name string) {
	s.logf("restart %s", name)
	s.start(name, false)
	s.recomputeViews()
}

// recomputeViews plays membership: every group of running nodes whose
// member set changed gets a new agreed view after a delay.
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
		for _, m := range members {
			if s.needView[m] {
				stale = true
			}
		}
		if slices.Equal(s.issued[g], members) && !stale {
			continue
		}
		s.issued[g] = members
		s.vnum++
		v := crm.View{Number: s.vnum, Members: members, Quorum: 2*len(members) > len(s.names)}
		for _, m := range members {
			delete(s.needView, m)
			s.seq++
			at := s.now.Add(simViewDelay + time.Duration(s.rng.Int63n(int64(simViewDelay))))
			s.views = append(s.views, simView{at: at, seq: s.seq, node: m, v: v})
		}
	}
	for g := range s.issued {
		if _, ok := byGroup[g]; !ok {
			delete(s.issued, g)
		}
	}
}

func (s *simCluster) send(m simMsg) {
	// Messages are lost for good only to partitions and crashes: the
	// messaging layer retransmits what a link loses while it is up, so a
	// "lost" packet (probability dropP) arrives late (a NACK round, 0.2 to
	// 1 s), and everything behind it on the link waits for it.
	if s.group[m.to] != s.group[m.from] {
		return
	}
	s.seq++
	m.seq = s.seq
	m.at = s.now.Add(time.Millisecond + time.Duration(s.rng.Int63n(int64(simMaxDelay))))
	if s.rng.Float64() < s.dropP {
		s.retransmits++
		m.at = m.at.Add(200*time.Millisecond + time.Duration(s.rng.Int63n(int64(800*time.Millisecond))))
	}
	// The messaging layer delivers in order per sender (and retransmits
	// what is lost while the link is up; lost here means lost for good).
	link := m.from + ">" + m.to
	if last := s.linkLast[link]; m.at.Before(last) {
		m.at = last
	}
	s.linkLast[link] = m.at
	s.msgs = append(s.msgs, m)
}

// drain handles a node's Ready in the documented order.
func (s *simCluster) drain(name string) {
	sn := s.nodes[name]
	if sn == nil {
		return
	}
	for sn.crm.HasReady() {
		rd := sn.crm.Ready()
		s.sendCRM(name, rd.Ahead)
		if len(rd.Persist) > 0 {
			if err := sn.store.SaveBatch(rd.Persist); err != nil {
				s.fatalf("%s: save: %v", name, err)
			}
		}
		s.sendCRM(name, rd.Messages)
		for _, r := range rd.Replies {
			s.reply(sn, r)
		}
		if rd.DC != nil {
			s.logf("%s view %d dc %q", name, rd.DC.View, rd.DC.DC)
		}
	}
}

func (s *simCluster) sendCRM(name string, ms []crm.Message) {
	for _, m := range ms {
		data := crm.Encode(m)
		if m.To != "" {
			s.send(simMsg{from: name, to: m.To, crm: data})
			continue
		}
		for _, o := range s.names {
			if o != name {
				s.send(simMsg{from: name, to: o, crm: data})
			}
		}
	}
}

// reply: a write of this node was answered.
func (s *simCluster) reply(sn *simNode, r crm.Reply) {
	if sn.dcWrites[r.ID] {
		delete(sn.dcWrites, r.ID)
		return
	}
	if sn.lrmWrite[r.ID] {
		delete(sn.lrmWrite, r.ID)
		if r.Err == nil {
			s.unsolicited = true
		}
		return
	}
	p := sn.waiting[r.ID]
	if p == nil {
		return
	}
	delete(sn.waiting, r.ID)
	res := tengine.Result{RC: p.rc}
	if r.Err != nil {
		res = tengine.Result{RC: 1, Status: tengine.StatusError, ExitReason: "result not recorded: " + r.Err.Error()}
	}
	s.toDC(sn.name, p.req, res)
}

func (s *simCluster) toDC(from string, req *execReq, res tengine.Result) {
	m := simMsg{from: from, to: req.dc, result: &execResult{transition: req.transition, id: req.action.ID, res: res}}
	if from == req.dc {
		s.seq++
		m.seq, m.at = s.seq, s.now
		s.msgs = append(s.msgs, m)
		return
	}
	s.send(m)
}

// writeLRM records the node's whole lrm in its node_state (a replace of
// the <lrm> element, through the DC).
func (s *simCluster) writeLRM(sn *simNode, client string) uint64 {
	x := sn.lrm.xml(sn.name)
	if err := sn.crm.SetLRM([]byte(x)); err != nil {
		s.fatalf("set lrm: %v", err)
	}
	sn.writeID++
	req := cib.Request{Op: cib.OpReplace, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm", sn.name), XML: []byte(x), Client: client}
	if err := sn.crm.Write(s.now, sn.writeID, req); err != nil {
		s.fatalf("write: %v", err)
	}
	return sn.writeID
}

// execute runs an action on its target node.
func (s *simCluster) execute(sn *simNode, req *execReq) {
	a := req.action
	if a.Operation == "start" {
		s.checkStart(sn.name, req)
	}
	rc := sn.lrm.exec(a, req.key)
	s.logf("%s exec %s rc=%d (transition %d)", sn.name, a.OperationKey, rc, req.transition)
	if a.Rsc == nil && a.Operation != "lrm_delete" {
		s.toDC(sn.name, req, tengine.Result{RC: rc})
		return
	}
	if iv := a.Interval.Milliseconds(); rc != a.TargetRC && !(a.Operation == "monitor" && iv == 0) {
		// crmd counts the failure; a failed start counts as the graph's
		// failed-start-offset (INFINITY: start-failure-is-fatal).
		var err error
		if a.Operation == "start" && req.startOffset != "" {
			err = sn.crm.SetAttr(s.now, crm.Attr{Node: sn.name, Name: "fail-count-" + a.Rsc.ID + "#start_0", Value: req.startOffset, Lifetime: crm.LifetimeReboot})
			if err == nil {
				err = sn.crm.SetAttr(s.now, crm.Attr{Node: sn.name, Name: "last-failure-" + a.Rsc.ID + "#start_0", Value: strconv.FormatInt(s.now.Unix(), 10), Lifetime: crm.LifetimeReboot})
			}
		} else {
			err = sn.crm.FailCount(s.now, sn.name, a.Rsc.ID, a.Operation, iv)
		}
		if err != nil {
			s.fatalf("fail count: %v", err)
		}
	}
	id := s.writeLRM(sn, "crmd-te")
	sn.waiting[id] = &pendingExec{req: req, rc: rc}
	s.drain(sn.name)
}

// checkStart: the invariant "no resource active twice among the nodes of
// a quorate partition". A start computed by a DC must not run while the
// resource runs on another member of that DC's view that has stayed in it
// (same view stamp) since the computation: those nodes' state was in the
// CIB the graph came from. Nodes that joined later (a merge) or whose
// view changed are excused: the DC learns their state at the join and
// aborts the graph; see docs/tengine.md.
func (s *simCluster) checkStart(node string, req *execReq) {
	rsc := req.action.Rsc.ID
	for y, st := range req.stamps {
		if y == node || s.nodes[y] == nil || s.stamp[y] != st {
			continue
		}
		if s.lrms[y].running[rsc] {
			s.fatalf("start of %s on %s (transition %d) while it runs on %s, a member of the DC's view since the computation", rsc, node, req.transition, y)
		}
	}
	if !req.quorate {
		s.fatalf("start of %s on %s dispatched by a DC without quorum", rsc, node)
	}
}

// deliver handles every message and view due now.
func (s *simCluster) deliver() {
	for {
		idx := -1
		for i, v := range s.views {
			if !v.at.After(s.now) && (idx < 0 || v.seq < s.views[idx].seq) {
				idx = i
			}
		}
		if idx >= 0 {
			v := s.views[idx]
			s.views = slices.Delete(s.views, idx, idx+1)
			if sn := s.nodes[v.node]; sn != nil {
				old := s.viewOf[v.node]
				sn.crm.SetView(s.now, v.v)
				s.drain(v.node)
				nv := sn.crm.View() // an older view than the one installed is ignored
				if nv.Number == old.Number {
					continue
				}
				if !slices.Equal(old.Members, nv.Members) || old.Number == 0 {
					s.stamp[v.node]++
				}
				s.viewOf[v.node] = nv
				if s.dc != nil && s.dc.node == v.node {
					s.dcView(nv)
				}
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
		s.msgs = slices.Delete(s.msgs, idx, idx+1)
		sn := s.nodes[m.to]
		if sn == nil || s.nodes[m.from] == nil || s.group[m.to] != s.group[m.from] {
			continue
		}
		switch {
		case m.crm != nil:
			if err := sn.crm.StepBytes(s.now, m.from, m.crm); err != nil {
				s.fatalf("%s step from %s: %v", m.to, m.from, err)
			}
			s.drain(m.to)
		case m.exec != nil:
			s.execute(sn, m.exec)
		case m.result != nil:
			d := s.dc
			if d == nil || d.node != m.to || d.eng == nil || d.transition != m.result.transition {
				continue // an older transition's answer
			}
			_ = d.eng.Result(s.now, m.result.id, m.result.res)
			s.pump()
		}
	}
}

// dcView: the DC's view changed: lost targets fail, the graph aborts.
func (s *simCluster) dcView(v crm.View) {
	d := s.dc
	d.needed = true
	d.neededAt = s.now
	if d.eng == nil || d.eng.Done() {
		return
	}
	for _, n := range s.names {
		if _, was := d.stamps[n]; was && !slices.Contains(v.Members, n) {
			d.eng.NodeLost(s.now, n)
		}
	}
	d.eng.Abort(s.now, "view changed")
	s.pump()
}

// pump drains the engine: dispatches go to their targets, Finished ends
// the transition.
func (s *simCluster) pump() {
	d := s.dc
	if d == nil || d.eng == nil {
		return
	}
	r := d.eng.Ready()
	for _, ev := range r.Events {
		if !ev.Started && ev.Failed && ev.Result.Status == tengine.StatusTimeout && ev.Action.Rsc != nil {
			s.recordTimeout(d, ev.Action)
		}
	}
	for _, disp := range r.Dispatch {
		d.ran = true
		s.actions++
		req := &execReq{transition: d.transition, dc: d.node, action: disp.Action, key: disp.Key, stamps: d.stamps,
			startOffset: d.eng.Graph().FailedStartOffset, quorate: s.viewOf[d.node].Quorum}
		if disp.Action.Node == d.node {
			s.seq++
			s.msgs = append(s.msgs, simMsg{at: s.now, seq: s.seq, from: d.node, to: d.node, exec: req})
		} else {
			s.send(simMsg{from: d.node, to: disp.Action.Node, exec: req})
		}
	}
	if f := r.Finished; f != nil {
		s.logf("%s transition %d %s: %s (completed %d failed %d skipped %d)", d.node, d.transition, f.Outcome, f.Reason, f.Completed, f.Failed, f.Skipped)
		if f.Outcome != tengine.Complete {
			s.aborts++
		}
		if d.ran || f.Outcome != tengine.Complete {
			d.needed = true
			d.neededAt = s.now
		}
		d.eng = nil
	}
}

// recordTimeout: an action the engine timed out is recorded in the
// target's status as failed with op-status 2 (what Pacemaker's controller
// does), so the next computation treats the resource as possibly active
// there instead of starting it elsewhere while it may run. The next
// computation waits for this write.
func (s *simCluster) recordTimeout(d *dcDriver, a *tengine.Action) {
	sn := s.nodes[d.node]
	rsc := a.Rsc.ID
	callID := 0
	for _, e := range sn.crm.CIB().Doc().FindElements(fmt.Sprintf("//node_state[@id='%s']//lrm_resource[@id='%s']/lrm_rsc_op", a.Node, rsc)) {
		if c, _ := strconv.Atoi(e.SelectAttrValue("call-id", "0")); c > callID {
			callID = c
		}
	}
	iv := a.Interval.Milliseconds()
	key := a.TransitionKey(d.transition, "sim")
	op := func(id string) string {
		return fmt.Sprintf(`<lrm_rsc_op id="%s" operation_key="%s" operation="%s" crm-feature-set="3.19.0" transition-key="%s" transition-magic="2:1;%s" exit-reason="timed out" on_node="%s" call-id="%d" rc-code="1" op-status="2" interval="%d" last-rc-change="%d" exec-time="0" queue-time="0" op-digest="%s"/>`,
			id, a.OperationKey, a.Operation, key, key, a.Node, callID+1, iv, s.now.Unix(), pengine.OpDigest(a.Attributes, iv))
	}
	last := rsc + "_last_0"
	if iv > 0 {
		last = fmt.Sprintf("%s_monitor_%d", rsc, iv)
	}
	x := fmt.Sprintf(`<lrm_resource id="%s" class="%s" provider="%s" type="%s">%s%s</lrm_resource>`, rsc, a.Rsc.Class, a.Rsc.Provider, a.Rsc.Type, op(rsc+"_last_failure_0"), op(last))
	sn.writeID++
	req := cib.Request{Op: cib.OpModify, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm/lrm_resources", a.Node), XML: []byte(x), Client: "crmd-te"}
	if err := sn.crm.Write(s.now, sn.writeID, req); err != nil {
		s.fatalf("write: %v", err)
	}
	sn.dcWrites[sn.writeID] = true
	s.logf("%s records the timeout of %s on %s", d.node, a.OperationKey, a.Node)
	s.drain(d.node)
}

// driveDC runs the DC's pipeline once per tick.
func (s *simCluster) driveDC() {
	var dcName string
	for _, n := range s.names {
		if sn := s.nodes[n]; sn != nil && sn.crm.Active() {
			if dcName != "" && s.viewOf[n].Quorum && s.viewOf[dcName].Quorum && s.group[n] == s.group[dcName] {
				s.fatalf("two active DCs in one partition: %s and %s", dcName, n)
			}
			if dcName == "" || s.group[n] == 0 {
				dcName = n
			}
		}
	}
	// One driver: the quorate partition's DC (only one partition has quorum).
	if dcName == "" || !s.viewOf[dcName].Quorum {
		s.dc = nil
		return
	}
	if s.dc == nil || s.dc.node != dcName {
		s.logf("%s drives the pipeline", dcName)
		s.dc = &dcDriver{node: dcName, needed: true, neededAt: s.now}
	}
	d := s.dc
	if s.unsolicited {
		s.unsolicited = false
		d.needed, d.neededAt = true, s.now
		if d.eng != nil && !d.eng.Done() {
			d.eng.Abort(s.now, "unsolicited result")
		}
	}
	if d.eng != nil {
		d.eng.Tick(s.now)
		s.pump()
		return
	}
	if !d.needed || s.now.Sub(d.neededAt) < simDebounce || len(s.nodes[d.node].dcWrites) > 0 {
		return
	}
	d.needed = false
	s.compute(d)
}

func (s *simCluster) compute(d *dcDriver) {
	sn := s.nodes[d.node]
	s.transitions++
	s.computations++
	d.transition = s.transitions
	res, err := pengine.Compute(sn.crm.CIB(), pengine.Config{Now: s.now.Unix(), TransitionID: d.transition})
	if err != nil {
		s.fatalf("compute: %v", err)
	}
	g, err := tengine.ParseGraph(res.Graph.XML())
	if err != nil {
		s.fatalf("graph from pengine refused: %v\n%s", err, res.Graph.XML())
	}
	d.viewNum = s.viewOf[d.node].Number
	d.stamps = map[string]uint64{}
	for _, m := range s.viewOf[d.node].Members {
		d.stamps[m] = s.stamp[m]
	}
	d.lastEmpty = len(g.Synapses) == 0
	d.ran = false
	if d.lastEmpty {
		return
	}
	s.logf("%s transition %d: %d actions: %s", d.node, d.transition, g.NumActions(), strings.Join(res.Summary, ";"))
	eng, err := tengine.New(g, "sim", tengine.DefaultConfig(), s.now)
	if err != nil {
		s.fatalf("engine: %v", err)
	}
	d.eng = eng
	s.pump()
}

// step advances virtual time by one tick.
func (s *simCluster) step() {
	end := s.now.Add(simTick)
	for {
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
		s.deliver()
		if !s.now.Before(end) {
			break
		}
	}
	for _, n := range s.names {
		if sn := s.nodes[n]; sn != nil {
			sn.crm.Tick(s.now)
			s.drain(n)
		}
	}
	s.deliver()
	s.driveDC()
}

// Faults.

func (s *simCluster) alive() []string {
	var out []string
	for _, n := range s.names {
		if s.nodes[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *simCluster) monitorFailure() {
	var cands [][2]string
	for _, n := range s.alive() {
		for rsc := range s.lrms[n].monitors {
			if s.lrms[n].running[rsc] {
				cands = append(cands, [2]string{n, rsc})
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i][0]+cands[i][1] < cands[j][0]+cands[j][1] })
	c := cands[s.rng.Intn(len(cands))]
	sn, rsc := s.nodes[c[0]], c[1]
	l := sn.lrm
	iv := l.monitors[rsc]
	delete(l.running, rsc)
	s.monFails++
	s.logf("monitor failure %s on %s", rsc, sn.name)
	// the recurring monitor reports rc 7 (unsolicited, client crmd-lrm)
	for _, o := range l.hist[rsc] {
		if o.interval == iv {
			l.callID++
			o.rc, o.callID = 7, l.callID
			l.record(rsc, o)
			f := o
			f.id = rsc + "_last_failure_0"
			l.record(rsc, f)
			break
		}
	}
	if err := sn.crm.FailCount(s.now, sn.name, rsc, "monitor", iv); err != nil {
		s.fatalf("fail count: %v", err)
	}
	id := s.writeLRM(sn, "crmd-lrm")
	sn.lrmWrite[id] = true
	s.drain(sn.name)
}

func (s *simCluster) randomFault() {
	alive := s.alive()
	switch k := s.rng.Intn(10); {
	case k < 3: // crash a node, keeping a majority
		if 2*(len(s.names)-len(alive)+1) < len(s.names) {
			s.crash(alive[s.rng.Intn(len(alive))])
		}
	case k < 5: // restart a crashed node
		for _, n := range s.names {
			if s.nodes[n] == nil {
				s.restart(n)
				break
			}
		}
	case k < 6: // partition
		s.partitions++
		cut := 1 + s.rng.Intn(len(s.names)-1)
		perm := s.rng.Perm(len(s.names))
		for i, p := range perm {
			g := 1
			if i < cut {
				g = 2
			}
			s.group[s.names[p]] = g
		}
		s.logf("partition %v", s.group)
		s.recomputeViews()
	case k < 7: // heal
		s.heal()
	case k < 9:
		s.monitorFailure()
	default: // the next start of a resource on a node fails
		if len(alive) > 0 {
			n := alive[s.rng.Intn(len(alive))]
			rsc := simRscs[s.rng.Intn(len(simRscs))]
			s.lrms[n].failNext[rsc] = true
			s.startFails++
			s.logf("next start of %s on %s fails", rsc, n)
		}
	}
}

func (s *simCluster) heal() {
	s.logf("heal")
	for _, n := range s.names {
		s.group[n] = 0
	}
	s.recomputeViews()
}

var activeRE = regexp.MustCompile(`^\s*\* (\S+)\s+\(([^)]*)\):\s+(\S+)(?: (\S+))?`)

// converged reports whether the quorate DC's last computation was empty,
// with no transition running and nothing pending.
func (s *simCluster) converged() bool {
	d := s.dc
	if d == nil || d.eng != nil || d.needed || !d.lastEmpty || len(s.views) > 0 || len(s.alive()) != len(s.names) {
		return false
	}
	if len(s.viewOf[d.node].Members) != len(s.names) || s.unsolicited {
		return false
	}
	v := s.nodes[d.node].crm.Version()
	for _, n := range s.names {
		sn := s.nodes[n]
		if len(sn.waiting) > 0 || len(sn.lrmWrite) > 0 || len(sn.dcWrites) > 0 || sn.crm.Version() != v {
			return false
		}
	}
	return true
}

// finalCheck: the CIB's status agrees with the lrms, pengine wants nothing.
func (s *simCluster) finalCheck() {
	sn := s.nodes[s.dc.node]
	res, err := pengine.Compute(sn.crm.CIB(), pengine.Config{Now: s.now.Unix(), TransitionID: 999})
	if err != nil {
		s.fatalf("compute: %v", err)
	}
	if len(res.Graph.Synapses) != 0 {
		s.fatalf("not converged: the final graph has %d synapses: %q", len(res.Graph.Synapses), res.Summary)
	}
	cibSays := map[string]string{}
	for _, l := range res.CurrentStatus {
		m := activeRE.FindStringSubmatch(l)
		if m == nil || !slices.Contains(simRscs, m[1]) {
			continue
		}
		switch m[3] {
		case "Started":
			cibSays[m[1]] = m[4]
		case "Stopped", "Stopped:":
		default:
			s.fatalf("resource %s in state %q in the final status:\n%s", m[1], m[3], strings.Join(res.CurrentStatus, "\n"))
		}
	}
	for _, rsc := range simRscs {
		var on []string
		for _, n := range s.names {
			if s.lrms[n].running[rsc] {
				on = append(on, n)
			}
		}
		if len(on) > 1 {
			s.fatalf("%s active on %v after convergence", rsc, on)
		}
		want := cibSays[rsc]
		got := ""
		if len(on) == 1 {
			got = on[0]
		}
		if got != want {
			s.fatalf("%s: the CIB says %q, the lrms say %q\n%s", rsc, want, got, strings.Join(res.CurrentStatus, "\n"))
		}
	}
	// Every node's replica holds the same CIB.
	v := sn.crm.Version()
	for _, n := range s.names {
		if w := s.nodes[n].crm.Version(); w != v {
			s.fatalf("%s at %s, DC at %s", n, w, v)
		}
	}
}

// runSchedule: faults for faultTime, then heal and restart everything and
// wait for convergence.
func runSchedule(t testing.TB, seed int64) *simCluster {
	rng := rand.New(rand.NewSource(seed))
	s := newSimCluster(t, seed, 3+rng.Intn(3))
	faultTime := 30 * time.Second
	start := s.now
	nextFault := s.now.Add(2 * time.Second)
	s.dropP = 0.01
	for s.now.Sub(start) < faultTime {
		if !s.now.Before(nextFault) {
			s.randomFault()
			nextFault = s.now.Add(500*time.Millisecond + time.Duration(s.rng.Int63n(int64(3*time.Second))))
		}
		s.step()
	}
	s.dropP = 0
	s.heal()
	for _, n := range s.names {
		if s.nodes[n] == nil {
			s.restart(n)
		}
	}
	healed := s.now
	for !s.converged() {
		if s.now.Sub(healed) > 60*time.Second {
			d := "none"
			if s.dc != nil {
				d = fmt.Sprintf("%s eng=%v needed=%v lastEmpty=%v", s.dc.node, s.dc.eng != nil, s.dc.needed, s.dc.lastEmpty)
			}
			for _, n := range s.names {
				if sn := s.nodes[n]; sn != nil {
					d += fmt.Sprintf("; %s view %v waiting %d lrm writes %d", n, s.viewOf[n].Members, len(sn.waiting), len(sn.lrmWrite))
				}
			}
			d += fmt.Sprintf("; views pending %d unsolicited %v", len(s.views), s.unsolicited)
			if s.dc != nil && s.dc.eng != nil {
				d += fmt.Sprintf("; engine running %d next deadline %v", s.dc.eng.Running(), s.dc.eng.NextDeadline())
			}
			s.fatalf("no convergence 60 s after healing (dc %s)", d)
		}
		s.step()
	}
	s.finalCheck()
	return s
}

// TestConvergence runs random fault schedules through the whole DC
// pipeline (crm + pengine + tengine + simulated lrms). TENGINE_SEED=N
// replays one seed; TENGINE_SEEDS=N runs N seeds.
func TestConvergence(t *testing.T) {
	if v := os.Getenv("TENGINE_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		s := runSchedule(t, seed)
		t.Logf("seed %d: %d transitions, %d actions, %d aborts, %d crashes, %d partitions, %d monitor failures, %d start failures\n%s",
			seed, s.transitions, s.actions, s.aborts, s.crashes, s.partitions, s.monFails, s.startFails, strings.Join(s.log, "\n"))
		return
	}
	n := 100
	if testing.Short() {
		n = 20
	}
	if v := os.Getenv("TENGINE_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	var trans, acts, aborts, crashes, parts, mons, starts, retrans int
	for seed := int64(1); seed <= int64(n); seed++ {
		s := runSchedule(t, seed)
		trans += s.transitions
		acts += s.actions
		aborts += s.aborts
		crashes += s.crashes
		parts += s.partitions
		mons += s.monFails
		starts += s.startFails
		retrans += s.retransmits
	}
	t.Logf("%d seeds: %d transitions, %d actions, %d aborted; faults: %d crashes, %d partitions, %d monitor failures, %d failing starts, %d retransmitted messages",
		n, trans, acts, aborts, crashes, parts, mons, starts, retrans)
	fmt.Printf("sim: tengine schedules=%d violations=0\n", n) // a violation stops the test before this line
}
