package crm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/cib"
)

var epoch = time.Unix(1700000000, 0).UTC()

const time1s = time.Second

// quiet builds a loss-free, reorder-free cluster and lets it settle.
func quiet(t *testing.T, n int, policy NoQuorumPolicy) *simCluster {
	s := newSim(t, 1, n, policy)
	s.reorder = false
	s.traceOn = true
	s.step(time.Second)
	return s
}

func (s *simCluster) runFor(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.step(10 * time.Millisecond)
	}
}

func TestFreshClusterElectsAndJoins(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	if dc := s.dc(); dc != "node1" {
		t.Fatalf("dc = %q, want node1 (first name, equal versions)", dc)
	}
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	s.checkFinal()
	if got := s.nodes["node2"].CIB().Root().SelectAttrValue("dc-uuid", ""); got != "node1" {
		t.Errorf("dc-uuid = %q", got)
	}
}

func TestDCStableWhenNodesJoin(t *testing.T) {
	s := quiet(t, 4, NoQuorumStop)
	s.crash("node1")
	s.runFor(time.Second)
	dc := s.dc()
	if dc == "" || dc == "node1" {
		t.Fatalf("no new DC after the DC left: %q", dc)
	}
	s.restart("node1")
	s.runFor(time.Second)
	if got := s.dc(); got != dc {
		t.Fatalf("DC moved from %s to %s when node1 came back", dc, got)
	}
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
}

func TestFailoverWithinOneViewChange(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	s.write("node2")
	s.runFor(200 * time.Millisecond)
	start := s.now
	s.crash("node1")
	for s.dc() == "" || s.dc() == "node1" || !s.nodes[s.dc()].Active() {
		s.step(time.Millisecond)
		if s.now.Sub(start) > 5*time.Second {
			t.Fatal("no DC 5 s after the DC died")
		}
	}
	// the view arrives after viewDelay..2*viewDelay (the membership layer's
	// deadtime); the election and join then take a few message delays
	if took := s.now.Sub(start); took > 2*s.viewDelay+100*time.Millisecond {
		t.Errorf("failover took %v", took)
	}
}

func TestNoDCWithoutQuorum(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	s.partition([]string{"node1"}, []string{"node2", "node3"})
	s.runFor(time.Second)
	if s.nodes["node1"].IsDC() {
		t.Fatal("node1 alone is DC without quorum")
	}
	if dc := s.dc(); dc != "node2" {
		t.Fatalf("majority side dc = %q, want node2", dc)
	}
	s.write("node1")
	s.runFor(6 * time.Second)
	if s.refused != 1 {
		t.Fatalf("a write in the minority was not refused (refused=%d)", s.refused)
	}
	s.heal()
	s.runFor(time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
}

func TestIgnoreQuorumAndLostChangesOnMerge(t *testing.T) {
	s := quiet(t, 3, NoQuorumIgnore)
	s.partition([]string{"node1"}, []string{"node2", "node3"})
	s.runFor(time.Second)
	if !s.nodes["node1"].IsDC() || !s.nodes["node2"].IsDC() {
		t.Fatalf("no-quorum-policy=ignore: want a DC on each side, got node1=%v node2=%v", s.nodes["node1"].IsDC(), s.nodes["node2"].IsDC())
	}
	s.write("node1") // w1 on the minority side
	s.runFor(500 * time.Millisecond)
	s.write("node2") // w2, w3 on the majority side: newer
	s.runFor(500 * time.Millisecond)
	s.write("node3")
	s.runFor(500 * time.Millisecond)
	if !s.acked["w1"] || !s.acked["w2"] || !s.acked["w3"] {
		t.Fatalf("acked = %v", s.acked)
	}
	s.heal()
	s.runFor(2 * time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	if len(s.lost) != 1 || s.lost[0].Node != "node1" || !s.reportedLost("w1") {
		t.Fatalf("lost = %+v, want node1's w1 reported", s.lost)
	}
	if s.reportedLost("w2") || s.reportedLost("w3") {
		t.Fatal("the winner's writes reported lost")
	}
	var b strings.Builder
	b.Write(s.lost[0].Patch.Bytes())
	if !strings.Contains(b.String(), `primitive id="w1"`) {
		t.Errorf("lost patch does not show w1:\n%s", b.String())
	}
}

func TestAcknowledgedWriteSurvivesDCCrash(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	s.write("node3")
	for !s.acked["w1"] {
		s.step(time.Millisecond)
	}
	// the write is acknowledged: every member persisted it. Crash the DC
	// at once and check that the new DC has it.
	s.crash("node1")
	s.runFor(time.Second)
	if dc := s.dc(); dc == "" {
		t.Fatal("no DC")
	}
	s.stabilize()
	s.checkFinal()
}

func TestRejoiningNodeGetsNewestCIB(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	s.crash("node3")
	s.runFor(time.Second)
	for i := 0; i < 5; i++ {
		s.write("node2")
		s.runFor(50 * time.Millisecond)
	}
	old := s.stores["node3"]
	oldV := func() cib.Version { c, _ := old.Load(); return c.Version() }()
	s.restart("node3")
	s.runFor(time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	if v := s.nodes["node3"].Version(); v.Compare(oldV) <= 0 {
		t.Fatalf("node3 did not move forward: %s", v)
	}
	if len(s.lost) != 0 {
		t.Fatalf("a stale copy was reported as lost changes: %+v", s.lost)
	}
	s.checkFinal()
}

func TestReplicaGapAsksForFullCopy(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	// lose every message to node3 for a while: it misses patches
	s.dropP = 0
	s.partition([]string{"node1", "node2", "node3"}) // same group: no view change
	dc := s.nodes["node1"]
	for i := 0; i < 3; i++ {
		s.write("node1")
		// drop the patch broadcasts to node3 by hand
		s.step(0)
		kept := s.msgs[:0]
		for _, m := range s.msgs {
			if m.to != "node3" {
				kept = append(kept, m)
			}
		}
		s.msgs = kept
	}
	s.write("node1")
	s.runFor(2 * time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	if s.nodes["node3"].Version() != dc.Version() {
		t.Fatal("node3 did not catch up")
	}
	s.checkFinal()
}

func TestWriteErrorsComeBack(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	n := s.nodes["node2"]
	s.writes["node2"][1000] = "bad"
	if err := n.Write(s.now, 1000, cib.Request{Op: cib.OpDelete, Scope: "resources", XML: []byte(`<primitive id="ghost"/>`)}); err != nil {
		t.Fatal(err)
	}
	s.drain("node2")
	s.runFor(500 * time.Millisecond)
	got := s.errs["bad"]
	if !errors.Is(got, cib.ErrNotFound) {
		t.Fatalf("err = %v, want cib.ErrNotFound", got)
	}
	if err := n.Write(s.now, 1, cib.Request{Op: cib.OpQuery}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("query as write: %v", err)
	}
}

func TestWindowBoundsTheDCLead(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	// node2 and node3 stop answering: the DC applies at most Window epochs
	s.partition([]string{"node1", "node2", "node3"})
	for i := 0; i < 20; i++ {
		s.write("node1")
	}
	s.msgs = nil // every patch and ack lost
	dc := s.nodes["node1"]
	low := dc.low()
	if lead := dc.Version().Epoch - low.Epoch; lead > int64(dc.cfg.Window) {
		t.Fatalf("DC ran %d epochs ahead, window %d", lead, dc.cfg.Window)
	}
	if len(dc.queued) != 20-dc.cfg.Window {
		t.Fatalf("queued = %d", len(dc.queued))
	}
	s.runFor(3 * time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	if len(s.acked) != 20 {
		t.Fatalf("acked %d of 20", len(s.acked))
	}
	s.checkFinal()
}

// TestCrmdRestartInTheSameView: crmd restarts while messaging and
// membership keep running, so the new crmd gets the same view number
// again. Its vote carries a new incarnation, the others vote again, one
// DC is agreed, and writes go through (a replica's restart, then the
// DC's, then a quick double restart).
func TestCrmdRestartInTheSameView(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	view := s.nodes["node1"].View().Number
	for i, name := range []string{"node3", "node1", "node2", "node2"} {
		s.restartCrmd(name)
		if i < 3 {
			s.runFor(time.Second)
		} else {
			s.runFor(5 * time.Millisecond) // restarted again before its view arrived
			s.restartCrmd(name)
			s.runFor(time.Second)
		}
		if err := s.converged(); err != nil {
			t.Fatalf("after restarting %s's crmd: %v\n%s", name, err, strings.Join(s.tail(), "\n"))
		}
		s.write("node3")
		s.write(name)
		s.runFor(time.Second)
		if err := s.converged(); err != nil {
			t.Fatalf("after writes: %v", err)
		}
		for _, n := range s.names {
			if got := s.nodes[n].View().Number; got != view {
				t.Fatalf("%s is in view %d: the test wants the view unchanged (%d)", n, got, view)
			}
		}
	}
	if len(s.acked) != 8 {
		t.Fatalf("%d of 8 writes acknowledged", len(s.acked))
	}
	if dc := s.dc(); dc != "node1" {
		// node1 lost the role when its crmd restarted, then won it back
		// (equal versions, first name) and kept it through node2's restarts
		t.Errorf("final DC %s, want node1", dc)
	}
	s.checkFinal()
}
