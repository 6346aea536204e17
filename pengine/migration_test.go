package pengine

import "testing"

// TestIsNewerOp checks the history comparison the migration look-ups use
// (Pacemaker's pe__is_newer_op): call ids on the same node, change times
// across nodes, a pending entry (call id -1) newer than a completed one.
func TestIsNewerOp(t *testing.T) {
	op := func(call int, lastRC int64) *histOp {
		h := &histOp{callID: call, lastChg: lastRC}
		if lastRC >= 0 {
			h.has |= hasLastRC
		}
		return h
	}
	cases := []struct {
		name     string
		a, b     *histOp
		sameNode bool
		want     int
	}{
		{"same node, higher call id", op(9, 100), op(3, 200), true, 1},
		{"same node, lower call id", op(3, 200), op(9, 100), true, -1},
		{"other node, later change", op(3, 200), op(9, 100), false, 1},
		{"other node, earlier change", op(9, 100), op(3, 200), false, -1},
		{"other node, same change", op(9, 100), op(3, 100), false, 0},
		{"other node, no change time", op(9, -1), op(3, 100), false, 0},
		{"pending is newer", op(-1, 50), op(3, 100), true, 1},
		{"completed is older than pending", op(3, 100), op(-1, 50), true, -1},
		{"both pending", op(-1, 50), op(-1, 100), true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isNewerOp(c.a, c.b, c.sameNode); got != c.want {
				t.Errorf("isNewerOp = %d, want %d", got, c.want)
			}
		})
	}
}

// TestNodePriorityFencingDelay checks Pacemaker 2.1's
// node_priority_fencing_delay rules on a hand-built node set.
func TestNodePriorityFencingDelay(t *testing.T) {
	mk := func(online bool, prio int) *Node { return &Node{Online: online, priority: prio} }
	cases := []struct {
		name   string
		delay  int64
		nodes  []*Node
		target int
		want   int64
	}{
		{"lost top-priority node of two", 15, []*Node{mk(true, 0), mk(false, 10)}, 1, 15},
		{"lost lower-priority node", 15, []*Node{mk(true, 10), mk(false, 0)}, 1, 0},
		{"equal priorities", 15, []*Node{mk(true, 5), mk(false, 5)}, 1, 0},
		{"majority online", 15, []*Node{mk(true, 0), mk(true, 0), mk(false, 10)}, 2, 0},
		{"half online of four", 15, []*Node{mk(true, 0), mk(true, 0), mk(false, 10), mk(false, 3)}, 2, 15},
		{"online target", 15, []*Node{mk(true, 10), mk(false, 0)}, 0, 0},
		{"option off", 0, []*Node{mk(true, 0), mk(false, 10)}, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &sched{nodes: c.nodes, priorityFencingDelay: c.delay}
			if got := s.nodePriorityFencingDelay(c.nodes[c.target]); got != c.want {
				t.Errorf("delay = %d, want %d", got, c.want)
			}
		})
	}
}
