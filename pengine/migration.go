package pengine

import (
	"strings"

	"github.com/beevik/etree"
)

// Live migrations recorded in the resource history, as Pacemaker 2.1.5's
// unpack.c reads them. A complete migration is a migrate_to on the source,
// a migrate_from on the target, then a stop on the source. With no
// migrate_from yet the migration is "partial" (the resource counts as
// active on both nodes and the migration may be continued); with the
// migrate_from done but no stop on the source it is "dangling" (the source
// must be stopped). The look-ups search the whole status section, like
// Pacemaker's XPath queries, not only the nodes already unpacked.

// hasMigrationOp reports whether a history contains a migrate_to or
// migrate_from entry.
func hasMigrationOp(ops []*histOp) bool {
	for _, op := range ops {
		if op.task == "migrate_to" || op.task == "migrate_from" {
			return true
		}
	}
	return false
}

func (s *sched) cacheLRMOps(re *etree.Element, ops []*histOp) {
	if s.lrmOpsCache == nil {
		s.lrmOpsCache = map[*etree.Element][]*histOp{}
	}
	s.lrmOpsCache[re] = ops
}

// lrmOps returns the history entries of an lrm_resource in document order
// (entries kept out of the tree by ParseInput first), parsed once.
func (s *sched) lrmOps(re *etree.Element) []*histOp {
	if ops, ok := s.lrmOpsCache[re]; ok {
		return ops
	}
	ops := s.compactHist[re]
	for _, e := range re.ChildElements() {
		if e.Tag == "lrm_rsc_op" {
			ops = append(ops, s.parseHistOp(e))
		}
	}
	s.cacheLRMOps(re, ops)
	return ops
}

// rscHistoryOn returns the history entries of resource id recorded in the
// node_state(s) of the node named uname (XPath
// //node_state[@uname]//lrm_resource[@id]/lrm_rsc_op).
func (s *sched) rscHistoryOn(id, uname string) []*histOp {
	var out []*histOp
	for _, ns := range s.nodeStates {
		if ns.SelectAttrValue("uname", "") != uname {
			continue
		}
		idx, ok := s.lrmIndex[ns]
		if !ok {
			idx = map[string][]*etree.Element{}
			for _, lrm := range ns.SelectElements("lrm") {
				for _, lr := range lrm.SelectElements("lrm_resources") {
					for _, re := range lr.SelectElements("lrm_resource") {
						rid := re.SelectAttrValue("id", "")
						idx[rid] = append(idx[rid], re)
					}
				}
			}
			if s.lrmIndex == nil {
				s.lrmIndex = map[*etree.Element]map[string][]*etree.Element{}
			}
			s.lrmIndex[ns] = idx
		}
		for _, re := range idx[id] {
			out = append(out, s.lrmOps(re)...)
		}
	}
	return out
}

// findLRMOp is Pacemaker's find_lrm_op: the single entry of task for id on
// the node named uname (for migrate_to, with migrate_target = other; for
// migrate_from, with migrate_source = other; other may be empty). Several
// matches count as none. With targetRC >= 0, the entry must have completed
// with that rc.
func (s *sched) findLRMOp(id, task, uname, other string, targetRC int) *histOp {
	var found *histOp
	n := 0
	for _, op := range s.rscHistoryOn(id, uname) {
		if op.task != task {
			continue
		}
		if other != "" {
			switch task {
			case "migrate_to":
				if op.migTarget() != other {
					continue
				}
			case "migrate_from":
				if op.migSource() != other {
					continue
				}
			}
		}
		found = op
		n++
	}
	if n != 1 {
		return nil
	}
	if targetRC >= 0 && (found.rc != targetRC || found.status != execDone) {
		return nil
	}
	return found
}

func (h *histOp) migSource() string {
	if h.rare == nil {
		return ""
	}
	return h.rare.migSource
}

func (h *histOp) migTarget() string {
	if h.rare == nil {
		return ""
	}
	return h.rare.migTarget
}

// isNewerOp is Pacemaker's pe__is_newer_op for entries without on_node:
// > 0 when a is newer than b, < 0 when older, 0 when it cannot tell.
func isNewerOp(a, b *histOp, sameNode bool) int {
	if a == b {
		return 0
	}
	if a.callID == -1 && b.callID == -1 {
		return 0
	}
	if sameNode && a.callID >= 0 && a.callID < b.callID {
		return -1
	}
	if sameNode && b.callID >= 0 && a.callID > b.callID {
		return 1
	}
	if a.callID >= 0 && b.callID >= 0 && (!sameNode || a.callID == b.callID) {
		la, lb := int64(-1), int64(-1)
		if a.has&hasLastRC != 0 {
			la = a.lastChg
		}
		if b.has&hasLastRC != 0 {
			lb = b.lastChg
		}
		if la >= 0 && la < lb {
			return -1
		}
		if lb >= 0 && la > lb {
			return 1
		}
	}
	// A pending entry: Pacemaker compares the transition numbers when
	// both come from the same controller; otherwise (the usual case) the
	// pending one is the newer.
	switch {
	case b.callID == -1:
		return -1
	case a.callID == -1:
		return 1
	}
	return 0
}

// nonMonitorAfter reports whether id has a start, stop, migrate_to or
// migrate_from on the node named uname newer than op.
func (s *sched) nonMonitorAfter(id, uname string, op *histOp, sameNode bool) bool {
	for _, x := range s.rscHistoryOn(id, uname) {
		if x == op {
			continue
		}
		switch x.task {
		case "start", "stop", "migrate_to", "migrate_from":
			if isNewerOp(x, op, sameNode) > 0 {
				return true
			}
		}
	}
	return false
}

// monitorNotRunningAfter reports whether the (single) monitor of id on the
// node named uname found it not running after op.
func (s *sched) monitorNotRunningAfter(id, uname string, op *histOp, sameNode bool) bool {
	m := s.findLRMOp(id, "monitor", uname, "", 7)
	return m != nil && isNewerOp(m, op, sameNode) > 0
}

// newerStateAfterMigrate reports whether id has newer state on the node
// named uname than the migration events (either may be nil, not both).
func (s *sched) newerStateAfterMigrate(id, uname string, migrateTo, migrateFrom *histOp) bool {
	op := migrateTo
	if migrateFrom != nil {
		op = migrateFrom
	}
	source, target := op.migSource(), op.migTarget()
	sameNode := false
	switch {
	case strings.EqualFold(uname, target):
		if migrateFrom != nil {
			op, sameNode = migrateFrom, true
		} else {
			op = migrateTo
		}
	case strings.EqualFold(uname, source):
		if migrateTo != nil {
			op, sameNode = migrateTo, true
		} else {
			op = migrateFrom
		}
	}
	return s.nonMonitorAfter(id, uname, op, sameNode) || s.monitorNotRunningAfter(id, uname, op, sameNode)
}

// unknownOnNode reports whether id has no completed history entry on the
// node named uname.
func (s *sched) unknownOnNode(id, uname string) bool {
	for _, op := range s.rscHistoryOn(id, uname) {
		if op.rc != 193 {
			return false
		}
	}
	return true
}

// migrationNodeNames returns an entry's migrate_source and migrate_target,
// checking them against the nodes it must name (nil: not checked).
func migrationNodeNames(op *histOp, source, target *Node) (string, string, bool) {
	src, tgt := op.migSource(), op.migTarget()
	if src == "" || tgt == "" {
		return "", "", false
	}
	if source != nil && !strings.EqualFold(src, source.Uname) {
		return "", "", false
	}
	if target != nil && !strings.EqualFold(tgt, target.Uname) {
		return "", "", false
	}
	return src, tgt, true
}

// findNode finds a node by uname, case-insensitively (pe_find_node).
func (s *sched) findNode(uname string) *Node {
	if n := s.nodeByUname[uname]; n != nil {
		return n
	}
	for _, n := range s.nodes {
		if strings.EqualFold(n.Uname, uname) {
			return n
		}
	}
	return nil
}

// unpackMigrateToSuccess is Pacemaker's unpack_migrate_to_success: a
// completed migrate_to on n (the source).
func (s *sched) unpackMigrateToSuccess(r *Resource, n *Node, op *histOp) {
	source, target, ok := migrationNodeNames(op, n, nil)
	if !ok {
		return
	}
	sourceNewerOp := s.nonMonitorAfter(r.ID, source, op, true)
	fromRC, fromStatus := 0, execPending
	migrateFrom := s.findLRMOp(r.ID, "migrate_from", target, source, -1)
	if migrateFrom != nil {
		if sourceNewerOp {
			// a newer action on the source and a migrate_from on the
			// target: this migrate_to no longer matters
			return
		}
		fromRC, fromStatus = migrateFrom.rc, migrateFrom.status
	}
	targetNewerState := s.newerStateAfterMigrate(r.ID, target, op, migrateFrom)
	if sourceNewerOp && targetNewerState {
		return
	}
	if fromRC == 0 && fromStatus == execDone {
		// dangling: migrate_from done, the source still needs a stop
		r.Role = RoleStopped
		r.dangling = append([]*Node{n}, r.dangling...)
		return
	}
	r.Role = RoleStarted
	targetNode := s.findNode(target)
	activeOnTarget := !targetNewerState && targetNode != nil && targetNode.Online
	if fromStatus != execPending {
		// the migrate_from failed on the target
		if activeOnTarget {
			s.addRunning(r, targetNode, true)
		} else {
			r.Failed, r.StopIfFailed, r.AllowMigrate = true, true, false
		}
		return
	}
	// migrate_from pending, erased or still to come
	if targetNode != nil && targetNode.Online && s.unknownOnNode(r.ID, target) {
		return // cleaned on the target: it will be probed there
	}
	if activeOnTarget {
		s.addRunning(r, targetNode, false)
		if sourceNode := s.findNode(source); sourceNode != nil && sourceNode.Online {
			r.partialMigrationTgt = targetNode
			r.partialMigrationSrc = sourceNode
		}
	} else if !sourceNewerOp {
		r.Failed, r.StopIfFailed, r.AllowMigrate = true, true, false
	}
}

// unpackMigrateToFailure is Pacemaker's unpack_migrate_to_failure: a failed
// migrate_to on n (the source) leaves the resource active there, and on
// the target unless that has newer state.
func (s *sched) unpackMigrateToFailure(r *Resource, n *Node, op *histOp) {
	source, target, ok := migrationNodeNames(op, n, nil)
	if !ok {
		return
	}
	r.Role = RoleStarted
	targetMigrateFrom := s.findLRMOp(r.ID, "migrate_from", target, source, 0)
	if !s.unknownOnNode(r.ID, target) && !s.newerStateAfterMigrate(r.ID, target, op, targetMigrateFrom) {
		if tn := s.findNode(target); tn != nil && tn.Online {
			s.addRunning(r, tn, false)
		}
	} else if !s.nonMonitorAfter(r.ID, source, op, true) {
		r.dangling = append([]*Node{n}, r.dangling...)
	}
}

// unpackMigrateFromFailure is Pacemaker's unpack_migrate_from_failure: a
// failed migrate_from on n (the target) leaves the resource active on the
// source unless that has newer state.
func (s *sched) unpackMigrateFromFailure(r *Resource, n *Node, op *histOp) {
	source, target, ok := migrationNodeNames(op, nil, n)
	if !ok {
		return
	}
	r.Role = RoleStarted
	sourceMigrateTo := s.findLRMOp(r.ID, "migrate_to", source, target, 0)
	if !s.unknownOnNode(r.ID, source) && !s.newerStateAfterMigrate(r.ID, source, sourceMigrateTo, op) {
		if sn := s.findNode(source); sn != nil && sn.Online {
			s.addRunning(r, sn, true)
		}
	}
}

// orderTask is the task of an ordering end: its action's, else its key's.
func orderTask(a *Action, key string) string {
	if a != nil {
		return a.Task
	}
	_, task, _ := parseOpKey(key)
	return task
}

// orderMigrationEquivalents is Pacemaker's
// pcmk__order_migration_equivalents: orderings between the start, stop,
// promote and demote actions of two unrelated resources, one of them
// migratable, are repeated for the migration actions that stand for them.
func (s *sched) orderMigrationEquivalents(o *orderTemplate) {
	first, then := o.lhsRsc, o.rhsRsc
	if first == nil || then == nil || first == then || isParent(first, then) || isParent(then, first) {
		return
	}
	firstMig, thenMig := first.AllowMigrate, then.AllowMigrate
	if !firstMig && !thenMig {
		return
	}
	ft, tt := orderTask(o.lhsAction, o.lhsKey), orderTask(o.rhsAction, o.rhsKey)
	key := func(r *Resource, task string) string { return opKey(r.ID, task, 0) }
	switch {
	case ft == "start" && tt == "start":
		flags := arOrdered
		if firstMig && thenMig {
			// A start then B start -> A migrate_from then B migrate_to
			s.newOrdering(first, key(first, "migrate_from"), nil, then, key(then, "migrate_to"), nil, flags)
		}
		if thenMig {
			if firstMig {
				flags |= arFirstNonMigratable
			}
			// A start then B start -> A start then B migrate_to
			s.newOrdering(first, key(first, "start"), nil, then, key(then, "migrate_to"), nil, flags)
		}
	case thenMig && ft == "stop" && tt == "stop":
		flags := arOrdered
		if firstMig {
			flags |= arFirstNonMigratable
		}
		// A stop then B stop -> A stop then B migrate_to (and
		// migrate_from, for a partial migration)
		s.newOrdering(first, key(first, "stop"), nil, then, key(then, "migrate_to"), nil, flags)
		if then.partialMigrationTgt != nil {
			s.newOrdering(first, key(first, "stop"), nil, then, key(then, "migrate_from"), nil, flags)
		}
	case ft == "promote" && tt == "start":
		if thenMig {
			s.newOrdering(first, key(first, "promote"), nil, then, key(then, "migrate_to"), nil, arOrdered)
		}
	case ft == "demote" && tt == "stop":
		if thenMig {
			s.newOrdering(first, key(first, "demote"), nil, then, key(then, "migrate_to"), nil, arOrdered)
			if then.partialMigrationTgt != nil {
				s.newOrdering(first, key(first, "demote"), nil, then, key(then, "migrate_from"), nil, arOrdered)
			}
		}
	}
}
