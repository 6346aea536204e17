package pengine

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
	perNode := make([]int, len(s.nodes))
	count := 0
	assigned := map[*Resource]bool{}
	for _, inst := range r.Children {
		cur := inst.currentNode()
		if cur == nil || count >= r.cloneMax {
			continue
		}
		if perNode[cur.index] >= r.cloneNodeMax {
			continue
		}
		w := inst.allowed[cur.index]
		if w == absent || w < 0 || !cur.available() {
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
	for _, inst := range r.Children {
		if assigned[inst] {
			continue
		}
		if count >= r.cloneMax {
			s.banAll(inst)
		} else {
			for i := range perNode {
				if perNode[i] >= r.cloneNodeMax && inst.allowed[i] != absent {
					inst.allowed[i] = -Infinity
				}
			}
		}
		s.assign(inst, nil, stopIfFail)
		if inst.AssignedTo != nil {
			perNode[inst.AssignedTo.index]++
			count++
		}
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

func (s *sched) banAll(inst *Resource) {
	for _, p := range append([]*Resource{inst}, inst.primitives(nil)...) {
		for i := range p.allowed {
			if p.allowed[i] != absent {
				p.allowed[i] = -Infinity
			}
		}
	}
}
