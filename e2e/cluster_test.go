package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/internal/lab"
)

// groupXML is a group of a virtual IP and a Dummy, both monitored every
// second.
func groupXML(id, dummy string) string {
	return fmt.Sprintf(`<group id="%[1]s">
  <primitive id="%[1]s-ip" class="ocf" provider="systole" type="IPaddr">
    <instance_attributes id="%[1]s-ip-ia">
      <nvpair id="%[1]s-ip-ip" name="ip" value="%[3]s"/>
      <nvpair id="%[1]s-ip-nm" name="cidr_netmask" value="24"/>
      <nvpair id="%[1]s-ip-nic" name="nic" value="eth0"/>
    </instance_attributes>
    <operations><op id="%[1]s-ip-mon" name="monitor" interval="1s" timeout="20s"/></operations>
  </primitive>
  <primitive id="%[2]s" class="ocf" provider="systole" type="Dummy">
    <operations><op id="%[2]s-mon" name="monitor" interval="1s" timeout="20s"/></operations>
  </primitive>
</group>`, id, dummy, vip)
}

// dummyXML is a Dummy with optional meta attributes, op_sleep and monitor
// interval ("" for none).
func dummyXML(id string, meta map[string]string, sleep, monitor string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<primitive id="%s" class="ocf" provider="systole" type="Dummy">`, id)
	if len(meta) > 0 {
		fmt.Fprintf(&b, `<meta_attributes id="%s-meta">`, id)
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, `<nvpair id="%s-meta-%s" name="%s" value="%s"/>`, id, k, k, meta[k])
		}
		b.WriteString(`</meta_attributes>`)
	}
	if sleep != "" {
		fmt.Fprintf(&b, `<instance_attributes id="%s-ia"><nvpair id="%s-ia-sleep" name="op_sleep" value="%s"/></instance_attributes>`, id, id, sleep)
	}
	if monitor != "" {
		fmt.Fprintf(&b, `<operations><op id="%s-mon" name="monitor" interval="%s" timeout="20s"/></operations>`, id, monitor)
	}
	b.WriteString(`</primitive>`)
	return b.String()
}

// groupOn waits until the group (VIP and Dummy dummy) runs on exactly one
// node, both members on the same one, satisfying ok, and returns it.
func groupOn(t testing.TB, c *lab.Cluster, dummy string, ok func(int) bool) int {
	t.Helper()
	n := -1
	waitFor(t, "the group on one node", rscTimeout, func() (bool, string) {
		r, v := running(c, dummy), vipOn(c)
		if len(r) == 1 && len(v) == 1 && r[0] == v[0] && (ok == nil || ok(r[0])) {
			n = r[0]
			return true, ""
		}
		return false, fmt.Sprintf("dummy on %v, VIP on %v", names(c, r), names(c, v))
	})
	return n
}

// TestFailover: the node running a group of IPaddr + Dummy is powered off:
// the group runs elsewhere and the VIP answers a watcher namespace. Then
// the DC (not running the group) is powered off: a new DC, the group keeps
// running where it was, not restarted.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	t.Parallel()
	c := newCluster(t)
	p := addWatcher(t, c)
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", groupXML("g", "gd"))
	n := groupOn(t, c, "gd", nil)
	if _, ok := p.FirstReply(time.Now(), 20*time.Second); !ok {
		t.Fatalf("the VIP on %s does not answer the watcher", c.Nodes[n].Name)
	}
	dc := dcIndex(c)
	t.Logf("group on %s, DC %s", c.Nodes[n].Name, c.Nodes[max(dc, 0)].Name)

	// 1. the node running the group dies
	t0 := time.Now()
	if err := c.PowerOff(n); err != nil {
		t.Fatal(err)
	}
	m := groupOn(t, c, "gd", func(i int) bool { return i != n })
	r, ok := p.FirstReply(t0, 30*time.Second)
	if !ok {
		t.Fatalf("the VIP on %s does not answer the watcher", c.Nodes[m].Name)
	}
	t.Logf("failover of the group's node %s to %s: VIP answers after %v", c.Nodes[n].Name, c.Nodes[m].Name, r.Received.Sub(t0))
	out := tool(t, c, m, "crm_mon", "-1")
	for _, want := range []string{"g-ip\t(ocf:systole:IPaddr):\t Started " + c.Nodes[m].Name, "gd\t(ocf:systole:Dummy):\t Started " + c.Nodes[m].Name} {
		if !strings.Contains(out, want) {
			t.Errorf("crm_mon on %s lacks %q:\n%s", c.Nodes[m].Name, want, out)
		}
	}
	if err := c.PowerOn(n); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted node in the DC's view", dcTimeout, func() (bool, string) {
		d := dcIndex(c)
		if d < 0 {
			return false, "no agreed DC"
		}
		x, err := c.Query(d)
		if err != nil {
			return false, err.Error()
		}
		ns := nodeState(x, c.Nodes[n].Name)
		return ns != nil && ns.SelectAttrValue("crmd", "") == "online", "not online in the DC's status"
	})
	settle(t, c)

	// 2. the DC dies while the group runs on another node: place it away
	// from the DC first
	dc = dcIndex(c)
	k := (dc + 1) % len(c.Nodes)
	tool(t, c, k, "cibadmin", "-C", "-o", "constraints", "-X",
		fmt.Sprintf(`<rsc_location id="g-loc" rsc="g" node="%s" score="1000"/>`, c.Nodes[k].Name))
	groupOn(t, c, "gd", func(i int) bool { return i == k })
	settle(t, c)
	if _, ok := p.FirstReply(time.Now(), 20*time.Second); !ok {
		t.Fatalf("the VIP on %s does not answer the watcher", c.Nodes[k].Name)
	}
	before := mtime(c, k, "gd")
	oldDC := c.Nodes[dc].Name
	t0 = time.Now()
	if err := c.PowerOff(dc); err != nil {
		t.Fatal(err)
	}
	var newDC string
	waitFor(t, "a new DC", dcTimeout, func() (bool, string) {
		newDC = c.DC()
		return newDC != "" && newDC != oldDC, "DC " + newDC
	})
	t.Logf("DC %s powered off: %s is DC after %v", oldDC, newDC, time.Since(t0))
	settle(t, c)
	if r := running(c, "gd"); !slices.Equal(r, []int{k}) {
		t.Errorf("after the DC's loss gd runs on %v, want %s", names(c, r), c.Nodes[k].Name)
	}
	if v := vipOn(c); !slices.Equal(v, []int{k}) {
		t.Errorf("after the DC's loss the VIP is on %v, want %s", names(c, v), c.Nodes[k].Name)
	}
	if after := mtime(c, k, "gd"); !after.Equal(before) {
		t.Errorf("gd was restarted on %s after the DC's loss (state file %v -> %v)", c.Nodes[k].Name, before, after)
	}
	if _, ok := p.FirstReply(time.Now(), 10*time.Second); !ok {
		t.Errorf("the VIP does not answer after the DC's loss")
	}
	if out := tool(t, c, k, "crm_mon", "-1"); !strings.Contains(out, "Current DC: "+newDC) {
		t.Errorf("crm_mon does not show the new DC %s:\n%s", newDC, out)
	}
	// the old DC comes back: the location constraint keeps the group
	if err := c.PowerOn(dc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDC(dcTimeout); err != nil {
		t.Fatal(err)
	}
	settle(t, c)
	if r := running(c, "gd"); !slices.Equal(r, []int{k}) {
		t.Errorf("after the old DC's return gd runs on %v, want %s", names(c, r), c.Nodes[k].Name)
	}
}

// TestPolicies runs on one cluster with resource-stickiness 100: crm_resource
// move/ban/clear, constraints live, monitor failure and
// migration-threshold, standby.
func TestPolicies(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	t.Parallel()
	c := newCluster(t)
	tool(t, c, 0, "crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-v", "100")
	// a failed subtest fails this test too, so NewCluster's cleanup
	// prints the daemons' logs
	t.Run("crm_resource", func(t *testing.T) { testMoveBanClear(t, c) })
	t.Run("constraints", func(t *testing.T) { testConstraints(t, c) })
	t.Run("monitor-failure", func(t *testing.T) { testMonitorFailure(t, c) })
	t.Run("standby", func(t *testing.T) { testStandby(t, c) })
}

func cliConstraints(t *testing.T, c *lab.Cluster, rsc string) []string {
	var r []string
	for _, id := range constraintIDs(query(t, c, anyAlive(c))) {
		if strings.HasPrefix(id, "cli-") && strings.Contains(id, "-"+rsc) {
			r = append(r, id)
		}
	}
	return r
}

// testMoveBanClear: crm_resource --move to a node, --ban from it, --clear
// (the resource then stays, stickiness).
func testMoveBanClear(t *testing.T, c *lab.Cluster) {
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", dummyXML("r1", nil, "", "10s"))
	n := runsOnOne(t, c, "r1", nil)
	k := (n + 1) % len(c.Nodes)
	kn := c.Nodes[k].Name
	tool(t, c, 1, "crm_resource", "--move", "-r", "r1", "-N", kn)
	runsOnOne(t, c, "r1", func(i int) bool { return i == k })
	if ids := cliConstraints(t, c, "r1"); !slices.Contains(ids, "cli-prefer-r1") {
		t.Errorf("after --move the constraints are %v, want cli-prefer-r1", ids)
	}
	if out := tool(t, c, 2, "crm_resource", "-W", "-r", "r1"); !strings.Contains(out, kn) {
		t.Errorf("crm_resource -W: %q, want %s", out, kn)
	}
	tool(t, c, 2, "crm_resource", "--ban", "-r", "r1", "-N", kn)
	j := runsOnOne(t, c, "r1", func(i int) bool { return i != k })
	if ids := cliConstraints(t, c, "r1"); !slices.Contains(ids, "cli-ban-r1-on-"+kn) {
		t.Errorf("after --ban the constraints are %v, want cli-ban-r1-on-%s", ids, kn)
	}
	settle(t, c)
	before := mtime(c, j, "r1")
	tool(t, c, 0, "crm_resource", "--clear", "-r", "r1")
	if ids := cliConstraints(t, c, "r1"); len(ids) != 0 {
		t.Errorf("after --clear the constraints %v are left", ids)
	}
	settle(t, c)
	if r := running(c, "r1"); !slices.Equal(r, []int{j}) || !mtime(c, j, "r1").Equal(before) {
		t.Errorf("after --clear r1 runs on %v (was %s; restarted: %v), want it left in place (stickiness)",
			names(c, r), c.Nodes[j].Name, !mtime(c, j, "r1").Equal(before))
	}
}

// testConstraints: c1 prefers node2 (500), c2 with c1 (INFINITY), c1 then c2
// (Mandatory), c3 not with c1 (-INFINITY); every operation of c1 and c2
// sleeps 0.5 s, so starting them together or stopping them together
// would show in their completion times. Then c1's preference moves to
// node3, live.
func testConstraints(t *testing.T, c *lab.Cluster) {
	stopped := map[string]string{"target-role": "Stopped"}
	for _, x := range []string{dummyXML("c1", stopped, "0.5", ""), dummyXML("c2", stopped, "0.5", ""), dummyXML("c3", stopped, "", "")} {
		tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", x)
	}
	for _, x := range []string{
		`<rsc_location id="loc-c1" rsc="c1" node="node2" score="500"/>`,
		`<rsc_colocation id="col-c2-c1" rsc="c2" with-rsc="c1" score="INFINITY"/>`,
		`<rsc_order id="ord-c1-c2" first="c1" then="c2" kind="Mandatory"/>`,
		`<rsc_colocation id="col-c3-c1" rsc="c3" with-rsc="c1" score="-INFINITY"/>`,
	} {
		tool(t, c, 1, "cibadmin", "-C", "-o", "constraints", "-X", x)
	}
	settle(t, c)
	// c2 and c3 may start first only if the constraints are ignored
	for _, r := range []string{"c3", "c2", "c1"} {
		tool(t, c, 2, "crm_resource", "-r", r, "-m", "-p", "target-role", "-v", "Started")
	}
	check := func(where int) {
		t.Helper()
		runsOnOne(t, c, "c1", func(i int) bool { return i == where })
		runsOnOne(t, c, "c2", func(i int) bool { return i == where })
		runsOnOne(t, c, "c3", func(i int) bool { return i != where })
		settle(t, c)
		t1, t2 := mtime(c, where, "c1"), mtime(c, where, "c2")
		if d := t2.Sub(t1); d < 400*time.Millisecond {
			t.Errorf("on %s c2 started %v after c1's start completed, want >= 0.5 s (its own op_sleep): order c1 then c2 not respected", c.Nodes[where].Name, d)
		}
		x := query(t, c, where)
		o1, o2 := lrmOp(x, c.Nodes[where].Name, "c1", "c1_last_0"), lrmOp(x, c.Nodes[where].Name, "c2", "c2_last_0")
		if o1 == nil || o2 == nil {
			t.Errorf("no c1_last_0 or c2_last_0 for %s in the CIB", c.Nodes[where].Name)
		} else {
			t.Logf("on %s: c1 start call-id %s, c2 start call-id %s, c2 started %v after c1", c.Nodes[where].Name,
				o1.SelectAttrValue("call-id", ""), o2.SelectAttrValue("call-id", ""), t2.Sub(t1))
		}
	}
	check(1)
	// live: c1 now prefers node3; c2 follows, c3 keeps away
	tool(t, c, 0, "cibadmin", "-M", "-o", "constraints", "-X", `<rsc_location id="loc-c1" rsc="c1" node="node3" score="500"/>`)
	check(2)
	// the stops on node2: c2 before c1 (each sleeps 0.5 s)
	s1, ok1 := opResultTime(c, 1, "c1_stop_0")
	s2, ok2 := opResultTime(c, 1, "c2_stop_0")
	if !ok1 || !ok2 {
		t.Errorf("node2's lrmd log lacks the stops of c1 (%v) or c2 (%v)", ok1, ok2)
	} else if d := s1.Sub(s2); d < 400*time.Millisecond {
		t.Errorf("on node2 c1's stop completed %v after c2's, want >= 0.5 s: order (stop c2 then c1) not respected", d)
	}
	// leave them stopped for the next checks
	for _, r := range []string{"c1", "c2", "c3"} {
		tool(t, c, 0, "crm_resource", "-r", r, "-m", "-p", "target-role", "-v", "Stopped")
	}
	waitFor(t, "c1, c2, c3 stopped", rscTimeout, func() (bool, string) {
		n := len(running(c, "c1")) + len(running(c, "c2")) + len(running(c, "c3"))
		return n == 0, fmt.Sprintf("%d running", n)
	})
}

// testMonitorFailure: m1 (1 s monitor, migration-threshold=2) fails once:
// it is restarted in place, fail-count 1; fails again: it moves.
func testMonitorFailure(t *testing.T, c *lab.Cluster) {
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X",
		dummyXML("m1", map[string]string{"migration-threshold": "2"}, "", "1s"))
	n := runsOnOne(t, c, "m1", nil)
	settle(t, c)
	nn := c.Nodes[n].Name
	before := mtime(c, n, "m1")
	t0 := time.Now()
	if err := c.FailResource(n, "m1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "m1 restarted on "+nn+" with fail-count 1", rscTimeout, func() (bool, string) {
		r := running(c, "m1")
		fc := failCount(query(t, c, n), nn, "m1")
		return slices.Equal(r, []int{n}) && mtime(c, n, "m1").After(before) && fc == 1,
			fmt.Sprintf("running on %v, fail-count %d", names(c, r), fc)
	})
	t.Logf("monitor failure -> restarted in place: %v", mtime(c, n, "m1").Sub(t0))
	x := query(t, c, n)
	if lrmOp(x, nn, "m1", "m1_last_failure_0") == nil {
		t.Errorf("no m1_last_failure_0 in %s's status", nn)
	}
	settle(t, c)
	if err := c.FailResource(n, "m1"); err != nil {
		t.Fatal(err)
	}
	m := runsOnOne(t, c, "m1", func(i int) bool { return i != n })
	t.Logf("second failure (migration-threshold 2): m1 moved from %s to %s", nn, c.Nodes[m].Name)
	if fc := failCount(query(t, c, m), nn, "m1"); fc != 2 {
		t.Errorf("fail-count of m1 on %s is %d, want 2", nn, fc)
	}
	settle(t, c)
	if r := running(c, "m1"); !slices.Equal(r, []int{m}) {
		t.Errorf("m1 runs on %v after settling, want %s", names(c, r), c.Nodes[m].Name)
	}
}

// testStandby: crm_standby on moves a node's resources away; off leaves
// them where they are (stickiness); nothing restarts.
func testStandby(t *testing.T, c *lab.Cluster) {
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", dummyXML("s1", nil, "", "10s"))
	n := runsOnOne(t, c, "s1", nil)
	settle(t, c)
	nn := c.Nodes[n].Name
	// the node attribute in the nodes section (lifetime forever, the
	// default); if that write fails, the rest is checked with the
	// transient one (-l reboot) so that the placement is still tested
	life := "forever"
	if out, err := toolErr(c, 0, "crm_standby", "-N", nn, "-v", "on", "--timeout", "10"); err != nil {
		t.Errorf("crm_standby -N %s -v on (lifetime forever): %v\n%s", nn, err, out)
		life = "reboot"
		tool(t, c, 0, "crm_standby", "-N", nn, "-v", "on", "-l", life)
	}
	m := runsOnOne(t, c, "s1", func(i int) bool { return i != n })
	waitFor(t, "no resource on "+nn, rscTimeout, func() (bool, string) {
		left, _ := filepath.Glob(filepath.Join(c.Nodes[n].RscTmp(), "Dummy-*.state"))
		return len(left) == 0, fmt.Sprintf("left: %v", left)
	})
	if out := tool(t, c, 1, "crm_standby", "-N", nn, "-G", "-q", "-l", life); !strings.Contains(out, "on") {
		t.Errorf("crm_standby -G on %s: %q", nn, out)
	}
	settle(t, c)
	before := mtime(c, m, "s1")
	tool(t, c, 2, "crm_standby", "-N", nn, "-v", "off", "-l", life)
	settle(t, c)
	time.Sleep(time.Second)
	settle(t, c)
	if r := running(c, "s1"); !slices.Equal(r, []int{m}) || !mtime(c, m, "s1").Equal(before) {
		t.Errorf("after standby off s1 runs on %v (was %s; restarted: %v): stickiness not respected",
			names(c, r), c.Nodes[m].Name, !mtime(c, m, "s1").Equal(before))
	}
}
