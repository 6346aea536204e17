package pengine

import "sort"

// promotionScore is the node attribute master-<name> for an instance.
func (s *sched) promotionScore(inst *Resource, n *Node) (int, bool) {
	names := []string{}
	if inst.cloneName != "" {
		names = append(names, inst.cloneName)
	}
	names = append(names, inst.ID, stripClone(inst.ID))
	for _, nm := range names {
		if v, ok := n.Attrs["master-"+nm]; ok {
			return parseScore(v, 0), true
		}
		if v, ok := n.Attrs["promotion-"+nm]; ok {
			return parseScore(v, 0), true
		}
	}
	return 0, false
}

// promotionKnown reports whether the instance's state on n is known (or it
// was probed nowhere), so a promotion score there may be used.
func (s *sched) promotionKnown(inst *Resource, n *Node) bool {
	top := inst.top()
	if !top.Unique {
		// Pacemaker's promotion_score_applies for anonymous instances:
		// active here; or no instance active here and the clone was
		// probed here; or the clone was probed nowhere; or known here.
		var active *Resource
		for _, p := range top.primitives(nil) {
			for _, rn := range p.RunningOn {
				if rn == n && active == nil {
					active = p
				}
			}
		}
		if active == inst {
			return true
		}
		if active == nil && top.knownOn[n.index] {
			return true
		}
		if active == nil {
			any := false
			for _, k := range top.knownOn {
				if k {
					any = true
					break
				}
			}
			if !any {
				return true
			}
		}
		if inst.knownOn[n.index] {
			return true
		}
		for _, rn := range inst.RunningOn {
			if rn == n {
				return true
			}
		}
		return false
	}
	if inst.knownOn[n.index] {
		return true
	}
	for _, k := range inst.knownOn {
		if k {
			return false
		}
	}
	return true
}

// addPromotionScores adds positive promotion scores to instance node
// scores before assignment.
func (s *sched) addPromotionScores(clone *Resource) {
	for _, inst := range clone.Children {
		p := promotableLeaf(inst)
		if p == nil {
			continue
		}
		for _, n := range s.nodes {
			if inst.allowed[n.index] == absent || inst.allowed[n.index] < 0 {
				continue
			}
			sc, ok := s.promotionScore(p, n)
			if !ok || sc <= 0 || !s.promotionKnown(p, n) {
				continue
			}
			inst.allowed[n.index] = addScores(inst.allowed[n.index], sc)
			// Pacemaker also raises the instance's priority to its best
			// promotion score, which orders instances for assignment.
			if sc > inst.assignPriority {
				inst.assignPriority = sc
			}
		}
	}
}

func promotableLeaf(inst *Resource) *Resource {
	if inst.isPrimitive() {
		return inst
	}
	if len(inst.Children) > 0 {
		return inst.Children[0]
	}
	return nil
}

// setInstanceRoles picks which assigned instances are promoted.
func (s *sched) setInstanceRoles(clone *Resource) {
	type cand struct {
		inst *Resource
		prio int
		cur  bool
		num  int
	}
	var cands []cand
	capped := false
	if tr, ok := clone.Meta["target-role"]; ok && parseRole(tr) == RoleUnpromoted {
		capped = true
	}
	if !s.quorate && s.noQuorumPolicy == "demote" {
		capped = true
	}
	for _, inst := range clone.Children {
		n := s.rscLocation(inst)
		leaf := promotableLeaf(inst)
		if leaf == nil {
			continue
		}
		prio := -1
		frozen := !s.quorate && s.noQuorumPolicy == "freeze" && leaf.Role != RolePromoted
		if n == nil || capped || frozen {
			prio = -Infinity
		} else if sc, ok := s.promotionScore(leaf, n); ok && s.promotionKnown(leaf, n) {
			prio = sc
		} else if leaf.Role == RolePromoted {
			prio = 0
		}
		if n != nil && prio > -Infinity {
			for _, loc := range s.locations {
				if loc.role != RolePromoted {
					continue
				}
				if loc.rsc != clone && loc.rsc != inst && loc.rsc != leaf {
					continue
				}
				if sc, ok := loc.nodes[n.index]; ok {
					prio = addScores(prio, sc)
				}
			}
			for _, c := range clone.withThis {
				if c.primaryRole != RolePromoted {
					continue
				}
				if c.dependent.AssignedTo != nil {
					if c.dependent.AssignedTo == n {
						prio = addScores(prio, c.score)
					}
					continue
				}
				if s.rscLocation(c.dependent) != nil || !s.hasInfluence(c) {
					continue
				}
				// a dependent not placed yet pulls promotion toward the
				// nodes it prefers (its non-negative scores, scaled)
				if w := s.rscNodeScore(c.dependent, n); w > 0 {
					prio = addScores(prio, scaleScore(w, c.score))
				}
			}
			for _, c := range clone.thisWith {
				if c.dependentRole != RolePromoted {
					continue
				}
				here, anywhere := s.primaryPlaced(c, n)
				if !anywhere {
					// a mandatory colocation with a primary that runs
					// nowhere forbids promotion anywhere
					if c.score >= Infinity {
						prio = -Infinity
					}
					continue
				}
				if here {
					if c.score < Infinity {
						prio = addScores(prio, c.score)
					}
				} else if c.score >= Infinity {
					prio = -Infinity
				}
			}
		}
		cands = append(cands, cand{inst: inst, prio: prio, cur: leaf.Role == RolePromoted, num: instanceNumber(inst)})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.prio != b.prio {
			return a.prio > b.prio
		}
		if a.cur != b.cur {
			return a.cur
		}
		return a.num < b.num
	})
	promoted := 0
	perNode := map[*Node]int{}
	for _, c := range cands {
		n := s.rscLocation(c.inst)
		role := RoleUnpromoted
		if n == nil {
			role = RoleStopped
		} else if c.prio >= 0 && promoted < clone.promotedMax && perNode[n] < clone.promotedNodeMax && n.available() && s.canBePromoted(c.inst) {
			role = RolePromoted
			promoted++
			perNode[n]++
		}
		for _, p := range append([]*Resource{c.inst}, c.inst.primitives(nil)...) {
			if p.NextRole == RoleStopped && role != RoleStopped {
				continue
			}
			if p.NextRole == RoleUnknown || p.NextRole > role {
				p.NextRole = role
			}
			if role == RolePromoted && p.NextRole < RolePromoted && p.NextRole != RoleStopped {
				p.NextRole = role
			}
		}
	}
}

// primaryPlaced reports whether a colocation's primary will be on n (in the
// colocation's primary role, for clones), and whether it will be anywhere.
func (s *sched) primaryPlaced(c *colocation, n *Node) (here, anywhere bool) {
	if !c.primary.isClone() {
		pn := s.rscLocation(c.primary)
		return pn != nil && pn == n, pn != nil
	}
	for _, p := range c.primary.primitives(nil) {
		if p.AssignedTo == nil {
			continue
		}
		if c.primaryRole == RolePromoted && p.NextRole != RolePromoted {
			continue
		}
		anywhere = true
		if p.AssignedTo == n {
			here = true
		} else if c.nodeAttr != "" && c.nodeAttr != "#uname" {
			a, ok1 := colocAttr(p.AssignedTo, c.nodeAttr)
			b, ok2 := colocAttr(n, c.nodeAttr)
			if ok1 && ok2 && a == b {
				here = true
			}
		}
	}
	return here, anywhere
}

// scaleScore multiplies a node score by a colocation's score/INFINITY.
func scaleScore(w, score int) int {
	if score >= Infinity {
		return w
	}
	if score <= -Infinity {
		return -w
	}
	return int(float64(w) * float64(score) / float64(Infinity))
}

// canBePromoted is Pacemaker's node_to_be_promoted_on member check: every
// member of a cloned group must be placed, and an unmanaged instance may
// only stay promoted, never become promoted.
func (s *sched) canBePromoted(inst *Resource) bool {
	for _, p := range inst.primitives(nil) {
		if p.AssignedTo == nil {
			return false
		}
		if !p.Managed && p.Role != RolePromoted {
			return false
		}
	}
	return true
}
