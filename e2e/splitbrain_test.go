package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/internal/lab"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// vipPrimitiveXML is an IPaddr VIP with a priority meta attribute,
// created stopped (nvpair ID-role holds its target-role).
func vipPrimitiveXML(id string, priority int) string {
	return fmt.Sprintf(`<primitive id="%[1]s" class="ocf" provider="systole" type="IPaddr">
  <instance_attributes id="%[1]s-ia">
    <nvpair id="%[1]s-ip" name="ip" value="%[2]s"/>
    <nvpair id="%[1]s-nm" name="cidr_netmask" value="24"/>
    <nvpair id="%[1]s-nic" name="nic" value="eth0"/>
  </instance_attributes>
  <meta_attributes id="%[1]s-meta"><nvpair id="%[1]s-prio" name="priority" value="%[3]d"/><nvpair id="%[1]s-role" name="target-role" value="Stopped"/></meta_attributes>
  <operations><op id="%[1]s-mon" name="monitor" interval="1s" timeout="20s"/></operations>
</primitive>`, id, vip, priority)
}

// splitPriorityDelay is the cluster's priority-fencing-delay: the node
// running the VIP (priority 10) is fenced only after it, so the other
// side loses the race.
const splitPriorityDelay = 3 * time.Second

// overlap returns the ARP samples answered by two or more machines and
// their total duration (each sample counts until the next probe).
func overlap(samples []lab.ARPSample) (int, time.Duration) {
	n := 0
	var d time.Duration
	for i, s := range samples {
		if len(s.MACs) < 2 {
			continue
		}
		n++
		if i+1 < len(samples) {
			d += samples[i+1].Sent.Sub(s.Sent)
		} else {
			d += 10 * time.Millisecond
		}
	}
	return n, d
}

// TestSplitBrain: a 2-node cluster (two_node quorum, as an operator sets
// up a pair) with fencing by the lab device and priority-fencing-delay,
// runs a VIP with priority 10. The link between the two nodes is cut (the
// watcher still reaches both): exactly one node is fenced, the VIP is
// never answered by both at any 10 ms ARP probe from the watcher, and the
// survivor runs it. The fenced node is booted after the link heals and
// rejoins without taking the VIP. Prints
// "splitbrain overlap_ms=X fenced=N survivor=NODE" (make e2e-splitbrain).
func TestSplitBrain(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	t.Parallel()
	c := lab.NewCluster(t, 2, lab.ClusterOptions{LogLevel: os.Getenv("E2E_LOG_LEVEL"), HaCfExtra: "two_node on\n"})
	needStonithd(t, c)
	if _, err := c.WaitDC(dcTimeout); err != nil {
		t.Fatal(err)
	}
	tool(t, c, 0, "crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-v", "100")
	enableFencing(t, c, map[string]string{"priority-fencing-delay": fmt.Sprintf("%ds", int(splitPriorityDelay.Seconds()))})
	// the VIP goes to the node that is not the DC: the priority, not
	// being DC, must decide the race
	dc := -1
	waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { dc = dcIndex(c); return dc >= 0, "none" })
	want := 1 - dc
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", vipPrimitiveXML("vip", 10))
	tool(t, c, 0, "cibadmin", "-C", "-o", "constraints", "-X",
		fmt.Sprintf(`<rsc_location id="vip-loc" rsc="vip" node="%s" score="50"/>`, c.Nodes[want].Name))
	tool(t, c, 0, "cibadmin", "-M", "-o", "resources", "-X", `<nvpair id="vip-role" name="target-role" value="Started"/>`)
	var h int
	waitFor(t, "the VIP on one node", rscTimeout, func() (bool, string) {
		v := vipOn(c)
		if len(v) == 1 && v[0] == want {
			h = v[0]
			return true, ""
		}
		return false, fmt.Sprintf("VIP on %v", names(c, v))
	})
	settle(t, c)
	w, err := c.AddWatcher(watcherIP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Remove(); err != nil {
			t.Error(err)
		}
	})
	aw, err := w.WatchARP(vip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = aw.Close() })
	macs := map[string]string{}
	for i := range c.Nodes {
		m, err := c.MAC(i)
		if err != nil {
			t.Fatal(err)
		}
		macs[m] = c.Nodes[i].Name
	}
	holderMAC := ""
	for m, n := range macs {
		if n == c.Nodes[h].Name {
			holderMAC = m
		}
	}
	waitFor(t, "the watcher's ARP probes answered by the VIP's holder", 10*time.Second, func() (bool, string) {
		s := aw.Samples()
		for k := len(s) - 1; k >= 0 && k >= len(s)-20; k-- {
			if len(s[k].MACs) == 1 && s[k].MACs[0] == holderMAC {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d samples", len(s))
	})

	// the cut
	t0 := time.Now()
	if err := c.Partition(0, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.HealPartition(0, 1) })
	waitFor(t, "a node fenced", rscTimeout, func() (bool, string) {
		return !c.Running(0) || !c.Running(1), "both run"
	})
	tFenced := time.Now()
	// both sides' fencing would have run by now: the delayed one too
	time.Sleep(splitPriorityDelay + 2*time.Second)
	fenced, survivor := 0, -1
	for i := range c.Nodes {
		if c.Running(i) {
			survivor = i
		} else {
			fenced++
		}
	}
	surv := "none"
	if survivor >= 0 {
		surv = c.Nodes[survivor].Name
		waitFor(t, "the VIP on the survivor", rscTimeout, func() (bool, string) {
			return c.HasAddr(survivor, vip), "VIP not on " + surv
		})
		waitFor(t, "the survivor answering the watcher's ARP", 10*time.Second, func() (bool, string) {
			s := aw.Samples()
			k := len(s) - 2
			return k >= 0 && len(s[k].MACs) == 1 && macs[s[k].MACs[0]] == surv, "no answer from " + surv
		})
	}
	n, d := overlap(aw.Samples())
	line := fmt.Sprintf("splitbrain overlap_ms=%d fenced=%d survivor=%s", d.Milliseconds(), fenced, surv)
	t.Logf("cut at %s; first node down after %v; VIP holder before the cut: %s; %d overlapping samples",
		t0.Format(time.StampMilli), tFenced.Sub(t0), c.Nodes[h].Name, n)
	if fenced != 1 || survivor < 0 {
		t.Errorf("%d nodes fenced, want exactly 1", fenced)
	}
	if d > 0 {
		for _, s := range aw.Samples() {
			if len(s.MACs) > 1 {
				t.Logf("overlap at %s: %v", s.Sent.Format(time.StampMilli), s.MACs)
			}
		}
		t.Errorf("the VIP answered from both nodes for %v", d)
	}
	if survivor >= 0 {
		hist, err := fenceHistory(c, survivor)
		if err != nil {
			t.Fatal(err)
		}
		var done []string
		for _, e := range hist {
			if e.GetState() == stonithv1.State_STATE_DONE {
				done = append(done, e.GetTarget())
			}
		}
		if len(done) != 1 || done[0] == surv {
			t.Errorf("the survivor's fencing history: %v done, want the other node once", done)
		}
		out := tool(t, c, survivor, "crm_mon", "-1", "-m")
		if !strings.Contains(out, "successful: delegate="+surv) {
			t.Errorf("crm_mon -1 -m on %s:\n%s", surv, out)
		}
		// what each side's DC asked (the loser's log is gone at its boot)
		loser := 1 - survivor
		for _, i := range []int{survivor, loser} {
			if ts, l, ok := logEvent(logPath(c, i, "crmd"), t0, "msg=fencing "); ok {
				t.Logf("%s +%v: %s", c.Nodes[i].Name, ts.Sub(t0).Round(time.Millisecond), l)
			}
		}
		// healed and booted, the fenced node rejoins; the VIP stays
		if err := c.HealPartition(0, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Boot(loser); err != nil {
			t.Fatal(err)
		}
		waitOnline(t, c, loser)
		settle(t, c)
		if v := vipOn(c); len(v) != 1 || v[0] != survivor {
			t.Errorf("after %s rejoined the VIP is on %v, want %s", c.Nodes[loser].Name, names(c, v), surv)
		}
		n2, d2 := overlap(aw.Samples())
		if d2 != d {
			t.Errorf("the VIP answered from both nodes for %v (%d samples) after the rejoin", d2-d, n2-n)
		}
		line = fmt.Sprintf("splitbrain overlap_ms=%d fenced=%d survivor=%s", d2.Milliseconds(), fenced, surv)
	}
	fmt.Println(line)
}
