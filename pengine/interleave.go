package pengine

import "strings"

// canInterleave reports whether an ordering between two different clones is
// applied instance by instance (Pacemaker's can_interleave_actions): the
// "then" clone's interleave meta decides, except for stops and demotes,
// where the "first" clone's does.
func (s *sched) canInterleave(first, then *Action) bool {
	if first.Rsc == nil || then.Rsc == nil || first.Rsc == then.Rsc {
		return false
	}
	if !first.Rsc.isClone() || !then.Rsc.isClone() {
		return false
	}
	r := then.Rsc
	if strings.HasSuffix(then.UUID, "_stop_0") || strings.HasSuffix(then.UUID, "_demote_0") {
		r = first.Rsc
	}
	return r.interleave
}

// origActionName maps a clone's completion or notification action back to
// the task its instances perform (Pacemaker's orig_action_name).
func origActionName(a *Action) string {
	name := a.Task
	if name == "notify" || name == "notified" {
		if i := strings.Index(a.UUID, "_notify_"); i >= 0 {
			name = a.UUID[i+len("_notify_"):]
			name = strings.TrimSuffix(name, "_0")
		}
	}
	if len(a.Rsc.Children) > 0 && a.Rsc.Children[0].isPrimitive() {
		return complexTask(name)
	}
	return name
}

// instanceNode is where a clone instance is (current) or will be.
func (s *sched) instanceNode(inst *Resource, current bool) *Node {
	if !current {
		var n *Node
		for _, p := range inst.primitives(nil) {
			if p.AssignedTo == nil {
				return nil
			}
			if n == nil {
				n = p.AssignedTo
			} else if n != p.AssignedTo {
				return nil
			}
		}
		return n
	}
	locs := instanceLocations(inst)
	if len(locs) == 1 {
		return locs[0]
	}
	return nil
}

// compatibleInstance finds the instance of clone that is (or will be) on
// the node of match (Pacemaker's pcmk__find_compatible_instance).
func (s *sched) compatibleInstance(match, clone *Resource, current bool) *Resource {
	onNode := func(n *Node) *Resource {
		for _, inst := range clone.Children {
			if s.instanceNode(inst, current) == n {
				return inst
			}
		}
		return nil
	}
	if n := s.instanceNode(match, current); n != nil {
		return onNode(n)
	}
	for _, ns := range s.sortNodes(match, nil) {
		if inst := onNode(ns.n); inst != nil {
			return inst
		}
	}
	return nil
}

// updateInterleaved applies an ordering between two interleaved clones to
// each "then" instance and the "first" instance on the same node.
func (s *sched) updateInterleaved(first, then *Action, node *Node, filter, typ uint32) (bool, bool) {
	changedThen, changedFirst := false, false
	origFirst := origActionName(first)
	current := strings.HasSuffix(first.UUID, "_stopped_0") || strings.HasSuffix(first.UUID, "_demoted_0")
	for _, thenInst := range then.Rsc.Children {
		firstInst := s.compatibleInstance(thenInst, first.Rsc, current)
		if firstInst == nil {
			if !current && typ&(arUnrunnableFirstBlocks|arFirstImpliesThen) != 0 {
				if s.unassignInstance(thenInst) {
					changedThen = true
				}
			}
			continue
		}
		fa := s.firstActionByKey(firstInst, opKey(firstInst.ID, origFirst, 0))
		if fa == nil {
			continue
		}
		ta := s.firstActionByKey(thenInst, opKey(thenInst.ID, then.Task, 0))
		if ta == nil {
			continue
		}
		if s.orderActions(fa, ta, typ) {
			changedThen, changedFirst = true, true
		}
		ct, cf := s.updateRscOrdered(thenInst, fa, ta, node, s.actionFlags(fa, node), filter, typ)
		if ct {
			changedThen = true
			for _, e := range append([]*edge(nil), ta.after...) {
				s.updateActionForOrderings(e.action, 1)
			}
		}
		changedFirst = changedFirst || cf
	}
	return changedThen, changedFirst
}

// unassignInstance takes a clone instance off its node after assignment
// (no instance of an interleaved "first" clone to pair with): its stops
// become required, its start and recurring actions unrunnable.
func (s *sched) unassignInstance(inst *Resource) bool {
	changed := false
	for _, p := range inst.primitives(nil) {
		if p.AssignedTo == nil && p.NextRole == RoleStopped {
			continue
		}
		changed = true
		if n := p.AssignedTo; n != nil {
			n.numResources--
			for i, x := range n.assigned {
				if x == p {
					n.assigned = append(n.assigned[:i:i], n.assigned[i+1:]...)
					break
				}
			}
		}
		p.AssignedTo = nil
		p.NextRole = RoleStopped
		for _, a := range p.actions {
			switch {
			case a.Task == "stop":
				a.clear(afOptional)
			case a.Task == "start":
				a.clear(afRunnable)
			case a.Interval > 0 && a.Meta["op_target_rc"] != "7":
				a.clear(afRunnable)
			}
		}
		for _, a := range append([]*Action(nil), p.actions...) {
			for _, e := range append([]*edge(nil), a.after...) {
				s.updateActionForOrderings(e.action, 1)
			}
		}
	}
	return changed
}
