package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestBenchMembership measures failover: a node's daemons are killed (SIGKILL) and the
// time until every survivor has installed the new view is taken from the daemons' own
// install timestamps. It runs only with SYSTOLE_BENCH=1 (make bench-membership); NODES
// sets the cluster size (default 16), KILLS the number of kills (default 10). The last line
// is `view_ms nodes=N p50=X p95=Y n=K`.
func TestBenchMembership(t *testing.T) {
	if os.Getenv("SYSTOLE_BENCH") == "" {
		t.Skip("SYSTOLE_BENCH not set (make bench-membership)")
	}
	nodes, kills := 16, 10
	if v, err := strconv.Atoi(os.Getenv("NODES")); err == nil && v >= 3 {
		nodes = v
	}
	if v, err := strconv.Atoi(os.Getenv("KILLS")); err == nil && v >= 1 {
		kills = v
	}
	c := newCluster(t, nodes)
	for i := range c.members {
		c.startMessaging(i)
	}
	start := time.Now()
	for i := range c.members {
		c.startMembership(i)
	}
	all := seq(0, nodes)
	formed := c.waitView(all, true, 60*time.Second)
	fmt.Printf("formation_ms nodes=%d %d\n", nodes, formed.Sub(start).Milliseconds())
	var ms []float64
	for k := range kills {
		victim := 1 + k%(nodes-1) // node00 coordinates; killing it is measured too, below
		if k%5 == 4 {
			victim = 0
		}
		var survivors []int
		for i := range nodes {
			if i != victim {
				survivors = append(survivors, i)
			}
		}
		before := c.members[survivors[0]].view().GetNumber()
		for _, i := range survivors {
			before = max(before, c.members[i].view().GetNumber())
		}
		killed := time.Now()
		c.members[victim].memd.Kill()
		c.members[victim].msgd.Kill()
		at := c.waitViewAfter(survivors, 2*(nodes-1) > nodes, before, 30*time.Second)
		d := at.Sub(killed)
		ms = append(ms, float64(d.Microseconds())/1000)
		t.Logf("kill node%02d at %s: new view on all %d survivors after %v", victim, killed.UTC().Format("15:04:05.000"), nodes-1, d)
		if os.Getenv("SYSTOLE_E2E_VERBOSE") != "" {
			t.Logf("%s membershipd:\n%s", c.names[survivors[0]], c.members[survivors[0]].memd.Output())
		}
		c.startMessaging(victim)
		c.startMembership(victim)
		c.waitView(all, true, 60*time.Second)
	}
	slices.Sort(ms)
	pct := func(p float64) float64 { return ms[min(len(ms)-1, int(p*float64(len(ms))))] }
	fmt.Printf("view_ms nodes=%d p50=%.0f p95=%.0f n=%d (deadtime %dms)\n", nodes, pct(0.5), pct(0.95), len(ms), deadtime.Milliseconds())
}
