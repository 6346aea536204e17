package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

var (
	vip        = netip.MustParseAddr("192.0.2.100")
	watcherIP  = netip.MustParseAddr("192.0.2.250")
	dcTimeout  = 60 * time.Second
	rscTimeout = 60 * time.Second
)

// newCluster starts 3 namespace nodes, waits for a DC and disables
// fencing (stonithd is not built yet).
func newCluster(t *testing.T) *lab.Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	// E2E_LOG_LEVEL=debug for the daemons (the benchmark's traces)
	c := lab.NewCluster(t, 3, lab.ClusterOptions{LogLevel: os.Getenv("E2E_LOG_LEVEL")})
	if _, err := c.WaitDC(dcTimeout); err != nil {
		t.Fatal(err)
	}
	tool(t, c, 0, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false")
	return c
}

// addWatcher makes the watcher namespace and a pinger of the VIP.
func addWatcher(t testing.TB, c *lab.Cluster) *lab.Pinger {
	t.Helper()
	w, err := c.AddWatcher(watcherIP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Remove(); err != nil {
			t.Error(err)
		}
	})
	p, err := w.Ping(vip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// tool runs a CLI against node i, retrying a few times when the cluster
// answers with an error (a write during a DC change has an unknown outcome
// and is retried by the CLIs' users, as here).
func tool(t testing.TB, c *lab.Cluster, i int, name string, args ...string) string {
	t.Helper()
	out, err := toolErr(c, i, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// toolErr is tool without the test: a quick failure (a DC change, no DC
// yet) is retried up to 5 times; a slow one (the CLI's own timeout) is not.
func toolErr(c *lab.Cluster, i int, name string, args ...string) (string, error) {
	var err error
	var out string
	for try := 0; try < 5; try++ {
		t0 := time.Now()
		if out, err = c.Tool(i, name, args...); err == nil || time.Since(t0) > 5*time.Second {
			return out, err
		}
		time.Sleep(time.Second)
	}
	return out, err
}

// alive lists the indices of the nodes that run.
func alive(c *lab.Cluster) []int {
	var r []int
	for i, nd := range c.Nodes {
		if nd.Pid != 0 {
			r = append(r, i)
		}
	}
	return r
}

// anyAlive returns a running node.
func anyAlive(c *lab.Cluster) int { return alive(c)[0] }

func statePath(c *lab.Cluster, i int, rsc string) string {
	return filepath.Join(c.Nodes[i].RscTmp(), "Dummy-"+rsc+".state")
}

// running lists the running nodes where the Dummy rsc runs (ground truth:
// its state file exists).
func running(c *lab.Cluster, rsc string) []int {
	var r []int
	for _, i := range alive(c) {
		if _, err := os.Stat(statePath(c, i, rsc)); err == nil {
			r = append(r, i)
		}
	}
	return r
}

// vipOn lists the running nodes holding the VIP.
func vipOn(c *lab.Cluster) []int {
	var r []int
	for _, i := range alive(c) {
		if c.HasAddr(i, vip) {
			r = append(r, i)
		}
	}
	return r
}

// mtime of rsc's state file on node i (zero when absent).
func mtime(c *lab.Cluster, i int, rsc string) time.Time {
	st, err := os.Stat(statePath(c, i, rsc))
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// waitFor polls cond every 100 ms until it holds or timeout passes; the
// detail cond returns is reported on failure.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout (%v) waiting for %s: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runsOnlyOn waits until rsc runs on exactly one node and returns it.
func runsOnOne(t testing.TB, c *lab.Cluster, rsc string, ok func(int) bool) int {
	t.Helper()
	n := -1
	waitFor(t, rsc+" running on one node", rscTimeout, func() (bool, string) {
		r := running(c, rsc)
		if len(r) == 1 && (ok == nil || ok(r[0])) {
			n = r[0]
			return true, ""
		}
		return false, fmt.Sprintf("running on %v", names(c, r))
	})
	return n
}

func names(c *lab.Cluster, idx []int) []string {
	var r []string
	for _, i := range idx {
		r = append(r, c.Nodes[i].Name)
	}
	return r
}

// dcIndex returns the index of the agreed DC, or -1.
func dcIndex(c *lab.Cluster) int {
	if d := c.DC(); d != "" {
		return c.Index(d)
	}
	return -1
}

// settle waits until the DC has nothing left to do (crm_resource --wait on
// the DC), then a little more so that a pending trigger shows.
func settle(t testing.TB, c *lab.Cluster) {
	t.Helper()
	dc := -1
	waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) {
		dc = dcIndex(c)
		return dc >= 0, "no agreed DC"
	})
	time.Sleep(300 * time.Millisecond)
	tool(t, c, dc, "crm_resource", "--wait", "-T", "60s")
}

// query returns node i's CIB.
func query(t testing.TB, c *lab.Cluster, i int) *etree.Element {
	t.Helper()
	x, err := c.Query(i)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// nodeState returns the node_state of node in x.
func nodeState(x *etree.Element, node string) *etree.Element {
	for _, ns := range x.FindElements("./status/node_state") {
		if ns.SelectAttrValue("uname", "") == node || ns.SelectAttrValue("id", "") == node {
			return ns
		}
	}
	return nil
}

// failCount sums node's fail-count-RSC#* transient attributes in x.
func failCount(x *etree.Element, node, rsc string) int {
	ns := nodeState(x, node)
	if ns == nil {
		return 0
	}
	sum := 0
	for _, nv := range ns.FindElements(".//transient_attributes//nvpair") {
		if strings.HasPrefix(nv.SelectAttrValue("name", ""), "fail-count-"+rsc+"#") {
			v, _ := strconv.Atoi(nv.SelectAttrValue("value", "0"))
			sum += v
		}
	}
	return sum
}

// lrmOp returns the lrm_rsc_op id of rsc on node in x.
func lrmOp(x *etree.Element, node, rsc, id string) *etree.Element {
	ns := nodeState(x, node)
	if ns == nil {
		return nil
	}
	for _, r := range ns.FindElements(".//lrm_resource") {
		if r.SelectAttrValue("id", "") != rsc {
			continue
		}
		for _, op := range r.SelectElements("lrm_rsc_op") {
			if op.SelectAttrValue("id", "") == id {
				return op
			}
		}
	}
	return nil
}

// constraintIDs lists the ids of the constraints in x.
func constraintIDs(x *etree.Element) []string {
	var r []string
	if cs := x.FindElement("./configuration/constraints"); cs != nil {
		for _, e := range cs.ChildElements() {
			r = append(r, e.SelectAttrValue("id", ""))
		}
	}
	return r
}

// opResultTime returns the time lrmd on node i logged the result of
// operation key op (rsc_op_0 form), the last one if several, and whether
// it found one.
func opResultTime(c *lab.Cluster, i int, op string) (time.Time, bool) {
	b, err := os.ReadFile(filepath.Join(c.Nodes[i].RunDir(), "logs", "lrmd.log"))
	if err != nil {
		return time.Time{}, false
	}
	var last time.Time
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `msg="op result"`) || !strings.Contains(line, " op="+op+" ") {
			continue
		}
		if ts, ok := logTime(line); ok {
			last, found = ts, true
		}
	}
	return last, found
}

// logTime parses the time= field of a slog text line.
func logTime(line string) (time.Time, bool) {
	if !strings.HasPrefix(line, "time=") {
		return time.Time{}, false
	}
	f, _, _ := strings.Cut(line[len("time="):], " ")
	ts, err := time.Parse(time.RFC3339Nano, f)
	return ts, err == nil
}

func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// pct returns the p-th percentile (nearest rank) of d.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := sortedCopy(d)
	k := int(float64(len(s))*p/100+0.999999) - 1
	k = max(0, min(k, len(s)-1))
	return s[k]
}
