package cts

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errSkip is returned by a test that does not apply to this cluster
// (NodeKill without fencing).
var errSkip = errors.New("skipped")

// testFunc runs one test. It starts from a healthy cluster (every node
// up, nothing cut) and leaves one; settle runs the checks at each point
// where the cluster must be stable. An error is a failure of the test's
// own actions.
type testFunc func(e *env, r *rand.Rand) error

// tests in Pacemaker's CTS order.
var tests = []struct {
	name string
	f    testFunc
}{
	{"StartOnebyOne", testStartOnebyOne},
	{"SimulStart", testSimulStart},
	{"SimulStop", testSimulStop},
	{"StopOnebyOne", testStopOnebyOne},
	{"RestartOnebyOne", testRestartOnebyOne},
	{"PartialStart", testPartialStart},
	{"Standby", testStandby},
	{"MaintenanceMode", testMaintenanceMode},
	{"ResourceRecover", testResourceRecover},
	{"ComponentFail", testComponentFail},
	{"SplitBrain", testSplitBrain},
	{"NearQuorumPoint", testNearQuorumPoint},
	{"Reattach", testReattach},
	{"NodeKill", testNodeKill},
	{"AsymmetricLink", testAsymmetricLink},
	{"LinkFlap", testLinkFlap},
	{"SerialLinkLoss", testSerialLinkLoss},
}

var testByName = func() map[string]testFunc {
	m := map[string]testFunc{}
	for _, t := range tests {
		m[t.name] = t.f
	}
	return m
}()

// TestNames lists the suite's tests.
func TestNames() []string {
	var n []string
	for _, t := range tests {
		n = append(n, t.name)
	}
	return n
}

// pick returns k distinct random node indices.
func pick(r *rand.Rand, n, k int) []int {
	p := r.Perm(n)[:k]
	sort.Ints(p)
	return p
}

func (e *env) names(idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, e.name(i))
	}
	return strings.Join(s, ",")
}

func all(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// stopAll stops every node at once, cleanly, and checks that nothing is
// left active.
func (e *env) stopAll() error {
	// SIGTERM to every systoled at once, then wait for each (the lab's
	// calls are not made for concurrent use)
	for i, nd := range e.c.Nodes {
		e.restartsOK[i] = true
		if nd.Pid > 0 {
			_ = syscall.Kill(nd.Pid, syscall.SIGTERM)
		}
	}
	for i := range e.c.Nodes {
		if err := e.stopRaw(i); err != nil {
			return err
		}
	}
	e.checkLeftNothing(all(len(e.c.Nodes)))
	e.settle("all stopped")
	return nil
}

// checkLeftNothing: a node stopped cleanly has stopped its resources.
// What it left is reported, then removed (as its next boot would), so
// that the following checks are about the rest of the cluster.
func (e *env) checkLeftNothing(idx []int) {
	for _, i := range idx {
		var left []string
		ents, _ := os.ReadDir(e.c.Nodes[i].RscTmp())
		for _, ent := range ents {
			if strings.HasPrefix(ent.Name(), "Dummy-") {
				left = append(left, ent.Name())
				_ = os.Remove(filepath.Join(e.c.Nodes[i].RscTmp(), ent.Name()))
			}
		}
		addrs, _ := e.c.Addrs(i)
		for _, a := range addrs {
			if a != e.c.Nodes[i].Addr {
				left = append(left, a.String())
			}
		}
		if len(left) > 0 {
			e.leftActive[e.name(i)] = true
			e.violate("left-active", "%s stopped cleanly but left its resources active: %s (removed by the suite)", e.name(i), strings.Join(left, " "))
			_ = e.c.FlushExtraAddrs(i)
		}
	}
}

func testStartOnebyOne(e *env, r *rand.Rand) error {
	if err := e.stopAll(); err != nil {
		return err
	}
	for _, i := range r.Perm(len(e.c.Nodes)) {
		if err := e.startNode(i); err != nil {
			return err
		}
		e.settle("started " + e.name(i))
	}
	return nil
}

func testSimulStart(e *env, _ *rand.Rand) error {
	if err := e.stopAll(); err != nil {
		return err
	}
	if err := e.startAll(); err != nil {
		return err
	}
	e.settle("all started")
	return nil
}

func testSimulStop(e *env, _ *rand.Rand) error {
	if err := e.stopAll(); err != nil {
		return err
	}
	if err := e.startAll(); err != nil {
		return err
	}
	e.settle("all started again")
	return nil
}

func testStopOnebyOne(e *env, r *rand.Rand) error {
	for _, i := range r.Perm(len(e.c.Nodes)) {
		if err := e.stopNode(i); err != nil {
			return err
		}
		e.settle("stopped " + e.name(i))
	}
	if err := e.startAll(); err != nil {
		return err
	}
	e.settle("all started")
	return nil
}

func testRestartOnebyOne(e *env, r *rand.Rand) error {
	for _, i := range r.Perm(len(e.c.Nodes)) {
		if err := e.stopNode(i); err != nil {
			return err
		}
		if err := e.startNode(i); err != nil {
			return err
		}
		e.settle("restarted " + e.name(i))
	}
	return nil
}

// testPartialStart starts a node and stops it again before it is fully
// up (Pacemaker's PartialStart).
func testPartialStart(e *env, r *rand.Rand) error {
	i := r.IntN(len(e.c.Nodes))
	if err := e.stopNode(i); err != nil {
		return err
	}
	e.settle("stopped " + e.name(i))
	if err := e.startNode(i); err != nil {
		return err
	}
	time.Sleep(time.Duration(r.IntN(1500)) * time.Millisecond)
	if err := e.stopNode(i); err != nil {
		return err
	}
	e.settle("stopped while starting " + e.name(i))
	if err := e.startNode(i); err != nil {
		return err
	}
	e.settle("started " + e.name(i))
	return nil
}

func testStandby(e *env, r *rand.Rand) error {
	i := r.IntN(len(e.c.Nodes))
	q := e.quorateNode()
	if _, err := e.tool(q, "crm_standby", "-N", e.name(i), "-v", "on"); err != nil {
		return err
	}
	e.settle(e.name(i) + " in standby")
	if truth, _ := e.groundTruth(); true {
		for _, pr := range primitives {
			for _, n := range truth[pr.ID] {
				if n == e.name(i) {
					e.violate("standby", "%s active on %s in standby", pr.ID, n)
				}
			}
		}
	}
	if _, err := e.tool(q, "crm_standby", "-N", e.name(i), "-v", "off"); err != nil {
		return err
	}
	e.settle(e.name(i) + " online")
	return nil
}

// stateFiles returns node -> Dummy state file -> modification time.
func (e *env) stateFiles() map[string]time.Time {
	m := map[string]time.Time{}
	for _, i := range e.runningNodes() {
		ents, _ := os.ReadDir(e.c.Nodes[i].RscTmp())
		for _, ent := range ents {
			if fi, err := ent.Info(); err == nil && strings.HasPrefix(ent.Name(), "Dummy-") {
				m[e.name(i)+"/"+ent.Name()] = fi.ModTime()
			}
		}
	}
	return m
}

// compareStateFiles reports state files that appeared, disappeared or
// were rewritten (a restart) between two snapshots, except skip.
func (e *env) compareStateFiles(phase string, before, after map[string]time.Time, skip string) {
	for k, t := range before {
		if k == skip {
			continue
		}
		if t2, ok := after[k]; !ok {
			e.violate("untouched", "%s: %s disappeared", phase, k)
		} else if !t2.Equal(t) {
			e.violate("untouched", "%s: %s rewritten (a restart)", phase, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && k != skip {
			e.violate("untouched", "%s: %s appeared", phase, k)
		}
	}
}

// testMaintenanceMode: with maintenance-mode on, a resource that fails is
// neither noticed nor recovered and nothing else is touched; with it off
// again, the cluster recovers.
func testMaintenanceMode(e *env, r *rand.Rand) error {
	q := e.quorateNode()
	if _, err := e.tool(q, "crm_attribute", "-t", "crm_config", "-n", "maintenance-mode", "-v", "true"); err != nil {
		return err
	}
	e.settle("maintenance-mode on")
	before := e.stateFiles()
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	victim := ""
	if len(keys) > 0 {
		victim = keys[r.IntN(len(keys))]
		node, file, _ := strings.Cut(victim, "/")
		if err := os.Remove(filepath.Join(e.c.Nodes[e.c.Index(node)].RscTmp(), file)); err != nil {
			return err
		}
	}
	time.Sleep(5 * time.Second) // two and a half monitor intervals
	e.compareStateFiles("maintenance (removed "+victim+")", before, e.stateFiles(), victim)
	if _, err := e.tool(q, "crm_attribute", "-t", "crm_config", "-n", "maintenance-mode", "-v", "false"); err != nil {
		return err
	}
	e.settle("maintenance-mode off")
	return e.cleanupAll(q)
}

// cleanupAll clears every resource's failures (crm_resource -C).
func (e *env) cleanupAll(q int) error {
	if _, err := e.tool(q, "crm_resource", "-C"); err != nil {
		return err
	}
	e.settle("cleanup")
	return nil
}

// testResourceRecover fails a running Dummy (its state file is removed):
// its monitor notices and the cluster recovers it.
func testResourceRecover(e *env, r *rand.Rand) error {
	before := e.stateFiles()
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return errors.New("no Dummy resource is running")
	}
	sort.Strings(keys)
	victim := keys[r.IntN(len(keys))]
	node, file, _ := strings.Cut(victim, "/")
	if err := os.Remove(filepath.Join(e.c.Nodes[e.c.Index(node)].RscTmp(), file)); err != nil {
		return err
	}
	inst := strings.TrimSuffix(strings.TrimPrefix(file, "Dummy-"), ".state")
	rsc, _ := instanceOf(inst)
	// the failure is noticed by the next monitor (2 s): wait until the
	// DC's CIB records it, then for the recovery
	deadline := time.Now().Add(30 * time.Second)
	for {
		dc, _ := e.dcIndex()
		if dc >= 0 {
			if x, err := e.c.Query(dc); err == nil && x.FindElement(fmt.Sprintf("./status/node_state[@uname='%s']/lrm/lrm_resources/lrm_resource/lrm_rsc_op[@rc-code='7'][@operation='monitor']", node)) != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			e.violate("recover", "failure of %s on %s (state file removed) not recorded within 30 s", rsc, node)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.settle(fmt.Sprintf("%s failed on %s", rsc, node))
	q := e.quorateNode()
	if out, err := e.tool(q, "crm_resource", "-C", "-r", rsc); err != nil {
		return fmt.Errorf("cleanup of %s: %w: %s", rsc, err, out)
	}
	e.settle("cleanup of " + rsc)
	return nil
}

// daemons are the processes ComponentFail kills.
var daemons = []string{"messagingd", "membershipd", "lrmd", "crmd", "pengine", "tengine"}

// stackDaemons are those whose crash restarts the node's whole stack
// (cmd/systoled: RestartStack).
var stackDaemons = map[string]bool{"messagingd": true, "membershipd": true, "lrmd": true, "crmd": true}

func testComponentFail(e *env, r *rand.Rand) error {
	i := r.IntN(len(e.c.Nodes))
	d := daemons[r.IntN(len(daemons))]
	e.restartsOK[i] = true
	if stackDaemons[d] {
		e.stackRestarted[e.name(i)] = true
	}
	e.note("killed %s on %s", d, e.name(i))
	if err := e.c.KillDaemon(i, d); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	e.settle(fmt.Sprintf("%s killed on %s", d, e.name(i)))
	return nil
}

// isolate cuts nodes off, each alone: nftables drops their LAN traffic
// (or only what they receive, oneWay) and their serial cables stop.
// heal undoes it.
func (e *env) isolate(idx []int, oneWay bool) error {
	e.setSplitOK(!e.stonith())
	// all at once (CutLinks keeps no lab state): a split, not a series
	// of single failures
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		e.setIsolated(i, true)
		wg.Add(1)
		go func() { defer wg.Done(); errs[k] = e.c.CutLinks(i, oneWay) }()
	}
	wg.Wait()
	return errors.Join(append(errs, e.syncCables())...)
}

func (e *env) heal(idx []int) error {
	for _, i := range idx {
		if err := e.c.Heal(i); err != nil {
			return err
		}
		e.setIsolated(i, false)
	}
	return e.syncCables()
}

// syncCables pauses every serial cable with an isolated end and resumes
// the others.
func (e *env) syncCables() error {
	var errs []error
	for k, l := range e.c.Serial {
		e.mu.Lock()
		cut := e.isolated[l.A] || e.isolated[l.B]
		e.mu.Unlock()
		if cut {
			errs = append(errs, e.c.PauseSerial(k))
		} else {
			errs = append(errs, e.c.ResumeSerial(k))
		}
	}
	return errors.Join(errs...)
}

// testSplitBrain cuts a random minority off, each node alone, writes
// through the majority, heals, and checks that the partitions merge.
func testSplitBrain(e *env, r *rand.Rand) error {
	n := len(e.c.Nodes)
	k := 1 + r.IntN((n-1)/2)
	idx := pick(r, n, k)
	e.note("isolated %s", e.names(idx))
	if err := e.isolate(idx, false); err != nil {
		return err
	}
	e.settle("split " + e.names(idx))
	e.write(e.quorateNode(), "split")
	if err := e.heal(idx); err != nil {
		return err
	}
	e.settle("healed " + e.names(idx))
	e.setSplitOK(false)
	return nil
}

// testNearQuorumPoint powers off the largest minority (the rest keeps
// quorum) or the smallest majority (the rest loses it and must stop every
// resource), at once; then boots them.
func testNearQuorumPoint(e *env, r *rand.Rand) error {
	n := len(e.c.Nodes)
	k := (n - 1) / 2
	if r.IntN(2) == 1 {
		k = n/2 + 1
	}
	idx := pick(r, n, k)
	e.note("powered off %s", e.names(idx))
	for _, i := range idx { // one after the other: milliseconds apart
		if err := e.killNode(i); err != nil {
			return err
		}
	}
	e.settle(fmt.Sprintf("%d of %d nodes off", k, n))
	if q := e.quorateNode(); q >= 0 {
		e.write(q, "near-quorum")
	}
	for _, i := range idx {
		if err := e.startNode(i); err != nil {
			return err
		}
	}
	e.settle("booted " + e.names(idx))
	return nil
}

// testReattach: with every resource unmanaged, the CRM and LRM daemons of
// every node are killed and restarted; the resources must be found where
// they run and not restarted, also once managed again.
func testReattach(e *env, _ *rand.Rand) error {
	q := e.quorateNode()
	if _, err := e.tool(q, "cibadmin", "-C", "-o", "rsc_defaults", "-X",
		`<meta_attributes id="cts-unmanage"><nvpair id="cts-unmanage-m" name="is-managed" value="false"/></meta_attributes>`); err != nil {
		return err
	}
	e.settle("unmanaged")
	before := e.stateFiles()
	for i := range e.c.Nodes {
		e.restartsOK[i] = true
		e.stackRestarted[e.name(i)] = true
		for _, d := range []string{"lrmd", "crmd"} {
			if err := e.c.KillDaemon(i, d); err != nil {
				e.note("kill %s on %s: %v", d, e.name(i), err)
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	e.settle("daemons restarted")
	e.compareStateFiles("reattach", before, e.stateFiles(), "")
	if _, err := e.tool(e.quorateNode(), "cibadmin", "-D", "-o", "rsc_defaults", "-X", `<meta_attributes id="cts-unmanage"/>`); err != nil {
		return err
	}
	e.settle("managed again")
	e.compareStateFiles("managed again", before, e.stateFiles(), "")
	return nil
}

// testNodeKill powers a node off with fencing on: the cluster fences it
// before recovering its resources. Skipped while stonith-enabled=false.
func testNodeKill(e *env, r *rand.Rand) error {
	if !e.stonith() {
		return errSkip
	}
	i := r.IntN(len(e.c.Nodes))
	e.note("powered off %s", e.name(i))
	e.expectFenced(i)
	if err := e.killNode(i); err != nil {
		return err
	}
	e.settle(e.name(i) + " powered off")
	if err := e.startNode(i); err != nil {
		return err
	}
	e.settle(e.name(i) + " booted")
	return nil
}

// testAsymmetricLink: a node still sends but hears nothing.
func testAsymmetricLink(e *env, r *rand.Rand) error {
	i := r.IntN(len(e.c.Nodes))
	e.note("one-way cut of %s", e.name(i))
	if err := e.isolate([]int{i}, true); err != nil {
		return err
	}
	e.settle(e.name(i) + " deaf")
	if err := e.heal([]int{i}); err != nil {
		return err
	}
	e.settle(e.name(i) + " healed")
	e.setSplitOK(false)
	return nil
}

// viewNumber returns the view number node i's crmd holds (-1 unknown).
func (e *env) viewNumber(i int) int64 {
	st, err := e.status(i)
	if err != nil {
		return -1
	}
	return st.GetViewNumber()
}

// testLinkFlap: a node's LAN cable is pulled for less than the deadtime,
// several times (no membership change allowed), then once for longer
// than the deadtime (the node leaves and comes back).
func testLinkFlap(e *env, r *rand.Rand) error {
	i := r.IntN(len(e.c.Nodes))
	other := (i + 1) % len(e.c.Nodes)
	v0 := e.viewNumber(other)
	dead := e.deadtime()
	flaps := 3 + r.IntN(4)
	for range flaps {
		down := time.Duration(float64(dead) * (0.2 + 0.3*r.Float64())) // 20-50 % of the deadtime
		if err := e.c.SetBridgePort(i, false); err != nil {
			return err
		}
		time.Sleep(down)
		if err := e.c.SetBridgePort(i, true); err != nil {
			return err
		}
		time.Sleep(time.Duration(float64(dead) * (0.5 + r.Float64())))
	}
	time.Sleep(dead)
	if v1 := e.viewNumber(other); v1 != v0 {
		e.violate("view-change", "%d flaps of %s shorter than the deadtime changed the view (%d -> %d)", flaps, e.name(i), v0, v1)
	}
	e.settle(fmt.Sprintf("%d short flaps of %s", flaps, e.name(i)))
	e.setIsolated(i, true)
	e.setSplitOK(!e.stonith())
	if err := e.c.SetBridgePort(i, false); err != nil {
		return err
	}
	if err := e.syncCables(); err != nil { // a cable would keep it in
		return err
	}
	e.settle(e.name(i) + " port and cables down")
	if err := e.c.SetBridgePort(i, true); err != nil {
		return err
	}
	e.setIsolated(i, false)
	if err := e.syncCables(); err != nil {
		return err
	}
	e.settle(e.name(i) + " port up")
	e.setSplitOK(false)
	return nil
}

// testSerialLinkLoss: the nodes have serial cables (a star around
// node1). A random cable stops carrying data for a few deadtimes while the
// LAN works: nothing may change. Then node1's LAN cable is pulled while
// its serial cables work: node1 must stay a member (no view change, no
// resource moved) and a CIB write through node1 is acknowledged over the
// cables.
func testSerialLinkLoss(e *env, r *rand.Rand) error {
	if len(e.c.Serial) == 0 {
		return errSkip
	}
	k := r.IntN(len(e.c.Serial))
	l := e.c.Serial[k]
	v0 := e.viewNumber(l.A)
	before := e.stateFiles()
	e.note("cable %s-%s paused", e.name(l.A), e.name(l.B))
	if err := e.c.PauseSerial(k); err != nil {
		return err
	}
	time.Sleep(4 * e.deadtime())
	if v1 := e.viewNumber(l.A); v1 != v0 {
		e.violate("view-change", "losing the serial cable %s-%s changed the view (%d -> %d) while the LAN works", e.name(l.A), e.name(l.B), v0, v1)
	}
	if err := e.c.ResumeSerial(k); err != nil {
		return err
	}
	time.Sleep(2 * e.deadtime())
	e.settle("cable " + e.name(l.A) + "-" + e.name(l.B) + " back")
	hub := l.A
	v0 = e.viewNumber((hub + 1) % len(e.c.Nodes))
	e.note("%s's LAN cable pulled", e.name(hub))
	if err := e.c.SetBridgePort(hub, false); err != nil {
		return err
	}
	time.Sleep(4 * e.deadtime())
	if v1 := e.viewNumber((hub + 1) % len(e.c.Nodes)); v1 != v0 {
		e.violate("view-change", "%s lost its LAN but kept a serial cable to every node, and the view changed (%d -> %d)", e.name(hub), v0, v1)
	}
	n := len(e.acked)
	e.write(hub, "over-serial")
	if len(e.acked) == n {
		e.violate("acked", "a CIB write through %s (LAN down, serial cables up) was not acknowledged", e.name(hub))
	}
	if err := e.c.SetBridgePort(hub, true); err != nil {
		return err
	}
	time.Sleep(2 * e.deadtime())
	e.compareStateFiles("serial link loss", before, e.stateFiles(), "")
	e.settle("LAN back")
	return nil
}
