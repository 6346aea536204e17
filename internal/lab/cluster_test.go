package lab

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout (%v) waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// daemonState returns name's state and restart count on node i.
func daemonState(c *Cluster, i int, name string) (string, int) {
	st, err := c.NodeStatus(i)
	if err != nil {
		return "", -1
	}
	for _, d := range st.Daemons {
		if d.Name == name {
			return d.State, d.Restarts
		}
	}
	return "absent", -1
}

func allUp(c *Cluster, i int) bool {
	st, err := c.NodeStatus(i)
	return err == nil && st.Phase == "running"
}

// TestLoopbackCluster: three nodes on 127.0.0.x without root elect a DC;
// a killed pengine restarts alone, a killed membershipd restarts its
// node's stack and the node rejoins; a killed node leaves, the others
// agree on a DC, and it rejoins when restarted; down leaves nothing.
func TestLoopbackCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	c := NewCluster(t, 3, ClusterOptions{Loopback: true})
	if _, err := c.WaitDC(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range c.Nodes {
		waitUntil(t, "all daemons up", 10*time.Second, func() bool { return allUp(c, i) })
	}
	if _, err := c.Cibadmin(1, "-Q"); err != nil {
		t.Fatal(err)
	}
	// an alone daemon
	if st, _ := daemonState(c, 1, "pengine"); st != "absent" {
		if err := c.KillDaemon(1, "pengine"); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "pengine restarted alone", 10*time.Second, func() bool {
			s, r := daemonState(c, 1, "pengine")
			return s == "up" && r == 1
		})
		if _, r := daemonState(c, 1, "crmd"); r != 0 {
			t.Fatalf("crmd restarted %d times after a pengine crash", r)
		}
	}
	// a stack daemon: the node's stack restarts and it rejoins
	if err := c.KillDaemon(2, "membershipd"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "node3's stack restarted", 15*time.Second, func() bool {
		_, r := daemonState(c, 2, "membershipd")
		return r == 1 && allUp(c, 2)
	})
	if _, err := c.WaitDC(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	// a whole node
	if err := c.KillNode(0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "survivors agree on a DC other than node1", 20*time.Second, func() bool {
		dc := c.DC()
		return dc != "" && dc != "node1"
	})
	if err := c.StartNode(0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDC(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for i := range c.Nodes {
		st, _ := c.NodeStatus(i)
		pids = append(pids, st.Pid)
		for _, d := range st.Daemons {
			pids = append(pids, d.Pid)
		}
	}
	if err := c.Down(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, p := range pids {
		if b, err := os.ReadFile("/proc/" + itoa(p) + "/cmdline"); err == nil && len(b) > 0 {
			t.Errorf("pid %d (%q) still running after Down", p, b)
		}
	}
	if _, err := os.Stat(StateFile(c.Dir)); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestNamespaceClusterCut (root): the DC's links are cut both ways, the
// two others elect a new DC; healed, all three agree again.
func TestNamespaceClusterCut(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	c := NewCluster(t, 3, ClusterOptions{})
	dc, err := c.WaitDC(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	i := c.Index(dc)
	if err := c.CutLinks(i, false); err != nil {
		t.Fatal(err)
	}
	other := (i + 1) % 3
	waitUntil(t, "a new DC on the majority side", 20*time.Second, func() bool {
		x, err := c.Query(other)
		return err == nil && x.SelectAttrValue("dc-uuid", "") != dc && x.SelectAttrValue("dc-uuid", "") != ""
	})
	if err := c.Heal(i); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDC(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
