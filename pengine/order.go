package pengine

import "sort"

// orderActions adds an edge first -> then; returns true if new.
func (s *sched) orderActions(first, then *Action, typ uint32) bool {
	if first == nil || then == nil || first == then {
		return false
	}
	if typ == arNone && false {
		return false
	}
	for _, e := range first.after {
		if e.action == then {
			e.typ |= typ
			for _, b := range then.before {
				if b.action == first {
					b.typ |= typ
				}
			}
			return false
		}
	}
	first.after = append(first.after, &edge{action: then, typ: typ})
	then.before = append(then.before, &edge{action: first, typ: typ})
	return true
}

func (s *sched) internalConstraints(r *Resource) {
	switch r.Variant {
	case VariantGroup:
		s.groupInternal(r)
	case VariantClone:
		s.cloneInternal(r)
	default:
		s.primitiveInternal(r)
	}
}

func (s *sched) orderRscActions(r1 *Resource, t1 string, r2 *Resource, t2 string, flags uint32) {
	s.newOrdering(r1, opKey(r1.ID, t1, 0), nil, r2, opKey(r2.ID, t2, 0), nil, flags)
}

func (s *sched) primitiveInternal(r *Resource) {
	if !r.Managed {
		return
	}
	s.orderRscActions(r, "stop", r, "start", arOrdered|arFirstImpliesThen|arIntermediateStop)
	if r.top().Promotable || r.Role > RoleUnpromoted {
		s.orderRscActions(r, "demote", r, "stop", arPromotedThenImplies)
		s.orderRscActions(r, "start", r, "promote", arUnrunnableFirstBlocks)
	}
	s.orderRscActions(r, "lrm_delete", r, "monitor", arIfOnSameNode|arThenCancelsFirst)
	if s.placement != "default" && len(r.Utilization) > 0 {
		s.utilizationConstraints(r)
	}
}

// utilizationConstraints is Pacemaker's
// pcmk__create_utilization_constraints: with a placement strategy, the
// stops on a node free its capacity (load_stopped_<node>) before the
// starts and migrations onto it.
func (s *sched) utilizationConstraints(r *Resource) {
	for _, n := range r.RunningOn {
		s.newOrdering(r, opKey(r.ID, "stop", 0), nil, nil, "", s.loadStoppedOp(n), arLoad)
	}
	var allowed []*Node
	for _, n := range s.nodes {
		if r.allowed[n.index] != absent {
			allowed = append(allowed, n)
		}
	}
	sort.SliceStable(allowed, func(i, j int) bool { return allowed[i].Uname < allowed[j].Uname })
	for _, n := range allowed {
		ls := s.loadStoppedOp(n)
		s.newOrdering(nil, "", ls, r, opKey(r.ID, "start", 0), nil, arLoad)
		s.newOrdering(nil, "", ls, r, opKey(r.ID, "migrate_to", 0), nil, arLoad)
	}
}

// loadStoppedOp finds or creates the load_stopped pseudo action of n.
func (s *sched) loadStoppedOp(n *Node) *Action {
	key := "load_stopped_" + n.Uname
	a := s.singletonPseudo(key)
	if a.Node == nil {
		a.Node = n
		a.clear(afOptional)
	}
	return a
}

func (s *sched) groupInternal(r *Resource) {
	s.orderRscActions(r, "stop", r, "stopped", arUnrunnableFirstBlocks)
	s.orderRscActions(r, "stopped", r, "start", arOrdered)
	s.orderRscActions(r, "start", r, "running", arUnrunnableFirstBlocks)
	promotable := r.top().Promotable
	var prev *Resource
	for _, m := range r.Children {
		downFlags := arThenImpliesFirstGr
		postDown := arFirstImpliesThenGr
		s.internalConstraints(m)
		if prev == nil {
			if r.groupOrdered {
				downFlags |= arOrdered
				postDown = arFirstImpliesThen
			}
		} else if r.groupColocated {
			s.newColocation("#group-members", m, prev, Infinity, RoleUnknown, RoleUnknown, "", m.Critical, false)
		}
		if promotable {
			s.orderRscActions(r, "demote", m, "demote", downFlags)
			s.orderRscActions(m, "demote", r, "demoted", postDown)
			s.orderRscActions(m, "promote", r, "promoted", arUnrunnableFirstBlocks|arFirstImpliesThen|arFirstImpliesThenGr)
			s.orderRscActions(r, "promote", m, "promote", arThenImpliesFirstGr)
		}
		s.orderRscActions(r, "stop", m, "stop", downFlags)
		s.orderRscActions(m, "stop", r, "stopped", postDown)
		s.orderRscActions(r, "start", m, "start", arThenImpliesFirstGr)
		s.orderRscActions(m, "start", r, "running", arUnrunnableFirstBlocks|arFirstImpliesThen|arFirstImpliesThenGr)
		if !r.groupOrdered {
			s.orderRscActions(r, "start", m, "start", arFirstImpliesThen|arUnrunnableFirstBlocks|arThenImpliesFirstGr)
		} else if prev == nil {
			s.orderRscActions(r, "start", m, "start", arNone)
		} else {
			s.orderRscActions(prev, "start", m, "start", arFirstImpliesThen|arUnrunnableFirstBlocks)
			s.orderRscActions(m, "stop", prev, "stop", arOrdered|arIntermediateStop)
			if len(m.RunningOn) > 0 && len(prev.RunningOn) == 0 {
				s.orderRscActions(m, "stop", prev, "start", arThenImpliesFirst|arUnrunnableFirstBlocks)
			}
			if promotable {
				s.orderRscActions(prev, "promote", m, "promote", arFirstImpliesThen|arUnrunnableFirstBlocks)
				s.orderRscActions(m, "demote", prev, "demote", arOrdered)
			}
		}
		prev = m
	}
}

func (s *sched) cloneInternal(r *Resource) {
	s.orderRscActions(r, "start", r, "running", arUnrunnableFirstBlocks)
	s.orderRscActions(r, "stop", r, "stopped", arUnrunnableFirstBlocks)
	if r.Promotable {
		s.orderRscActions(r, "demote", r, "demoted", arUnrunnableFirstBlocks)
		s.orderRscActions(r, "promote", r, "promoted", arUnrunnableFirstBlocks)
		s.orderRscActions(r, "running", r, "promote", arOrdered)
		s.orderRscActions(r, "demoted", r, "stop", arOrdered)
		s.orderRscActions(r, "stopped", r, "promote", arOrdered)
		s.orderRscActions(r, "demoted", r, "start", arOrdered)
		s.orderRscActions(r, "demoted", r, "promote", arOrdered)
	}
	s.orderRscActions(r, "stopped", r, "start", arOrdered)
	var prev *Resource
	for _, c := range r.Children {
		s.internalConstraints(c)
		s.orderRscActions(r, "start", c, "start", arThenImpliesFirstGr)
		s.orderRscActions(c, "start", r, "running", arFirstImpliesThenGr)
		s.orderRscActions(r, "stop", c, "stop", arThenImpliesFirstGr)
		s.orderRscActions(c, "stop", r, "stopped", arFirstImpliesThenGr)
		if r.Promotable {
			s.orderRscActions(r, "promote", c, "promote", arThenImpliesFirstGr)
			s.orderRscActions(c, "promote", r, "promoted", arFirstImpliesThenGr)
			s.orderRscActions(r, "demote", c, "demote", arThenImpliesFirstGr)
			s.orderRscActions(c, "demote", r, "demoted", arFirstImpliesThenGr)
		}
		if r.ordered && prev != nil {
			s.orderRscActions(prev, "start", c, "start", arOrdered)
			s.orderRscActions(c, "stop", prev, "stop", arOrdered)
		}
		prev = c
	}
}

// --------------------------------------------------------------- applying

func (s *sched) findActionsByTask(r *Resource, key string) []*Action {
	l := s.findActions(r, key, nil)
	if len(l) == 0 {
		_, task, iv := parseOpKey(key)
		l = s.findActions(r, opKey(r.ID, task, iv), nil)
	}
	return l
}

func (s *sched) applyOrderings() {
	for _, o := range s.orders[:len(s.orders):len(s.orders)] {
		s.orderMigrationEquivalents(o)
	}
	for _, o := range s.orders {
		if o.lhsRsc != nil {
			s.rscOrderFirst(o.lhsRsc, o)
			continue
		}
		if o.rhsRsc != nil {
			s.orderRscActionsAfter(o.lhsAction, o.rhsRsc, o)
		} else {
			s.orderActions(o.lhsAction, o.rhsAction, o.flags)
		}
	}
	for _, a := range append([]*Action(nil), s.actions...) {
		s.updateActionForOrderings(a, 0)
	}
}

func (s *sched) rscState(r *Resource) Role {
	if r.isPrimitive() {
		return r.Role
	}
	best := RoleStopped
	for _, c := range r.Children {
		if x := s.rscState(c); x > best {
			best = x
		}
	}
	return best
}

func (s *sched) rscOrderFirst(first *Resource, o *orderTemplate) {
	var firsts []*Action
	if o.lhsAction != nil {
		firsts = []*Action{o.lhsAction}
	} else {
		firsts = s.findActionsByTask(first, o.lhsKey)
	}
	if len(firsts) == 0 && first == o.rhsRsc {
		return
	}
	if len(firsts) == 0 {
		_, task, iv := parseOpKey(o.lhsKey)
		st := s.rscState(first)
		if st == RoleStopped && task == "stop" {
		} else if st == RoleUnpromoted && task == "demote" {
		} else {
			a := s.customAction(first, opKey(first.ID, task, iv), task, nil, true)
			firsts = []*Action{a}
		}
	}
	if o.rhsRsc == nil {
		if o.rhsAction == nil {
			return
		}
		for _, f := range firsts {
			s.orderActions(f, o.rhsAction, o.flags)
		}
		return
	}
	for _, f := range firsts {
		s.orderRscActionsAfter(f, o.rhsRsc, o)
	}
}

func (s *sched) orderRscActionsAfter(first *Action, r *Resource, o *orderTemplate) {
	var thens []*Action
	if o.rhsAction != nil {
		thens = []*Action{o.rhsAction}
	} else {
		thens = s.findActionsByTask(r, o.rhsKey)
	}
	if len(thens) == 0 {
		return
	}
	flags := o.flags
	if first != nil && first.Rsc == r && first.is(afDangle) {
		flags &^= arFirstImpliesThen
	}
	for _, t := range thens {
		if first != nil {
			s.orderActions(first, t, flags)
		} else {
			t.clear(afRunnable)
		}
	}
}

func completionTask(task string) string {
	switch task {
	case "start":
		return "running"
	case "stop":
		return "stopped"
	case "promote":
		return "promoted"
	case "demote":
		return "demoted"
	}
	return ""
}

func (s *sched) actionForOrdering(a *Action) *Action {
	r := a.Rsc
	if r == nil || r.isPrimitive() {
		return a
	}
	ct := completionTask(a.Task)
	if ct == "" {
		return a
	}
	if r.isClone() && r.notify {
		if x := s.firstActionByKey(r, r.ID+"_confirmed-post_notify_"+ct+"_0"); x != nil {
			return x
		}
	}
	if x := s.firstActionByKey(r, opKey(r.ID, ct, 0)); x != nil {
		return x
	}
	return a
}

func isParent(child, parent *Resource) bool {
	for p := child.Parent; p != nil; p = p.Parent {
		if p == parent {
			return true
		}
	}
	return false
}

func complexTask(task string) string {
	switch task {
	case "running":
		return "start"
	case "stopped":
		return "stop"
	case "promoted":
		return "promote"
	case "demoted":
		return "demote"
	}
	return task
}

// actionFlags summarises a collective action's members.
func (s *sched) actionFlags(a *Action, node *Node) uint32 {
	if a.Rsc == nil || a.Rsc.isPrimitive() {
		return a.flags
	}
	flags := afOptional | afRunnable | afPseudo
	task := complexTask(a.Task)
	for _, m := range a.Rsc.Children {
		ma := s.firstAction(m, task, node)
		if ma == nil && node != nil && !m.isPrimitive() {
			ma = s.firstAction(m, task, nil)
		}
		if ma != nil {
			mf := s.actionFlags(ma, node)
			if flags&afOptional != 0 && mf&afOptional == 0 {
				flags &^= afOptional
				a.clear(afOptional)
			}
			if task != a.Task && flags&afRunnable != 0 && mf&afRunnable == 0 {
				flags &^= afRunnable
				a.clear(afRunnable)
			}
		} else if task != "stop" && task != "demote" && a.Rsc.isGroup() {
			flags &^= afRunnable
		}
	}
	if a.Rsc.isClone() {
		// clone: runnable if any instance can
		any := false
		for _, m := range a.Rsc.Children {
			ma := s.firstAction(m, task, nil)
			if ma != nil && s.actionFlags(ma, nil)&afRunnable != 0 {
				any = true
			}
		}
		if any || task == a.Task {
			flags |= afRunnable
			if task != a.Task {
				a.set(afRunnable)
			}
		}
	}
	return flags
}

func (s *sched) rscLocation(r *Resource) *Node {
	if r.isPrimitive() {
		return r.AssignedTo
	}
	if len(r.Children) > 0 {
		return s.rscLocation(r.Children[0])
	}
	return nil
}

func (s *sched) updateActionForOrderings(then *Action, depth int) {
	if depth > 200 {
		return
	}
	changedThen := false
	lastFlags := then.flags
	if then.is(afRequiresAny) {
		then.runnableBefore = 0
		if then.requiredRunnableBefore == 0 {
			then.requiredRunnableBefore = 1
		}
		then.clear(afRunnable)
	}
	for i := 0; i < len(then.before); i++ {
		other := then.before[i]
		first := other.action
		thenNode := then.Node
		firstNode := first.Node
		if first.Rsc != nil && first.Rsc.isGroup() && first.Task == "start" {
			firstNode = s.rscLocation(first.Rsc)
		}
		if then.Rsc != nil && then.Rsc.isGroup() && then.Task == "start" {
			thenNode = s.rscLocation(then.Rsc)
		}
		if other.typ&arIfOnSameNode != 0 && firstNode != nil && thenNode != nil && firstNode != thenNode {
			other.typ = arNone
			continue
		}
		if first.Rsc != nil && other.typ&arThenCancelsFirst != 0 && !then.is(afOptional) {
			first.set(afOptional)
		}
		changedFirst := false
		if first.Rsc != nil && then.Rsc != nil && first.Rsc != then.Rsc && !isParent(then.Rsc, first.Rsc) {
			first = s.actionForOrdering(first)
		}
		if first == other.action {
			ff := s.flagsForOrdering(first, thenNode)
			tf := s.flagsForOrdering(then, firstNode)
			ct, cf := s.updateForOrderingFlags(first, then, ff, tf, other)
			changedThen = changedThen || ct
			changedFirst = cf
		} else if s.orderActions(first, then, other.typ) {
			changedThen = true
			other.typ = arNone
		}
		if changedFirst {
			for _, e := range append([]*edge(nil), first.after...) {
				s.updateActionForOrderings(e.action, depth+1)
			}
			s.updateActionForOrderings(first, depth+1)
		}
	}
	if then.is(afRequiresAny) {
		changedThen = lastFlags != then.flags
	}
	if changedThen || lastFlags != then.flags {
		if lastFlags&afRunnable != 0 && !then.is(afRunnable) {
			s.blockColocationDependents(then)
		}
		s.updateActionForOrderings(then, depth+1)
		for _, e := range append([]*edge(nil), then.after...) {
			s.updateActionForOrderings(e.action, depth+1)
		}
	}
}

func (s *sched) blockColocationDependents(a *Action) {}

func (s *sched) clearBecause(a *Action, f uint32, reasonFrom *Action) bool {
	if !a.is(f) {
		return false
	}
	a.clear(f)
	if reasonFrom == nil || a.Rsc == reasonFrom.Rsc {
		return true
	}
	change := "required"
	overwrite := false
	switch f {
	case afRunnable:
		change = "unrunnable"
	case afMigratable:
		change = "unmigrateable"
		overwrite = true
	}
	var text string
	if reasonFrom.Rsc == nil {
		text = change + " " + reasonFrom.Task
	} else {
		text = change + " " + reasonFrom.Rsc.ID + " " + reasonFrom.Task
	}
	if a.Reason == "" || overwrite {
		a.Reason = text
	}
	return true
}

// updateOrdered implements pcmk__update_ordered_actions for one relation.
func (s *sched) updateOrdered(first, then *Action, flags, filter, typ uint32) (bool, bool) {
	tf, ff := then.flags, first.flags
	if typ&arAsymmetric != 0 {
		s.handleAsymmetric(first, then)
	}
	if typ&arThenImpliesFirst != 0 && !then.is(afOptional) {
		if filter&afOptional != 0 && flags&afOptional == 0 && first.is(afOptional) {
			s.clearBecause(first, afOptional, then)
		}
		// Pacemaker also clears first's migratable flag here, but the
		// flags it passes for this relation never carry it: a stop
		// ordered before a clone's stop keeps migrating
		// (utilization-order4).
	}
	if typ&arUnmigratableThenBlocks != 0 && filter&afOptional != 0 {
		if !then.is(afMigratable) || !then.is(afRunnable) {
			s.clearBecause(first, afRunnable, then)
		}
		if !then.is(afOptional) {
			s.clearBecause(first, afOptional, then)
		}
	}
	if typ&arFirstElseThen != 0 && filter&afOptional != 0 && !first.is(afRunnable) {
		s.clearBecause(then, afMigratable, first)
		then.clear(afPseudo)
	}
	if typ&arPromotedThenImplies != 0 && then.Rsc != nil && then.Rsc.Role == RolePromoted && filter&afOptional != 0 && !then.is(afOptional) {
		s.clearBecause(first, afOptional, then)
	}
	if typ&arUnrunnableFirstBlocks != 0 && filter&afRunnable != 0 && then.is(afRunnable) && flags&afRunnable == 0 {
		s.clearBecause(then, afRunnable, first)
		s.clearBecause(then, afMigratable, first)
	}
	if typ&arFirstImpliesThen != 0 && filter&afOptional != 0 && then.is(afOptional) && flags&afOptional == 0 && !first.is(afMigratable) {
		s.clearBecause(then, afOptional, first)
	}
	if typ&arIntermediateStop != 0 {
		s.handleRestart(first, then, filter)
	}
	return tf != then.flags, ff != first.flags
}

func (s *sched) handleRestart(first, then *Action, filter uint32) {
	reason := ""
	if filter&afOptional != 0 && !then.is(afOptional) {
		reason = "restart"
	}
	if filter&afRunnable != 0 && !then.is(afRunnable) && then.Rsc != nil && then.Rsc.Managed && first.Rsc == then.Rsc {
		reason = "stop"
	}
	if reason == "" {
		return
	}
	if first.is(afRunnable) {
		s.clearBecause(first, afOptional, then)
	}
	if !then.is(afOptional) {
		s.clearBecause(first, afOptional, then)
	}
	if !then.is(afMigratable) {
		s.clearBecause(first, afMigratable, then)
	}
	if !first.is(afOptional) && !first.is(afRunnable) {
		s.clearBecause(then, afRunnable, first)
	}
}

func (s *sched) handleAsymmetric(first, then *Action) {
	if then.Rsc == nil || first.is(afRunnable) {
		return
	}
	if then.is(afOptional) {
		role := s.rscState(then.Rsc)
		if role == RoleStopped && then.Task == "stop" {
			return
		}
		if role >= RoleStarted && then.Task == "start" && len(then.Rsc.RunningOn) == 1 && then.Rsc.RunningOn[0] == then.Node {
			return
		}
	}
	s.clearBecause(then, afOptional, first)
	s.clearBecause(then, afRunnable, first)
}

// updateRscOrdered dispatches to the then resource (groups recurse).
func (s *sched) updateRscOrdered(r *Resource, first, then *Action, node *Node, flags, filter, typ uint32) (bool, bool) {
	if r != nil && r.isClone() && then.Rsc == r && s.canInterleave(first, then) {
		return s.updateInterleaved(first, then, node, filter, typ)
	}
	ct, cf := s.updateOrdered(first, then, flags, filter, typ)
	if r != nil && !r.isPrimitive() && then.Rsc == r {
		for _, m := range r.Children {
			ma := s.firstAction(m, then.Task, node)
			if ma != nil {
				a, b := s.updateRscOrdered(m, first, ma, node, flags, filter, typ)
				ct = ct || a
				cf = cf || b
			}
		}
	}
	return ct, cf
}

func (s *sched) updateForOrderingFlags(first, then *Action, ff, tf uint32, o *edge) (bool, bool) {
	changedThen, changedFirst := false, false
	node := then.Node
	acc := func(a, b bool) {
		changedThen = changedThen || a
		changedFirst = changedFirst || b
	}
	if o.typ&arFirstImpliesThen != 0 {
		if then.Rsc != nil {
			acc(s.updateRscOrdered(then.Rsc, first, then, node, ff&afOptional, afOptional, arFirstImpliesThen))
		} else if ff&afOptional == 0 && then.is(afOptional) {
			then.clear(afOptional)
			changedThen = true
		}
	}
	if o.typ&arIntermediateStop != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afOptional|afRunnable, arIntermediateStop))
	}
	if o.typ&arThenImpliesFirst != 0 {
		if first.Rsc != nil {
			acc(s.updateRscOrdered(first.Rsc, first, then, node, ff, afOptional, arThenImpliesFirst))
		} else if ff&afOptional == 0 && first.is(afRunnable) {
			first.clear(afRunnable)
			changedFirst = true
		}
	}
	if o.typ&arPromotedThenImplies != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff&afOptional, afOptional, arPromotedThenImplies))
	}
	if o.typ&arMinRunnable != 0 {
		if ff&afRunnable != 0 {
			then.runnableBefore++
			if then.runnableBefore >= then.requiredRunnableBefore && !then.is(afRunnable) {
				then.set(afRunnable)
				changedThen = true
			}
		}
	}
	if o.typ&arUnrunnableFirstBlocks != 0 {
		if then.Rsc != nil {
			acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afRunnable, arUnrunnableFirstBlocks))
		} else if ff&afRunnable == 0 && then.is(afRunnable) {
			then.clear(afRunnable)
			changedThen = true
		}
	}
	if o.typ&arUnmigratableThenBlocks != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afOptional, arUnmigratableThenBlocks))
	}
	if o.typ&arFirstElseThen != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afOptional, arFirstElseThen))
	}
	if o.typ&arOrdered != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afOptional, arOrdered))
	}
	if o.typ&arAsymmetric != 0 && then.Rsc != nil {
		acc(s.updateRscOrdered(then.Rsc, first, then, node, ff, afRunnable, arAsymmetric))
	}
	if first.is(afRunnable) && o.typ&arFirstImpliesThenGr != 0 && ff&afOptional == 0 {
		then.set(afAlways)
	}
	if o.typ&arThenImpliesFirstGr != 0 && tf&afOptional == 0 {
		first.set(afAlways)
	}
	if o.typ&(arFirstImpliesThen|arThenImpliesFirst|arIntermediateStop) != 0 && first.Rsc != nil && !first.Rsc.Managed && first.Rsc.Blocked && !first.is(afRunnable) && first.Task == "stop" {
		if then.is(afRunnable) {
			then.clear(afRunnable)
			changedThen = true
		}
	}
	return changedThen, changedFirst
}

func (s *sched) flagsForOrdering(a *Action, node *Node) uint32 {
	if a.Rsc == nil {
		return a.flags
	}
	if !a.Rsc.isClone() {
		return s.actionFlags(a, nil)
	}
	return s.actionFlags(a, node)
}
