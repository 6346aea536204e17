package lab

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssKiB returns VmRSS and Pss (KiB) of pid.
func rssKiB(pid int) (rss, pss int) {
	read := func(file, key string) int {
		f, err := os.Open(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			return 0
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), key+":") {
				v, _ := strconv.Atoi(strings.Fields(sc.Text())[1])
				return v
			}
		}
		return 0
	}
	return read("status", "VmRSS"), read("smaps_rollup", "Pss")
}

// TestBenchStart (SYSTOLE_BENCH=1, loopback; make bench-lab): three nodes
// whose CIBs hold examples/demo-cib.xml are started at once; prints the
// time until every node's daemons are up, a DC is agreed, and every
// resource is started, then each node's idle memory after 10 s.
func TestBenchStart(t *testing.T) {
	if os.Getenv("SYSTOLE_BENCH") == "" {
		t.Skip("benchmark: SYSTOLE_BENCH=1")
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := NewCluster(t, 3, ClusterOptions{Loopback: os.Getenv("SYSTOLE_BENCH_NETNS") == ""})
	if _, err := c.WaitDC(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cibadmin(0, "--replace", "--scope", "configuration", "--xml-file", filepath.Join(root, "examples", "demo-cib.xml")); err != nil {
		t.Fatal(err)
	}
	started := func() int {
		out, err := c.CrmMon(0, "-1")
		if err != nil {
			return 0
		}
		return strings.Count(out, "Started ")
	}
	waitUntil(t, "5 resources started", 30*time.Second, func() bool { return started() == 5 })
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && v > 0 {
		runs = v
	}
	for r := range runs {
		for i := range c.Nodes {
			if err := c.StopNode(i, 20*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		// a cold start: the agents' state (HA_RSCTMP) is gone as after a
		// reboot, so the resources really start again
		t0 := time.Now()
		for i := range c.Nodes {
			if err := c.StartNode(i); err != nil {
				t.Fatal(err)
			}
		}
		// ground truth, not the CIB (its persisted status and dc-uuid are
		// those of the previous run until the new DC's join rewrites them):
		// the DC is the first crmd to log self=true in its fresh log, and a
		// resource runs when its Dummy state file exists.
		var up, dc, rsc time.Duration
		for deadline := t0.Add(60 * time.Second); time.Now().Before(deadline) && rsc == 0; time.Sleep(20 * time.Millisecond) {
			if up == 0 && allUp(c, 0) && allUp(c, 1) && allUp(c, 2) {
				up = time.Since(t0)
			}
			if dc == 0 {
				for _, nd := range c.Nodes {
					if b, _ := os.ReadFile(filepath.Join(nd.RunDir(), "logs", "crmd.log")); strings.Contains(string(b), "self=true") {
						dc = time.Since(t0)
					}
				}
			}
			n := 0
			for _, nd := range c.Nodes {
				m, _ := filepath.Glob(filepath.Join(nd.RscTmp(), "Dummy-*.state"))
				n += len(m)
			}
			if n == 5 {
				rsc = time.Since(t0)
			}
		}
		if rsc == 0 {
			t.Fatalf("run %d: up %v dc %v, resources not started within 60 s", r, up, dc)
		}
		fmt.Printf("start_ms run=%d daemons_up=%d dc=%d resources_running=%d\n", r, up.Milliseconds(), dc.Milliseconds(), rsc.Milliseconds())
	}
	time.Sleep(10 * time.Second)
	for i, nd := range c.Nodes {
		st, err := c.NodeStatus(i)
		if err != nil {
			t.Fatal(err)
		}
		var sumRSS, sumPSS int
		var parts []string
		rss, pss := rssKiB(st.Pid)
		sumRSS, sumPSS = rss, pss
		parts = append(parts, fmt.Sprintf("systoled=%d", rss/1024))
		for _, d := range st.Daemons {
			rss, pss := rssKiB(d.Pid)
			sumRSS += rss
			sumPSS += pss
			parts = append(parts, fmt.Sprintf("%s=%d", d.Name, rss/1024))
		}
		fmt.Printf("idle_rss node=%s rss_mib=%.1f pss_mib=%.1f (%s MiB RSS each)\n", nd.Name, float64(sumRSS)/1024, float64(sumPSS)/1024, strings.Join(parts, " "))
	}
}
