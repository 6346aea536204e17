package crm

import (
	"testing"
	"time"
)

func TestAttributesLandInTheRightSection(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	n := s.nodes["node2"]
	for _, a := range []Attr{
		{Node: "node2", Name: "pingd", Value: "100", Lifetime: LifetimeReboot},
		{Node: "node3", Name: "standby", Value: "on", Lifetime: LifetimeForever},
		{Node: "node2", Name: "site", Value: "a<&>\"b", Lifetime: LifetimeForever},
	} {
		if err := n.SetAttr(s.now, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.FailCount(s.now, "node2", "d1", "monitor", 10000); err != nil {
		t.Fatal(err)
	}
	s.drain("node2")
	s.runFor(time.Second)
	if err := n.FailCount(s.now, "node2", "d1", "monitor", 10000); err != nil {
		t.Fatal(err)
	}
	s.drain("node2")
	s.runFor(time.Second)
	if err := s.converged(); err != nil {
		t.Fatal(err)
	}
	r := s.nodes["node1"] // read on another node's replica
	for _, c := range []struct {
		node, name string
		life       Lifetime
		want       string
	}{
		{"node2", "pingd", LifetimeReboot, "100"},
		{"node3", "standby", LifetimeForever, "on"},
		{"node2", "site", LifetimeForever, "a<&>\"b"},
		{"node2", "fail-count-d1#monitor_10000", LifetimeReboot, "2"},
		{"node2", "last-failure-d1#monitor_10000", LifetimeReboot, "1700000002"},
	} {
		got, ok := r.GetAttr(c.node, c.name, c.life)
		if !ok || got != c.want {
			t.Errorf("%s %s (%s) = %q %v, want %q", c.node, c.name, c.life, got, ok, c.want)
		}
	}
	if _, ok := r.GetAttr("node2", "pingd", LifetimeForever); ok {
		t.Error("a transient attribute landed in the configuration")
	}
	// delete
	if err := n.SetAttr(s.now, Attr{Node: "node3", Name: "standby", Lifetime: LifetimeForever, Delete: true}); err != nil {
		t.Fatal(err)
	}
	s.drain("node2")
	s.runFor(time.Second)
	if _, ok := r.GetAttr("node3", "standby", LifetimeForever); ok {
		t.Error("standby not deleted")
	}
	if _, ok := n.attrs[attrKey{"node3", "standby", LifetimeForever}]; ok {
		t.Error("a deleted attribute stays in attrd's table")
	}
}

func TestDampeningCoalesces(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	n := s.nodes["node3"]
	startV := s.nodes["node1"].Version()
	for i, v := range []string{"100", "200", "300", "0", "400"} {
		if err := n.SetAttr(s.now, Attr{Node: "node3", Name: "pingd", Value: v, Lifetime: LifetimeReboot, Dampen: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		s.drain("node3")
		s.runFor(time.Second)
		if got, ok := s.nodes["node1"].GetAttr("node3", "pingd", LifetimeReboot); ok {
			t.Fatalf("written before the dampening delay (after %d s): %s", i+1, got)
		}
	}
	s.runFor(time.Second)
	got, ok := s.nodes["node1"].GetAttr("node3", "pingd", LifetimeReboot)
	if !ok || got != "400" {
		t.Fatalf("pingd = %q %v, want 400", got, ok)
	}
	if d := s.nodes["node1"].Version().NumUpdates - startV.NumUpdates; d != 1 || s.nodes["node1"].Version().Epoch != startV.Epoch {
		t.Fatalf("five updates in the dampening window made %d status writes (want 1)", d)
	}
}

func TestTransientAttributesClearedWhenNodeLeavesAndRewritten(t *testing.T) {
	s := quiet(t, 3, NoQuorumStop)
	n := s.nodes["node3"]
	if err := n.SetAttr(s.now, Attr{Node: "node3", Name: "pingd", Value: "7", Lifetime: LifetimeReboot}); err != nil {
		t.Fatal(err)
	}
	s.drain("node3")
	s.runFor(time.Second)
	s.partition([]string{"node1", "node2"}, []string{"node3"})
	s.runFor(time.Second)
	if _, ok := s.nodes["node1"].GetAttr("node3", "pingd", LifetimeReboot); ok {
		t.Fatal("node3 left but its transient attribute stayed")
	}
	s.heal()
	s.runFor(2 * time.Second)
	if got, ok := s.nodes["node1"].GetAttr("node3", "pingd", LifetimeReboot); !ok || got != "7" {
		t.Fatalf("node3 is back: pingd = %q %v, want it rewritten", got, ok)
	}
}

func TestSetAttrRejects(t *testing.T) {
	n, _ := NewNode(DefaultConfig("a"), nil)
	for _, a := range []Attr{
		{Node: "", Name: "x", Lifetime: LifetimeReboot},
		{Node: "a", Name: "x'y", Lifetime: LifetimeReboot},
		{Node: "a", Name: "x", Lifetime: "sometimes"},
		{Node: "a", Name: "x", Lifetime: LifetimeReboot, Dampen: -1},
	} {
		if err := n.SetAttr(epoch, a); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
}
