package pengine

import "sort"

// assignClone is a simplified clone assignment: active instances stay where
// they are when allowed, the rest go to the best nodes with a free slot.
func (s *sched) assignClone(r *Resource, prefer *Node, stopIfFail bool) *Node {
	if !r.unassigned {
		return nil
	}
	if r.assigning {
		return nil
	}
	r.assigning = true
	for _, c := range s.thisWithColocations(r) {
		if c.primary.unassigned {
			s.assign(c.primary, nil, true)
		}
	}
	for _, inst := range r.Children {
		for i := range inst.allowed {
			if r.allowed[i] == absent {
				inst.allowed[i] = absent
			} else if inst.allowed[i] == absent {
				inst.allowed[i] = r.allowed[i]
			}
		}
	}
	if r.Promotable {
		s.addPromotionScores(r)
	}
	perNode := make([]int, len(s.nodes))
	count := 0
	availableNodes := 0
	for _, n := range s.nodes {
		if w := r.allowed[n.index]; w != absent && w >= 0 && n.available() {
			availableNodes++
		}
	}
	optimal := 1
	if availableNodes > 0 && r.cloneMax/availableNodes > 1 {
		optimal = r.cloneMax / availableNodes
	}
	assigned := map[*Resource]bool{}
	instances := s.sortInstances(r)
	for _, inst := range instances {
		cur := inst.currentNode()
		if cur == nil || count >= r.cloneMax || instanceFailed(inst) {
			continue
		}
		if perNode[cur.index] >= r.cloneNodeMax || perNode[cur.index] >= optimal {
			continue
		}
		w := inst.allowed[cur.index]
		if w == absent || w < 0 || !cur.available() {
			continue
		}
		if !s.prefersHome(r, inst, cur, perNode, r.cloneMax-count) {
			continue
		}
		s.forceOnly(inst, cur)
		s.assign(inst, cur, stopIfFail)
		if inst.AssignedTo != nil {
			perNode[inst.AssignedTo.index]++
			count++
		}
		assigned[inst] = true
	}
	for _, inst := range instances {
		if assigned[inst] {
			continue
		}
		if count >= r.cloneMax {
			s.banAll(inst)
		} else {
			for i := range perNode {
				if perNode[i] >= r.cloneNodeMax {
					banNode(inst, i)
				}
			}
		}
		s.assign(inst, nil, stopIfFail)
		if inst.AssignedTo != nil {
			perNode[inst.AssignedTo.index]++
			count++
		}
	}
	if r.Promotable {
		s.setInstanceRoles(r)
	}
	r.assigning = false
	r.unassigned = false
	return nil
}

func (s *sched) forceOnly(inst *Resource, n *Node) {
	for _, p := range append([]*Resource{inst}, inst.primitives(nil)...) {
		for i := range p.allowed {
			if i != n.index && p.allowed[i] != absent {
				p.allowed[i] = -Infinity
			}
		}
	}
}

// banNode makes node index i -INF for an instance and its members.
func banNode(inst *Resource, i int) {
	for _, p := range append([]*Resource{inst}, inst.primitives(nil)...) {
		if p.allowed[i] != absent {
			p.allowed[i] = -Infinity
		}
	}
}

func (s *sched) banAll(inst *Resource) {
	for _, p := range append([]*Resource{inst}, inst.primitives(nil)...) {
		for i := range p.allowed {
			if p.allowed[i] != absent {
				p.allowed[i] = -Infinity
			}
		}
	}
}

type instKey struct {
	r       *Resource
	nActive int
	node    *Node
	can     bool
	failed  bool
	num     int
}

// sortInstances orders clone instances the way Pacemaker assigns them.
func (s *sched) sortInstances(clone *Resource) []*Resource {
	keys := make([]instKey, 0, len(clone.Children))
	for _, inst := range clone.Children {
		locs := instanceLocations(inst)
		k := instKey{r: inst, nActive: len(locs), can: true, num: instanceNumber(inst)}
		if len(locs) > 0 {
			k.node = locs[0]
			w := clone.allowed[k.node.index]
			if w == absent || w < 0 {
				k.node = nil
				k.can = false
			}
		}
		for _, p := range inst.primitives(nil) {
			if p.Failed {
				k.failed = true
			}
		}
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.nActive > 0 && b.nActive > 0 && a.nActive != b.nActive {
			return a.nActive < b.nActive
		}
		if a.can != b.can {
			return a.can
		}
		if pa, pb := max(a.r.Priority, a.r.assignPriority), max(b.r.Priority, b.r.assignPriority); pa != pb {
			return pa > pb
		}
		if (a.node == nil) != (b.node == nil) {
			return a.node != nil
		}
		if a.node != nil && b.node != nil {
			ca, cb := a.node.available(), b.node.available()
			if ca != cb {
				return ca
			}
			if a.failed != b.failed {
				return !a.failed
			}
		}
		return a.num < b.num
	})
	out := make([]*Resource, len(keys))
	for i, k := range keys {
		out[i] = k.r
	}
	return out
}

// prefersHome is the early-assignment test of an active primitive instance
// (Pacemaker's assign_instance_early): it stays on its current node only if
// that node would win a normal assignment, after reserving a slot on each
// node that would win instead, while instance slots remain (available is
// clone-max less the instances already placed).
func (s *sched) prefersHome(clone, inst *Resource, cur *Node, perNode []int, available int) bool {
	if !inst.isPrimitive() {
		return true
	}
	reserved := make([]int, len(perNode))
	usable := func(n *Node) bool {
		w := inst.allowed[n.index]
		return w != absent && w >= 0 && n.available() && perNode[n.index]+reserved[n.index] < clone.cloneNodeMax
	}
	for reservedAll := 0; reservedAll < available; reservedAll++ {
		var best *Node
		for _, ns := range s.sortNodes(inst, cur) {
			if usable(ns.n) {
				best = ns.n
				break
			}
		}
		if best == nil {
			return false
		}
		if best == cur || (usable(cur) && inst.allowed[cur.index] >= inst.allowed[best.index]) {
			return true
		}
		reserved[best.index]++
	}
	return false
}

// instanceFailed reports whether a clone instance (or a member of it) has
// failed; failed instances are not kept home early (Pacemaker's
// preferred_node).
func instanceFailed(inst *Resource) bool {
	for _, p := range inst.primitives(nil) {
		if p.Failed {
			return true
		}
	}
	return false
}
