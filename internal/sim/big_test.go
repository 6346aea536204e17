package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSixtyFourNodes runs the largest supported cluster: one view of 64, a 40|24 split
// (the 40 keep quorum, the 24 lose it), an asymmetric cut, and a heal back to one view.
func TestSixtyFourNodes(t *testing.T) {
	start := time.Now()
	var r Runner
	must := func(cmd string) string {
		t.Helper()
		out, err := r.Exec(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return out
	}
	must("cluster nodes=64 seed=64")
	c := r.C
	c.SetQuiet(true)
	if d, ok := c.Converge(); !ok {
		t.Fatalf("64 nodes did not form one view: %v", c.Violations)
	} else {
		t.Logf("64 nodes formed one view after %v virtual", d)
	}
	var a, b []string
	for i, name := range c.Names() {
		if i < 40 {
			a = append(a, name)
		} else {
			b = append(b, name)
		}
	}
	must(fmt.Sprintf("partition %s | %s", strings.Join(a, ","), strings.Join(b, ",")))
	if !c.Stabilize(60 * time.Second) {
		t.Fatal("partition did not stabilize")
	}
	for i := range 64 {
		v := c.View(i)
		want, quorum := a, true
		if i >= 40 {
			want, quorum = b, false
		}
		if !slices.Equal(v.Members, want) || v.Quorum != quorum {
			t.Fatalf("%s after 40|24 split: %v", c.Names()[i], v)
		}
	}
	must("heal")
	must("cut n07>n50")
	if !c.Stabilize(60 * time.Second) {
		t.Fatal("asymmetric cut did not stabilize")
	}
	if v := c.View(6); slices.Contains(v.Members, "n50") {
		t.Fatalf("n07 shares a view with n50 across an asymmetric cut: %v", v)
	}
	if v := c.View(0); len(v.Members) != 63 || !v.Quorum {
		t.Fatalf("n01 after the cut: %v", v)
	}
	must("heal")
	if d, ok := c.Converge(); !ok {
		t.Fatalf("no single view after heal: %v", c.Violations)
	} else {
		t.Logf("64 nodes converged %v after heal", d)
	}
	if len(c.Violations) > 0 {
		t.Fatalf("violations:\n%s", strings.Join(c.Violations, "\n"))
	}
	t.Logf("64 nodes: %v virtual, %d events, %d installs, %.1fs", c.Now(), c.Events, c.Installs, time.Since(start).Seconds())
}

// TestReplay checks that a seed replays exactly: the same schedule gives the same trace.
func TestReplay(t *testing.T) {
	run := func() string {
		var r Runner
		var all []string
		for _, cmd := range RandomSchedule(12345) {
			out, err := r.Exec(cmd)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, cmd, out)
		}
		return strings.Join(all, "\n")
	}
	first, second := run(), run()
	if first != second {
		t.Fatal("the same seed produced two different traces")
	}
	if !strings.Contains(first, "view") {
		t.Fatal("trace holds no views")
	}
}

// TestFlappingDamped checks that a link flapping for a long time does not change the view
// more often than once per deadtime, and that damping slows it further.
func TestFlappingDamped(t *testing.T) {
	for _, period := range []time.Duration{300 * time.Millisecond, 1200 * time.Millisecond, 2500 * time.Millisecond} {
		t.Run(period.String(), func(t *testing.T) {
			var r Runner
			if _, err := r.Exec("cluster nodes=5 seed=9"); err != nil {
				t.Fatal(err)
			}
			r.C.SetQuiet(true)
			r.C.Stabilize(30 * time.Second)
			before := r.C.InstallsOf(0)
			total := 120 * time.Second
			if _, err := r.Exec(fmt.Sprintf("flap n1<>n2 period=%v for=%v", period, total)); err != nil {
				t.Fatal(err)
			}
			changes := r.C.InstallsOf(0) - before
			limit := int(total / r.C.opts.Link.Deadtime)
			t.Logf("flap period %v: n1 installed %d views in %v (deadtime bound %d)", period, changes, total, limit)
			if changes > limit {
				t.Fatalf("%d view changes in %v: faster than one per deadtime", changes, total)
			}
			if _, ok := r.C.Converge(); !ok || len(r.C.Violations) > 0 {
				t.Fatalf("violations: %v", r.C.Violations)
			}
		})
	}
}

// TestSixtyFourNodesMessaging runs 64 nodes over the real messaging core: one view, a crash
// (63-node view), a restart (64 again).
func TestSixtyFourNodesMessaging(t *testing.T) {
	if testing.Short() {
		t.Skip("64 nodes over the messaging core take seconds")
	}
	start := time.Now()
	var r Runner
	for _, cmd := range []string{"cluster nodes=64 seed=3 link=messaging", "converge", "crash n10", "stabilize", "views", "restart n10", "converge"} {
		out, err := r.Exec(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		r.C.SetQuiet(true)
		if cmd == "views" {
			for i, line := range strings.Split(out, "\n") {
				if i != 9 && !strings.Contains(line, "votes=63 quorum") {
					t.Fatalf("after crashing n10: %s", line)
				}
			}
		}
	}
	if len(r.C.Violations) > 0 {
		t.Fatalf("violations:\n%s", strings.Join(r.C.Violations, "\n"))
	}
	t.Logf("64 nodes over messaging: %v virtual, %d events, %.1fs", r.C.Now(), r.C.Events, time.Since(start).Seconds())
}
