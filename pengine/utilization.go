package pengine

func (s *sched) initCapacity() {
	for _, n := range s.nodes {
		n.remaining = map[string]int{}
		for k, v := range n.Utilization {
			n.remaining[k] = v
		}
	}
}

func (s *sched) consumeCapacity(n *Node, r *Resource) {
	if s.placement == "default" {
		return
	}
	for k, v := range r.Utilization {
		n.remaining[k] -= v
	}
}

func hasCapacity(n *Node, util map[string]int) bool {
	for k, v := range util {
		if v > n.remaining[k] {
			return false
		}
	}
	return true
}

func (s *sched) compareCapacity(a, b *Node) int {
	result := 0
	keys := map[string]bool{}
	for k := range a.Utilization {
		keys[k] = true
	}
	for k := range b.Utilization {
		keys[k] = true
	}
	for k := range keys {
		ra, rb := a.remaining[k], b.remaining[k]
		if ra > rb {
			result--
		} else if ra < rb {
			result++
		}
	}
	if result < 0 {
		return -1
	}
	if result > 0 {
		return 1
	}
	return 0
}

// banInsufficientCapacity bans nodes that lack capacity and returns the
// node with most free capacity.
func (s *sched) banInsufficientCapacity(r *Resource) *Node {
	if s.placement == "default" {
		return nil
	}
	util := map[string]int{}
	for k, v := range r.Utilization {
		util[k] = v
	}
	// add unassigned colocated dependents/primaries (mandatory, positive)
	for _, c := range s.withThisColocations(r) {
		if c.score >= Infinity && c.dependent.unassigned && c.dependent != r {
			for _, p := range c.dependent.primitives(nil) {
				if p.unassigned {
					for k, v := range p.Utilization {
						util[k] += v
					}
				}
			}
		}
	}
	for _, c := range s.thisWithColocations(r) {
		if c.score >= Infinity && c.primary.unassigned && c.primary != r {
			for _, p := range c.primary.primitives(nil) {
				if p.unassigned {
					for k, v := range p.Utilization {
						util[k] += v
					}
				}
			}
		}
	}
	if r.Parent != nil && r.Parent.isGroup() && r.Parent.Children[0] == r {
		for _, m := range r.Parent.Children[1:] {
			if m.unassigned {
				for k, v := range m.Utilization {
					util[k] += v
				}
			}
		}
	}
	anyCap := false
	var most *Node
	for i, w := range r.allowed {
		n := s.nodes[i]
		if w == absent || w < 0 || !n.available() {
			continue
		}
		if hasCapacity(n, util) {
			anyCap = true
		}
		if most == nil || s.compareCapacity(n, most) < 0 {
			most = n
		}
	}
	check := util
	if !anyCap {
		check = r.Utilization
	}
	for i, w := range r.allowed {
		n := s.nodes[i]
		if w == absent || w < 0 || !n.available() {
			continue
		}
		if !hasCapacity(n, check) {
			s.resourceLocation(r, n, -Infinity)
		}
	}
	if anyCap {
		return nil
	}
	return most
}
