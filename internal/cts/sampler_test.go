package cts

import (
	"testing"
	"time"
)

func TestInstanceOf(t *testing.T) {
	tests := []struct {
		inst, want string
		ok         bool
	}{
		{"d1", "d1", true},
		{"g-d", "g-d", true},
		{"c", "c", true},
		{"c_0", "c", true},
		{"c_12", "c", true},
		{"d1_0", "", false}, // d1 is not a clone
		{"g-ip", "", false}, // not a Dummy
		{"other", "", false},
	}
	for _, tc := range tests {
		got, ok := instanceOf(tc.inst)
		if got != tc.want || ok != tc.ok {
			t.Errorf("instanceOf(%q) = %q, %v; want %q, %v", tc.inst, got, ok, tc.want, tc.ok)
		}
	}
	if !isClone("c") || isClone("d1") || isClone("c@node2") {
		t.Error("isClone")
	}
}

func TestCloseOverlapMerges(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		in   []overlap
		want int
	}{
		{"apart", []overlap{{rsc: "ip2", start: at(0), end: at(100)}, {rsc: "ip2", start: at(1200), end: at(1300)}}, 2},
		{"close", []overlap{{rsc: "ip2", start: at(0), end: at(100)}, {rsc: "ip2", start: at(600), end: at(700)}}, 1},
		{"other resource", []overlap{{rsc: "ip2", start: at(0), end: at(100)}, {rsc: "d1", start: at(150), end: at(200)}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sampler{}
			for _, o := range tc.in {
				s.closeOverlap(o)
			}
			if len(s.closed) != tc.want {
				t.Fatalf("%d overlaps, want %d: %v", len(s.closed), tc.want, s.closed)
			}
		})
	}
	s := &sampler{}
	s.closeOverlap(overlap{rsc: "g-ip", nodes: []string{"node1", "node2"}, start: at(0), end: at(100), cross: true, tolerated: true})
	s.closeOverlap(overlap{rsc: "g-ip", nodes: []string{"node2", "node3"}, start: at(300), end: at(400)})
	if o := s.closed[0]; len(o.nodes) != 3 || o.tolerated || !o.end.Equal(at(400)) {
		t.Fatalf("merged overlap %+v: want 3 nodes, not tolerated, ending at 400 ms", o)
	}
}
