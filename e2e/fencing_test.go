package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/systole/systole/internal/lab"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// fenceLabXML is a fence_systole_lab device able to fence every node of c.
func fenceLabXML(c *lab.Cluster, id string) string {
	return fmt.Sprintf(`<primitive id="%[1]s" class="stonith" type="fence_systole_lab">
  <instance_attributes id="%[1]s-ia">
    <nvpair id="%[1]s-dir" name="lab_dir" value="%[2]s"/>
    <nvpair id="%[1]s-hosts" name="pcmk_host_list" value="%[3]s"/>
  </instance_attributes>
</primitive>`, id, c.Dir, strings.Join(c.NodeNames(), " "))
}

// fenceDummyXML is Debian's fence_dummy (unmodified) as a device for every
// node of c: it "fences" by writing its status file.
func fenceDummyXML(c *lab.Cluster, id, statusFile string) string {
	return fmt.Sprintf(`<primitive id="%[1]s" class="stonith" type="fence_dummy">
  <instance_attributes id="%[1]s-ia">
    <nvpair id="%[1]s-type" name="type" value="file"/>
    <nvpair id="%[1]s-sf" name="status_file" value="%[2]s"/>
    <nvpair id="%[1]s-hosts" name="pcmk_host_list" value="%[3]s"/>
    <nvpair id="%[1]s-check" name="pcmk_host_check" value="static-list"/>
  </instance_attributes>
</primitive>`, id, statusFile, strings.Join(c.NodeNames(), " "))
}

// needStonithd skips a fencing test when stonithd was not built into the
// lab's binaries.
func needStonithd(t *testing.T, c *lab.Cluster) {
	t.Helper()
	for _, b := range []string{"stonithd", "fence_systole_lab"} {
		if _, err := os.Stat(filepath.Join(c.BinDir, b)); err != nil {
			t.Skipf("%s is not built: %v", b, err)
		}
	}
}

// enableFencing turns fencing on with the lab device and the options an
// operator sets; extra are more crm_config options.
func enableFencing(t *testing.T, c *lab.Cluster, extra map[string]string) {
	t.Helper()
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", fenceLabXML(c, "fence-lab"))
	opts := map[string]string{"stonith-enabled": "true"}
	for k, v := range extra {
		opts[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tool(t, c, 0, "crm_attribute", "-t", "crm_config", "-n", k, "-v", opts[k])
	}
}

// fenceHistory reads node i's stonithd history.
func fenceHistory(c *lab.Cluster, i int) ([]*stonithv1.Entry, error) {
	conn, err := grpc.NewClient("unix://"+filepath.Join(c.Nodes[i].RunDir(), "stonithd.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := stonithv1.NewStonithServiceClient(conn).History(ctx, &stonithv1.HistoryRequest{})
	if err != nil {
		return nil, err
	}
	return resp.GetEntries(), nil
}

// waitFenced waits until node i's stonithd history has an entry for target
// in state st completed at or after since, and returns it.
func waitFenced(t *testing.T, c *lab.Cluster, i int, target string, st stonithv1.State, since time.Time, timeout time.Duration) *stonithv1.Entry {
	t.Helper()
	var got *stonithv1.Entry
	waitFor(t, fmt.Sprintf("fencing of %s %s in %s's history", target, st, c.Nodes[i].Name), timeout, func() (bool, string) {
		h, err := fenceHistory(c, i)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range h {
			if e.GetTarget() == target && e.GetState() == st && e.GetCompletedMs() >= since.UnixMilli() {
				got = e
				return true, ""
			}
		}
		return false, fmt.Sprintf("history %v", h)
	})
	return got
}

// waitOnline waits until node k is online in the DC's status.
func waitOnline(t *testing.T, c *lab.Cluster, k int) {
	t.Helper()
	waitFor(t, c.Nodes[k].Name+" online", dcTimeout, func() (bool, string) {
		d := dcIndex(c)
		if d < 0 {
			return false, "no agreed DC"
		}
		x, err := c.Query(d)
		if err != nil {
			return false, err.Error()
		}
		ns := nodeState(x, c.Nodes[k].Name)
		return ns != nil && ns.SelectAttrValue("crmd", "") == "online" && ns.SelectAttrValue("expected", "") == "member", "not online"
	})
}

// nonDC returns a running node other than the DC and other than avoid.
func nonDC(t *testing.T, c *lab.Cluster, avoid ...int) int {
	t.Helper()
	d := -1
	waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { d = dcIndex(c); return d >= 0, "none" })
	for _, i := range alive(c) {
		if i != d && !slices.Contains(avoid, i) {
			return i
		}
	}
	t.Fatal("no node other than the DC")
	return -1
}

// placeDummy adds Dummy rsc preferring node k (score 50, below the
// stickiness) and waits until it runs there.
func placeDummy(t *testing.T, c *lab.Cluster, rsc string, k int) {
	t.Helper()
	// stopped until the constraint exists: the DC computes between writes
	tool(t, c, anyAlive(c), "cibadmin", "-C", "-o", "resources", "-X", dummyXML(rsc, map[string]string{"target-role": "Stopped"}, "", "1s"))
	tool(t, c, anyAlive(c), "cibadmin", "-C", "-o", "constraints", "-X",
		fmt.Sprintf(`<rsc_location id="%s-loc" rsc="%s" node="%s" score="50"/>`, rsc, rsc, c.Nodes[k].Name))
	tool(t, c, anyAlive(c), "cibadmin", "-M", "-o", "resources", "-X", fmt.Sprintf(`<nvpair id="%s-meta-target-role" name="target-role" value="Started"/>`, rsc))
	runsOnOne(t, c, rsc, func(i int) bool { return i == k })
	settle(t, c)
}

// TestFencing runs on one 3-node cluster with stonith-enabled=true and a
// fence_systole_lab device: a lost node is fenced before its resources are
// recovered, and comes back normally; a lost DC is fenced by the new DC;
// a failing agent leaves the lost
// node's resources stopped and is reported, until fencing succeeds on a
// retry; Debian's fence_dummy works as a device.
func TestFencing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	t.Parallel()
	c := lab.NewCluster(t, 3, lab.ClusterOptions{LogLevel: os.Getenv("E2E_LOG_LEVEL")})
	needStonithd(t, c)
	if _, err := c.WaitDC(dcTimeout); err != nil {
		t.Fatal(err)
	}
	tool(t, c, 0, "crm_attribute", "-t", "rsc_defaults", "-n", "resource-stickiness", "-v", "100")
	enableFencing(t, c, nil)
	settle(t, c)
	t.Run("fence-then-recover", func(t *testing.T) { testFenceThenRecover(t, c) })
	t.Run("dc-lost", func(t *testing.T) { testFenceLostDC(t, c) })
	t.Run("agent-fails", func(t *testing.T) { testFenceAgentFails(t, c) })
	t.Run("fence_dummy", func(t *testing.T) { testFenceDummy(t, c) })
}

// testFenceThenRecover: the node running f1 is powered off; the DC fences
// it, then starts f1 elsewhere; the fencing completed before the start was
// dispatched; the node is recorded as fenced; booted again, it rejoins.
func testFenceThenRecover(t *testing.T, c *lab.Cluster) {
	k := nonDC(t, c)
	placeDummy(t, c, "f1", k)
	name := c.Nodes[k].Name
	t0 := time.Now()
	if err := c.PowerOff(k); err != nil {
		t.Fatal(err)
	}
	m := runsOnOne(t, c, "f1", func(i int) bool { return i != k })
	d := dcIndex(c)
	e := waitFenced(t, c, d, name, stonithv1.State_STATE_DONE, t0, rscTimeout)
	started, line, ok := logEvent(logPath(c, m, "crmd"), t0, `msg="executing action"`, "op=f1_start_0")
	if !ok {
		t.Fatalf("no f1 start in %s's crmd log", c.Nodes[m].Name)
	}
	fenced := time.UnixMilli(e.GetCompletedMs())
	t.Logf("%s powered off; fenced by %s after %v (requested after %v); f1 start dispatched to %s %v after the fencing",
		name, e.GetDelegate(), fenced.Sub(t0), time.UnixMilli(e.GetRequestedMs()).Sub(t0), c.Nodes[m].Name, started.Sub(fenced))
	if started.Before(fenced) {
		t.Errorf("f1 started on %s at %s, before %s was fenced at %s: %s", c.Nodes[m].Name, started.Format(time.StampMilli), name, fenced.Format(time.StampMilli), line)
	}
	if ns := nodeState(query(t, c, d), name); ns == nil || ns.SelectAttrValue("expected", "") != "down" || ns.SelectAttrValue("in_ccm", "") != "false" || ns.SelectElement("lrm") != nil {
		t.Errorf("the fenced node's node_state is not a fenced one: %v", ns)
	}
	out := tool(t, c, d, "crm_mon", "-1", "-m")
	if want := "reboot of " + name + " successful: delegate=" + e.GetDelegate(); !strings.Contains(out, want) {
		t.Errorf("crm_mon -1 -m lacks %q:\n%s", want, out)
	}
	// the fenced node comes back and rejoins; f1 stays (stickiness)
	if err := c.Boot(k); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, c, k)
	settle(t, c)
	if r := running(c, "f1"); !slices.Equal(r, []int{m}) {
		t.Errorf("after %s's return f1 runs on %v, want %s", name, names(c, r), c.Nodes[m].Name)
	}
}

// testFenceLostDC: the DC runs f4 and is powered off; the new DC fences
// it (a DC never fences itself), then f4 is recovered.
func testFenceLostDC(t *testing.T, c *lab.Cluster) {
	d := -1
	waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { d = dcIndex(c); return d >= 0, "none" })
	placeDummy(t, c, "f4", d)
	name := c.Nodes[d].Name
	t0 := time.Now()
	if err := c.PowerOff(d); err != nil {
		t.Fatal(err)
	}
	nd := -1
	waitFor(t, "a new DC", dcTimeout, func() (bool, string) { nd = dcIndex(c); return nd >= 0 && nd != d, "none" })
	m := runsOnOne(t, c, "f4", func(i int) bool { return i != d })
	e := waitFenced(t, c, nd, name, stonithv1.State_STATE_DONE, t0, rscTimeout)
	if e.GetOrigin() != c.Nodes[nd].Name {
		t.Errorf("the old DC %s was fenced at the request of %s, want the new DC %s", name, e.GetOrigin(), c.Nodes[nd].Name)
	}
	started, _, ok := logEvent(logPath(c, m, "crmd"), t0, `msg="executing action"`, "op=f4_start_0")
	fenced := time.UnixMilli(e.GetCompletedMs())
	if !ok || started.Before(fenced) {
		t.Errorf("f4 start on %s at %v (found %v), fencing of %s completed at %v", c.Nodes[m].Name, started, ok, name, fenced)
	}
	t.Logf("DC %s powered off: fenced by the new DC %s after %v, f4 started on %s %v later", name, c.Nodes[nd].Name, fenced.Sub(t0), c.Nodes[m].Name, started.Sub(fenced))
	if err := c.Boot(d); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, c, d)
	settle(t, c)
}

// testFenceAgentFails: with the agent failing, the lost node's resource
// stays stopped and crm_mon shows the failed fencing; once the agent works
// again, a retry fences the node and the resource is recovered.
func testFenceAgentFails(t *testing.T, c *lab.Cluster) {
	k := nonDC(t, c)
	placeDummy(t, c, "f2", k)
	name := c.Nodes[k].Name
	if err := c.SetFenceFail(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.SetFenceFail(false) })
	t0 := time.Now()
	if err := c.PowerOff(k); err != nil {
		t.Fatal(err)
	}
	d := -1
	waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { d = dcIndex(c); return d >= 0 && d != k, "none" })
	e := waitFenced(t, c, d, name, stonithv1.State_STATE_FAILED, t0, rscTimeout)
	t.Logf("fencing %s failed: %s", name, e.GetReason())
	// resources of the unfenced node stay down, whatever the retries
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if r := running(c, "f2"); len(r) != 0 {
			t.Fatalf("f2 started on %v while %s is not fenced", names(c, r), name)
		}
	}
	out := tool(t, c, d, "crm_mon", "-1")
	for _, want := range []string{"Failed Fencing Actions:", "reboot of " + name + " failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("crm_mon -1 lacks %q:\n%s", want, out)
		}
	}
	h, err := fenceHistory(c, d)
	if err != nil {
		t.Fatal(err)
	}
	fails := 0
	for _, e := range h {
		if e.GetTarget() == name && e.GetState() == stonithv1.State_STATE_FAILED {
			fails++
		}
	}
	t.Logf("%d failed attempts in 4 s (retried with back-off)", fails)
	// the agent works again: the next retry fences, f2 is recovered
	if err := c.SetFenceFail(false); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	waitFenced(t, c, d, name, stonithv1.State_STATE_DONE, t1, rscTimeout)
	runsOnOne(t, c, "f2", func(i int) bool { return i != k })
	t.Logf("after the agent was repaired: fenced and f2 recovered in %v", time.Since(t1))
	if err := c.Boot(k); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, c, k)
	settle(t, c)
}

// testFenceDummy: the device is replaced by Debian's fence_dummy; a lost
// node is fenced through it and its resource recovered.
func testFenceDummy(t *testing.T, c *lab.Cluster) {
	if _, err := os.Stat("/usr/sbin/fence_dummy"); err != nil {
		t.Skip("fence-agents is not installed (no /usr/sbin/fence_dummy)")
	}
	sf := filepath.Join(c.Dir, "fence_dummy.status")
	tool(t, c, anyAlive(c), "cibadmin", "-D", "-o", "resources", "-X", `<primitive id="fence-lab"/>`)
	tool(t, c, anyAlive(c), "cibadmin", "-C", "-o", "resources", "-X", fenceDummyXML(c, "fence-dummy", sf))
	settle(t, c)
	k := nonDC(t, c)
	placeDummy(t, c, "f3", k)
	name := c.Nodes[k].Name
	t0 := time.Now()
	if err := c.PowerOff(k); err != nil {
		t.Fatal(err)
	}
	runsOnOne(t, c, "f3", func(i int) bool { return i != k })
	e := waitFenced(t, c, dcIndex(c), name, stonithv1.State_STATE_DONE, t0, rscTimeout)
	if !slices.Contains(e.GetDevices(), "fence-dummy") {
		t.Errorf("%s fenced with %v, want fence-dummy", name, e.GetDevices())
	}
	t.Logf("%s fenced by fence_dummy %v after the power-off", name, time.UnixMilli(e.GetCompletedMs()).Sub(t0))
	if b, err := os.ReadFile(sf); err != nil {
		t.Errorf("fence_dummy's status file: %v", err)
	} else {
		t.Logf("fence_dummy status file: %q", strings.TrimSpace(string(b)))
	}
	if err := c.PowerOn(k); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, c, k)
}

// TestBenchFencingFailover (SYSTOLE_BENCH=1; make bench-fencing): the
// failover of TestBenchFailover's group (IPaddr + Dummy on a non-DC node)
// with stonith-enabled=true and the lab device, KILLS power-offs, against
// the same with fencing off on the same cluster. Prints failover_ms per
// case and fence_ms (the fencing operation, requested to completed).
// FENCE_DEVICE=fence_dummy uses Debian's fence_dummy as the device.
func TestBenchFencingFailover(t *testing.T) {
	benchOnly(t)
	kills := envInt("KILLS", 10)
	c := newCluster(t) // stonith-enabled=false
	needStonithd(t, c)
	p := addWatcher(t, c)
	dev := fenceLabXML(c, "fence-lab")
	if os.Getenv("FENCE_DEVICE") == "fence_dummy" {
		dev = fenceDummyXML(c, "fence-dummy", filepath.Join(c.Dir, "fence_dummy.status"))
	}
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", dev)
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", groupXML("g", "gd"))
	groupOn(t, c, "gd", nil)
	for _, fencing := range []bool{false, true} {
		tool(t, c, 0, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", fmt.Sprint(fencing))
		var fo, fence, toStart []time.Duration
		for n := range kills {
			d := -1
			waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { d = dcIndex(c); return d >= 0, "none" })
			k := (d + 1 + n%2) % len(c.Nodes)
			placeGroup(t, c, p, k)
			p.Reset()
			t0 := time.Now()
			r := measureKill(t, c, p, k, d)
			extra := ""
			if fencing {
				e := waitFenced(t, c, d, c.Nodes[k].Name, stonithv1.State_STATE_DONE, t0, rscTimeout)
				f := time.Duration(e.GetCompletedMs()-e.GetRequestedMs()) * time.Millisecond
				fence = append(fence, f)
				m := groupOn(t, c, "gd", func(i int) bool { return i != k })
				if st, _, ok := logEvent(logPath(c, m, "crmd"), t0, `msg="executing action"`, "op=g-ip_start_0"); ok {
					toStart = append(toStart, st.Sub(time.UnixMilli(e.GetCompletedMs())))
				}
				extra = fmt.Sprintf(" fence_ms=%d", f.Milliseconds())
			}
			fmt.Printf("kill stonith=%v n=%d node=%s failover_ms=%d%s %s\n", fencing, n, c.Nodes[k].Name, r.failover.Milliseconds(), extra, r.steps)
			fo = append(fo, r.failover)
			if err := c.Boot(k); err != nil {
				t.Fatal(err)
			}
			waitOnline(t, c, k)
			settle(t, c)
		}
		fmt.Printf("fencing_failover_ms stonith=%v p50=%d p95=%d n=%d\n", fencing, pct(fo, 50).Milliseconds(), pct(fo, 95).Milliseconds(), len(fo))
		if fencing {
			fmt.Printf("fence_op_ms p50=%d p95=%d n=%d\n", pct(fence, 50).Milliseconds(), pct(fence, 95).Milliseconds(), len(fence))
			fmt.Printf("fenced_to_ip_start_ms p50=%d p95=%d n=%d\n", pct(toStart, 50).Milliseconds(), pct(toStart, 95).Milliseconds(), len(toStart))
		}
	}
}
