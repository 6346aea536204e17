package pengine

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// rscParams evaluates a resource's instance attributes for a node.
func (s *sched) rscParams(r *Resource, n *Node) map[string]string {
	m := map[string]string{}
	var attrs map[string]string
	if n != nil {
		attrs = n.Attrs
	}
	s.unpackNV(r.paramBlocks, m, &ruleCtx{nodeAttrs: attrs, now: s.now, hasRsc: true, rscClass: r.Class, rscProv: r.Provider, rscType: r.Type}, false)
	return m
}

func xmlEscapeAttr(v string) string {
	var b strings.Builder
	for _, c := range v {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		case '\t':
			b.WriteString("&#9;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func digestParams(params map[string]string) string {
	keys := sortedKeys(params)
	var stack [512]byte
	b := append(stack[:0], " <parameters"...)
	for _, k := range keys {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=', '"')
		b = appendEscapedAttr(b, params[k])
		b = append(b, '"')
	}
	b = append(b, "/>\n"...)
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// appendEscapedAttr appends xmlEscapeAttr(v) to b, copying v as is when
// it is plain ASCII needing no escapes.
func appendEscapedAttr(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 0x80, c == '&', c == '<', c == '>', c == '"', c == '\'', c == '\n', c == '\r', c == '\t':
			return append(b, xmlEscapeAttr(v)...)
		}
	}
	return append(b, v...)
}

// digestAll computes (all-params digest, restart digest) for a history op.
//
// params caches s.rscParams(r, n) across the calls for one resource on
// one node (computed when nil); it is only read.
func (s *sched) opDigests(r *Resource, n *Node, task string, interval int64, hop *histOp, params *map[string]string) (string, string, bool) {
	if *params == nil {
		*params = s.rscParams(r, n)
	}
	all := map[string]string{}
	for k, v := range *params {
		all[k] = v
	}
	cfg := s.findOpConfig(r, task, interval, true)
	forceRestart := false
	if cfg != nil {
		op := map[string]string{}
		s.unpackNV(s.nvBlocks([]*etree.Element{cfg}, "instance_attributes", ""), op, &ruleCtx{nodeAttrs: n.Attrs, now: s.now}, false)
		if interval == 0 && len(op) > 0 {
			forceRestart = true
		}
		for k, v := range op {
			all[k] = v
		}
	}
	for k := range all {
		if strings.HasPrefix(k, "CRM_meta_") || k == "id" || k == "crm_feature_set" || k == "op-digest" || k == "on_node" || k == "on_node_uuid" || k == "pcmk_external_ip" {
			delete(all, k)
		}
	}
	if interval > 0 {
		meta := s.actionMeta(r, task, interval, cfg)
		all["CRM_meta_timeout"] = meta["timeout"]
	}
	d := digestParams(all)
	restart := ""
	if hop.has&hasRestartDigest != 0 {
		keep := map[string]string{}
		hasFR := hop.has&hasForceRestart != 0
		for k, v := range all {
			if !hasFR || strings.Contains(" "+hop.rare.forceRestart+" ", " "+k+" ") {
				keep[k] = v
			}
		}
		restart = digestParams(keep)
	}
	return d, restart, forceRestart
}

// handleConfigChanges: cancel orphaned recurring ops, restart on digest
// changes, clear fail counts.
func (s *sched) handleConfigChanges() {
	for _, n := range s.nodes {
		if !n.Maintenance && !n.available() {
			continue
		}
		for _, r := range s.allPrimitivesAndOrphans() {
			re := r.historyRsc[n.index]
			if re == nil {
				continue
			}
			s.checkAgentChanged(re, n)
			s.processRscHistory(re, r, n)
		}
	}
}

// checkAgentChanged is the part of Pacemaker's check_actions_for for a
// resource no longer active on a node: the configured resource named by the
// history entry (which may differ from the instance the history was
// mapped to) has its history deleted there when its class, provider or
// type changed.
func (s *sched) checkAgentChanged(re *etree.Element, n *Node) {
	r := s.rscByID[re.SelectAttrValue("id", "")]
	if r == nil || !r.isPrimitive() || r.Orphan || !r.Managed {
		return
	}
	for _, x := range r.RunningOn {
		if x == n {
			return
		}
	}
	changed := false
	for _, a := range [][2]string{{"type", r.Type}, {"class", r.Class}, {"provider", r.Provider}} {
		old := re.SelectAttr(a[0])
		if old == nil && a[1] == "" {
			continue
		}
		if old == nil || old.Value != a[1] {
			changed = true
		}
	}
	if changed {
		s.deleteRsc(r, n)
	}
}

// deleteRsc is Pacemaker's DeleteRsc: a required delete of r's history on
// n, after any stop there and before any start.
func (s *sched) deleteRsc(r *Resource, n *Node) {
	if r.Failed || n == nil || n.Unclean || !n.Online {
		return
	}
	s.customAction(r, opKey(r.ID, "delete", 0), "delete", n, false)
	s.orderRscActions(r, "stop", r, "delete", arOrdered)
	s.orderRscActions(r, "delete", r, "start", arOrdered)
}

func (s *sched) allPrimitivesAndOrphans() []*Resource {
	return s.allPrimitivesInOrder()
}

func (s *sched) processRscHistory(re *etree.Element, r *Resource, n *Node) {
	if r.Orphan {
		return
	}
	ops := r.histOps[n.index]
	var params map[string]string // see opDigests
	start, stop := calculateActiveOps(ops)
	if start < stop {
		return
	}
	for i, op := range ops {
		if i < start {
			continue
		}
		if op.interval > 0 && (r.Maintenance || n.Maintenance) {
			s.scheduleCancel(r, op.callIDRaw, op.task, op.interval, n)
			continue
		}
		if op.interval > 0 || op.task == "monitor" || op.task == "start" || op.task == "promote" || op.task == "migrate_from" {
			if s.checkActionConfig(r, n, op, &params) {
				if fc, _ := s.failcount(r, n, true); fc != 0 {
					s.clearFailcount(r, n, "action definition changed")
				}
			}
		}
	}
}

func (s *sched) checkActionConfig(r *Resource, n *Node, op *histOp, params *map[string]string) bool {
	task := op.task
	if op.interval > 0 {
		if s.findOpConfig(r, task, op.interval, false) == nil {
			if s.stopOrphanActions {
				s.scheduleCancel(r, op.callIDRaw, task, op.interval, n)
			}
			return true
		}
	}
	if op.interval == 0 && (task == "monitor" || task == "migrate_from" || task == "migrate_to" || task == "promote") {
		// digests of these are computed as "start"
		if task != "monitor" {
			task = "start"
		}
	}
	dAll, dRestart, force := s.opDigests(r, n, task, op.interval, op, params)
	rc := "match"
	if op.has&hasRestartDigest != 0 && dRestart != op.rare.restartDigest {
		rc = "restart"
	} else if op.has&hasDigest == 0 {
		rc = "unknown"
	} else if dAll != op.digest {
		rc = "mismatch"
		if force {
			rc = "restart"
		}
	}
	if rc != "match" && s.onlySanitizedChanged(r, n, op) {
		rc = "match"
	}
	switch rc {
	case "restart":
		s.forceRestart(r, task, op.interval, n)
		return true
	case "unknown", "mismatch":
		if op.interval > 0 {
			a := s.customAction(r, opKey(r.ID, task, op.interval), task, n, true)
			a.set(afReschedule)
		} else if op.has&hasRestartDigest != 0 {
			r.Reload = true
			s.scheduleReload(r, n)
		} else {
			s.forceRestart(r, task, op.interval, n)
		}
		return true
	}
	return false
}

func (s *sched) forceRestart(r *Resource, task string, interval int64, n *Node) {
	a := s.customAction(r, opKey(r.ID, task, interval), task, nil, false)
	s.setReason(a, "resource definition change", true)
}

func (s *sched) scheduleReload(r *Resource, n *Node) {
	// reload is decided once the resource is assigned
}

// ------------------------------------------------------------------ probes

func (s *sched) scheduleProbes() {
	if !s.probeResources {
		return
	}
	for _, n := range s.nodes {
		if !n.Online || n.Unclean || n.discoveryDisabled {
			continue
		}
		for _, r := range s.resources {
			s.probeRsc(r, n)
		}
	}
}

func (s *sched) probeRsc(r *Resource, n *Node) bool {
	if r.isClone() {
		if r.ExclusiveDiscover {
			if r.allowed[n.index] == absent || r.discover[n.index] != 2 {
				return false
			}
		}
		kids := append([]*Resource(nil), r.Children...)
		sort.SliceStable(kids, func(i, j int) bool { return instanceNumber(kids[i]) < instanceNumber(kids[j]) })
		if r.Unique {
			any := false
			for _, c := range kids {
				if s.probeRsc(c, n) {
					any = true
				}
			}
			return any
		}
		var child *Resource
		for _, c := range kids {
			for _, p := range c.primitives(nil) {
				if p.knownOn[n.index] {
					child = c
				}
			}
			if child != nil {
				break
			}
		}
		if child == nil {
			for _, c := range kids {
				if s.rscLocation(c) == n {
					child = c
					break
				}
			}
		}
		if child == nil && len(kids) > 0 {
			child = kids[0]
		}
		if child == nil {
			return false
		}
		return s.probeRsc(child, n)
	}
	if len(r.Children) > 0 {
		any := false
		for _, c := range r.Children {
			if s.probeRsc(c, n) {
				any = true
			}
		}
		return any
	}
	if r.Orphan || r.knownOn[n.index] {
		return false
	}
	top := r.top()
	disc := r.discover[n.index]
	if r.ExclusiveDiscover || top.ExclusiveDiscover {
		if r.allowed[n.index] == absent || disc != 2 {
			return false
		}
	}
	if disc == 1 {
		return false
	}
	probe := s.customAction(r, opKey(r.ID, "monitor", 0), "monitor", n, false)
	probe.clear(afOptional)
	target := "7"
	for _, x := range r.RunningOn {
		if x == n {
			target = "0"
			if r.Role == RolePromoted {
				target = "8"
			}
		}
	}
	if target != "0" {
		probe.Meta["op_target_rc"] = target
	}
	flags := arOrdered
	if !probe.is(afRunnable) && len(r.RunningOn) == 0 {
		flags |= arUnrunnableFirstBlocks
	}
	s.newOrdering(r, "", probe, r, opKey(r.ID, "start", 0), nil, flags)
	s.newOrdering(r, "", probe, top, opKey(r.ID, "reload-agent", 0), nil, arOrdered)
	return true
}

// ------------------------------------------------------------- primitives

var stateMatrix = [5][5]Role{
	{RoleUnknown, RoleStopped, RoleStopped, RoleStopped, RoleStopped},
	{RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RoleUnpromoted},
	{RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RolePromoted},
	{RoleStopped, RoleStopped, RoleStopped, RoleUnpromoted, RolePromoted},
	{RoleStopped, RoleUnpromoted, RoleUnpromoted, RoleUnpromoted, RolePromoted},
}

func (s *sched) roleAction(r *Resource, from, to Role, n *Node, optional bool) bool {
	switch {
	case from == RoleUnknown:
		if to == RoleStopped {
			s.stopResource(r, n, optional)
			return true
		}
		return false
	case from == RoleStopped:
		if to == RoleStarted || to == RoleUnpromoted {
			s.startResource(r, n, optional)
			return true
		}
		return false
	case from == RoleStarted:
		switch to {
		case RoleStopped:
			s.stopResource(r, n, optional)
			return true
		case RolePromoted:
			s.promoteResource(r, n, optional)
			return true
		}
		return false
	case from == RoleUnpromoted:
		switch to {
		case RoleStopped, RoleStarted:
			s.stopResource(r, n, optional)
			return true
		case RolePromoted:
			s.promoteResource(r, n, optional)
			return true
		}
		return false
	case from == RolePromoted:
		if to != RolePromoted && to != RoleUnknown {
			s.demoteResource(r, n, optional)
			return true
		}
	}
	return false
}

func (s *sched) stopResource(r *Resource, n *Node, optional bool) {
	for _, cur := range r.RunningOn {
		if r.partialMigrationTgt != nil {
			if cur == r.partialMigrationTgt && cur == r.AssignedTo {
				continue // the partial migration continues there
			}
			optional = false
		}
		if r.RecoveryType == "stop_unexpected" && r.RestartPending && cur == r.AssignedTo {
			continue
		}
		stop := s.stopAction(r, cur, optional)
		if r.AssignedTo == nil {
			s.setReason(stop, "node availability", true)
		} else if r.RestartPending && r.RecoveryType == "stop_unexpected" {
			s.setReason(stop, "being multiply active", true)
		}
		if !r.Managed {
			stop.clear(afRunnable)
		}
	}
}

func (s *sched) startResource(r *Resource, n *Node, optional bool) {
	if n == nil {
		return
	}
	start := s.startAction(r, n, true)
	if start.is(afRunnable) && !optional {
		start.clear(afOptional)
	}
}

func (s *sched) promoteResource(r *Resource, n *Node, optional bool) {
	if n == nil {
		return
	}
	runnable := true
	for _, a := range s.rscActions(r, n, "start", true) {
		if !a.is(afRunnable) {
			runnable = false
		}
	}
	if runnable {
		s.promoteAction(r, n, optional)
	} else {
		for _, a := range s.rscActions(r, n, "promote", true) {
			a.clear(afRunnable)
		}
	}
}

func (s *sched) demoteResource(r *Resource, n *Node, optional bool) {
	for _, cur := range r.RunningOn {
		s.demoteAction(r, cur, optional)
	}
}

func (s *sched) createActions(r *Resource) {
	switch r.Variant {
	case VariantGroup:
		for _, m := range r.Children {
			s.createActions(m)
		}
		s.pseudoRscAction(r, "start", true, true)
		s.pseudoRscAction(r, "running", true, true)
		s.pseudoRscAction(r, "stop", true, true)
		s.pseudoRscAction(r, "stopped", true, true)
		if r.top().Promotable {
			s.pseudoRscAction(r, "demote", true, true)
			s.pseudoRscAction(r, "demoted", true, true)
			s.pseudoRscAction(r, "promote", true, true)
			s.pseudoRscAction(r, "promoted", true, true)
		}
		return
	case VariantClone:
		for _, m := range r.Children {
			s.createActions(m)
		}
		s.pseudoRscAction(r, "start", true, true)
		s.pseudoRscAction(r, "running", true, true).Meta["priority"] = "1000000"
		s.pseudoRscAction(r, "stop", true, true)
		s.pseudoRscAction(r, "stopped", true, true).Meta["priority"] = "1000000"
		if r.Promotable {
			s.pseudoRscAction(r, "demote", true, true)
			s.pseudoRscAction(r, "demoted", true, true).Meta["priority"] = "1000000"
			s.pseudoRscAction(r, "promote", true, true)
			s.pseudoRscAction(r, "promoted", true, true).Meta["priority"] = "1000000"
		}
		return
	}
	s.createPrimitiveActions(r)
}

func (s *sched) activeNode(r *Resource) (*Node, int, int) {
	// Pacemaker's pe__find_active_on: the source of a partial migration,
	// else (for resources not requiring fencing) the first clean node,
	// else the first node.
	all, clean := 0, 0
	var cur *Node
	for _, n := range r.RunningOn {
		all++
		happy := n.Online && !n.Unclean
		if happy {
			clean++
		}
		if r.partialMigrationSrc != nil {
			if n == r.partialMigrationSrc {
				cur = n
			}
		} else if !r.NeedsFencing {
			if happy && (cur == nil || !cur.Online || cur.Unclean) {
				cur = n
			}
		}
		if cur == nil {
			cur = n
		}
	}
	return cur, all, clean
}

func (s *sched) createPrimitiveActions(r *Resource) {
	if r.Orphan {
		defer s.orphanCleanup(r)
	}
	if r.NextRole == RoleUnknown {
		if r.AssignedTo == nil {
			r.NextRole = RoleStopped
		} else {
			r.NextRole = RoleStarted
			if r.top().Promotable {
				r.NextRole = RoleUnpromoted
			}
		}
	}
	current, numAll, numClean := s.activeNode(r)
	needStop, needPromote, isMoving, multiply := false, false, false, false
	allowMigrate := r.AllowMigrate
	// a dangling migration (migrate_from done, source not stopped yet)
	// needs a stop on the source
	for _, n := range r.dangling {
		s.stopAction(r, n, false).set(afDangle)
	}
	partial := r.partialMigrationSrc != nil && r.partialMigrationTgt != nil
	switch {
	case numAll == 2 && numClean == 2 && r.AssignedTo != nil && partial &&
		current == r.partialMigrationSrc && r.AssignedTo == r.partialMigrationTgt:
		// still the target of a partial migration: continue it rather
		// than stop everywhere
	case r.NeedsFencing:
		multiply = numAll > 1
	default:
		multiply = numClean > 1
	}
	if multiply {
		// a partial migration to another target than the chosen one
		// stops on both nodes, like a multiply active resource
		switch r.RecoveryType {
		case "stop_start":
			needStop = true
		case "stop_unexpected":
			needStop = true
		}
		if partial {
			multiply = false
		}
		r.partialMigrationSrc, r.partialMigrationTgt = nil, nil
		allowMigrate = false
	}
	if current != nil && r.AssignedTo != nil && current != r.AssignedTo && r.NextRole >= RoleStarted {
		isMoving = true
		needStop = true
	}
	if r.StartPending && r.AssignedTo != nil {
		// represent the already pending start in the graph
		s.startAction(r, r.AssignedTo, true).set(afAlways)
	}
	if isMoving {
	} else if r.Failed {
		if r.StopIfFailed {
			needStop = true
		} else if r.NextRole == RolePromoted {
			needPromote = true
		}
	} else if r.Blocked {
		needStop = true
	} else if r.Role > RoleStarted && current != nil && r.AssignedTo != nil {
		start := s.startAction(r, r.AssignedTo, true)
		if !start.is(afOptional) {
			needStop = true
		}
	}
	// restart actions
	r.RestartPending = multiply && r.RecoveryType == "stop_unexpected"
	role := r.Role
	for role != RoleStopped {
		next := stateMatrix[role][RoleStopped]
		if !s.roleAction(r, role, next, current, !needStop) {
			break
		}
		role = next
	}
	for r.Role <= r.NextRole && role != r.Role && !r.Blocked {
		required := needStop
		next := stateMatrix[role][r.Role]
		if next == RolePromoted && needPromote {
			required = true
		}
		if !s.roleAction(r, role, next, r.AssignedTo, !required) {
			break
		}
		role = next
	}
	r.RestartPending = false
	// role transition
	role = r.Role
	for role != r.NextRole {
		next := stateMatrix[role][r.NextRole]
		if !s.roleAction(r, role, next, r.AssignedTo, false) {
			break
		}
		role = next
	}
	s.createRecurring(r)
	if r.partialMigrationTgt != nil && r.AssignedTo != r.partialMigrationTgt {
		allowMigrate = false // the partial migration cannot continue
	} else if !isMoving || r.NextRole < RoleStarted || !s.canMigrate(r, current) {
		allowMigrate = false
	}
	if allowMigrate {
		s.createMigration(r, current)
	}
}

func (s *sched) canMigrate(r *Resource, current *Node) bool {
	if !r.AllowMigrate || !r.Managed || r.Failed || r.StartPending || r.IsFenceDevice {
		return false
	}
	if r.Parent != nil && r.top().isClone() {
		return false
	}
	if !current.Online || current.Unclean {
		return false
	}
	if r.AssignedTo != nil && !r.AssignedTo.available() {
		return false
	}
	return true
}

func (s *sched) createMigration(r *Resource, current *Node) {
	start := s.startAction(r, r.AssignedTo, true)
	stop := s.stopAction(r, current, true)
	var to *Action
	if r.partialMigrationTgt == nil {
		to = s.customAction(r, opKey(r.ID, "migrate_to", 0), "migrate_to", current, true)
	}
	from := s.customAction(r, opKey(r.ID, "migrate_from", 0), "migrate_from", r.AssignedTo, true)
	start.set(afMigratable)
	stop.set(afMigratable)
	start.set(afPseudo)
	if to != nil {
		from.set(afMigratable)
		to.set(afMigratable)
		to.needs = start.needs
		s.newOrdering(r, opKey(r.ID, "monitor", 0), nil, r, opKey(r.ID, "migrate_to", 0), nil, arOrdered)
		s.newOrdering(r, opKey(r.ID, "migrate_to", 0), nil, r, opKey(r.ID, "migrate_from", 0), nil, arOrdered|arUnmigratableThenBlocks)
	} else {
		from.set(afMigratable)
		from.needs = start.needs
		s.newOrdering(r, opKey(r.ID, "monitor", 0), nil, r, opKey(r.ID, "migrate_from", 0), nil, arOrdered)
	}
	s.newOrdering(r, opKey(r.ID, "migrate_from", 0), nil, r, opKey(r.ID, "stop", 0), nil, arOrdered|arUnmigratableThenBlocks)
	s.newOrdering(r, opKey(r.ID, "migrate_from", 0), nil, r, opKey(r.ID, "start", 0), nil, arOrdered|arUnmigratableThenBlocks|arFirstElseThen)
	for _, a := range []*Action{to, from} {
		if a == nil {
			continue
		}
		a.Meta["migrate_source"] = current.Uname
		a.Meta["migrate_target"] = r.AssignedTo.Uname
	}
}

type recurringOp struct {
	name     string
	interval int64
	role     Role
	key      string
	xml      *etree.Element
}

func (s *sched) recurringOps(r *Resource) []recurringOp {
	var out []recurringOp
	seen := map[string]bool{}
	for _, op := range r.ops {
		name := op.SelectAttrValue("name", "")
		ms, ok := parseIntervalMS(op.SelectAttrValue("interval", "0"))
		if !ok || ms <= 0 || name == "" {
			continue
		}
		if v := op.SelectAttr("enabled"); v != nil && !isTrue(v.Value) {
			continue
		}
		k := name + "_" + strconv.FormatInt(ms, 10)
		if seen[k] || s.opDupCount(r, name, ms) > 1 {
			continue
		}
		seen[k] = true
		role := parseRole(op.SelectAttrValue("role", ""))
		if role == RoleStarted {
			role = RoleUnknown
		}
		out = append(out, recurringOp{name: name, interval: ms, role: role, key: opKey(r.ID, name, ms), xml: op})
	}
	return out
}

func (s *sched) createRecurring(r *Resource) {
	if r.Maintenance {
		return
	}
	var start *Action
	if !r.Blocked && (r.NextRole != RoleStopped || !r.Managed) && r.AssignedTo != nil {
		// Pacemaker creates the (optional) start on the chosen node here,
		// so later orderings find it instead of creating a node-less one.
		start = s.startAction(r, r.AssignedTo, true)
	} else if r.AssignedTo != nil {
		if l := s.rscActions(r, r.AssignedTo, "start", true); len(l) > 0 {
			start = l[0]
		}
	}
	for _, op := range s.recurringOps(r) {
		if start != nil {
			s.recurringForActive(r, start, r.AssignedTo, op)
		}
		s.recurringForInactive(r, r.AssignedTo, op)
	}
}

func (s *sched) recurringForActive(r *Resource, start *Action, n *Node, op recurringOp) {
	if op.role == RoleStopped {
		return
	}
	optional := true
	switch {
	case n == nil || !r.Managed:
	case !start.is(afOptional):
		optional = false
	default:
		m := s.findActionsExact(r, op.key, n)
		if len(m) == 0 {
			optional = false
		}
		for _, a := range m {
			if a.is(afReschedule) {
				optional = false
			}
		}
	}
	if (op.role != RoleUnknown && r.NextRole != op.role) || (op.role == RoleUnknown && r.NextRole == RolePromoted) {
		if optional {
			c := s.newCancelAction(r, op.name, op.interval, n)
			after := ""
			switch r.Role {
			case RoleUnpromoted, RoleStarted:
				if r.NextRole == RolePromoted {
					after = opKey(r.ID, "promote", 0)
				} else if r.NextRole == RoleStopped {
					after = opKey(r.ID, "stop", 0)
				}
			case RolePromoted:
				after = opKey(r.ID, "demote", 0)
			}
			if after != "" {
				s.newOrdering(r, "", c, r, after, nil, arUnrunnableFirstBlocks)
			}
		}
		return
	}
	mon := s.customAction(r, op.key, op.name, n, optional)
	if !start.is(afRunnable) {
		mon.clear(afRunnable)
	} else if n == nil || !n.Online || n.Unclean {
		mon.clear(afRunnable)
	}
	if r.NextRole == RolePromoted {
		mon.Meta["op_target_rc"] = "8"
	}
	if n == nil || r.Managed {
		s.newOrdering(r, opKey(r.ID, "start", 0), nil, nil, "", mon, arFirstImpliesThen|arUnrunnableFirstBlocks)
		s.newOrdering(r, opKey(r.ID, "reload-agent", 0), nil, nil, "", mon, arFirstImpliesThen|arUnrunnableFirstBlocks)
		if r.NextRole == RolePromoted {
			s.newOrdering(r, opKey(r.ID, "promote", 0), nil, r, "", mon, arOrdered|arUnrunnableFirstBlocks)
		} else if r.Role == RolePromoted {
			s.newOrdering(r, opKey(r.ID, "demote", 0), nil, r, "", mon, arOrdered|arUnrunnableFirstBlocks)
		}
	}
}

func (s *sched) recurringForInactive(r *Resource, n *Node, op recurringOp) {
	if op.role != RoleStopped {
		return
	}
	if r.Parent != nil && r.Parent.isClone() && !r.Parent.Unique {
		return
	}
	if n != nil && len(s.findActionsExact(r, op.key, n)) > 0 {
		c := s.newCancelAction(r, op.name, op.interval, n)
		s.newOrdering(r, "", c, r, opKey(r.ID, "start", 0), nil, arOrdered)
	}
	for _, other := range s.nodes {
		if other == n {
			continue
		}
		if !other.Online || other.Unclean {
			continue
		}
		isOptional := true
		m := s.findActionsExact(r, op.key, other)
		if len(m) == 0 {
			isOptional = false
		}
		stopped := s.customAction(r, op.key, op.name, other, isOptional)
		stopped.Meta["op_target_rc"] = "7"
		if r.NextRole != RoleStopped || (n != nil && n == other) {
			_ = stopped
		}
		for _, stop := range s.rscActions(r, other, "stop", true) {
			if !stop.is(afOptional) {
				stopped.clear(afOptional)
			}
			s.newOrdering(r, "", stop, r, "", stopped, arFirstImpliesThen|arUnrunnableFirstBlocks)
		}
		running := false
		for _, x := range r.RunningOn {
			if x == other {
				running = true
			}
		}
		if running && stopped.is(afOptional) {
			// nothing changes
		}
		if !stopped.is(afRunnable) {
			continue
		}
	}
}

// ------------------------------------------------------- fencing/shutdown

func (s *sched) anyManaged() bool {
	for _, r := range s.allPrimitivesInOrder() {
		if r.Managed {
			return true
		}
	}
	return false
}

func (s *sched) scheduleFencingAndShutdowns() {
	haveManaged := s.anyManaged()
	var dcDown *Action
	var fencing, shutdowns []*Action
	for _, n := range s.nodes {
		var fence *Action
		if haveManaged && n.Unclean && s.canFence(n) {
			fence = s.fenceOp(n, false, "node is unclean")
			s.orderVsFence(fence)
			if n.IsDC {
				dcDown = fence
			} else {
				fencing = append(fencing, fence)
			}
		} else if n.Online && n.Shutdown && !n.RemoteNode {
			down := s.shutdownAction(n)
			if n.IsDC {
				dcDown = down
			} else {
				shutdowns = append(shutdowns, down)
			}
		}
	}
	if dcDown != nil {
		if dcDown.Task == "do_shutdown" {
			for _, a := range shutdowns {
				s.orderActions(a, dcDown, arOrdered)
			}
		}
		for _, a := range fencing {
			s.orderActions(a, dcDown, arOrdered)
		}
	}
}

func (s *sched) shutdownAction(n *Node) *Action {
	key := "do_shutdown-" + n.Uname
	a, ok := s.singletons[key]
	if !ok {
		a = s.newAction(key, "do_shutdown", nil, n, false)
	}
	a.Meta["op_no_wait"] = "true"
	for _, act := range s.actions {
		if act.Node != n || act.Task != "stop" || act.Rsc == nil {
			continue
		}
		if act.Rsc.Maintenance || n.Maintenance {
			continue
		}
		if !act.Rsc.Managed && !act.Rsc.Blocked {
			continue
		}
		act.clear(afOptional)
		s.newOrdering(act.Rsc, "", act, nil, "", a, arOrdered|arUnrunnableFirstBlocks)
	}
	return a
}

func arOptionalShutdown() uint32 { return arOrdered }

func (s *sched) orderVsFence(fence *Action) {
	for _, r := range s.resources {
		s.rscFenceOrdering(r, fence)
	}
}

func (s *sched) rscFenceOrdering(r *Resource, fence *Action) {
	if len(r.Children) > 0 {
		for _, c := range r.Children {
			s.rscFenceOrdering(c, fence)
		}
		return
	}
	if !r.Managed {
		return
	}
	target := fence.Node
	for _, a := range r.actions {
		switch a.needs {
		case 2:
			s.orderActions(fence, a, arOrdered)
		case 1:
			if a.Task == "start" && r.allowed[target.index] != absent && !r.knownOn[target.index] {
				s.orderActions(fence, a, arOrdered|arUnrunnableFirstBlocks)
			}
		}
	}
	// implied stops
	orderImplicit := r.NeedsFencing
	var parentStop *Action
	top := r.top()
	if orderImplicit {
		parentStop = s.firstAction(top, "stop", nil)
	}
	for _, a := range s.rscActions(r, target, "stop", false) {
		if a.Node != target {
			continue
		}
		a.set(afPseudo | afRunnable)
		if orderImplicit {
			s.orderActions(fence, a, arOrdered)
			if parentStop != nil {
				s.orderActions(fence, parentStop, arOrdered)
			}
		}
	}
	for _, a := range s.rscActions(r, target, "demote", false) {
		if a.Node != target {
			continue
		}
		if !a.Node.Online || a.Node.Unclean || r.Failed {
			a.set(afPseudo | afRunnable)
			if orderImplicit {
				s.orderActions(fence, a, arOrdered)
			}
		}
	}
}

func sortActionsByID(l []*Action) {
	sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
}

func (s *sched) opDupCount(r *Resource, name string, ms int64) int {
	cnt := 0
	for _, op := range r.ops {
		if op.SelectAttrValue("name", "") != name {
			continue
		}
		if v, ok := parseIntervalMS(op.SelectAttrValue("interval", "0")); ok && v == ms {
			cnt++
		}
	}
	return cnt
}

// orphanCleanup deletes an orphan's history on online, clean nodes once it
// is stopped there.
func (s *sched) orphanCleanup(r *Resource) {
	if !r.Managed || r.Parent != nil {
		// orphaned instances of a configured clone keep their history
		return
	}
	for _, n := range s.nodes {
		if r.historyRsc[n.index] == nil || !n.Online || n.Unclean {
			continue
		}
		del := s.customAction(r, opKey(r.ID, "delete", 0), "delete", n, false)
		for _, stop := range s.rscActions(r, n, "stop", true) {
			s.orderActions(stop, del, arOrdered)
		}
	}
}

func instanceNumber(r *Resource) int {
	id := r.ID
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		if n, err := strconv.Atoi(id[i+1:]); err == nil {
			return n
		}
	}
	return 0
}

// onlySanitizedChanged reports whether the history's secure digest (the
// parameters minus the private ones, which saved CIBs hide) still matches,
// as crm_simulate treats such changes as none.
func (s *sched) onlySanitizedChanged(r *Resource, n *Node, op *histOp) bool {
	if op.has&hasSecureDigest == 0 {
		return false
	}
	secure := op.rare.secureParams
	version := op.rare.featureSet
	params := s.rscParams(r, n)
	if compareVersion(version, "3.16.0") >= 0 {
		task := op.task
		if op.interval == 0 && task != "monitor" && task != "stop" {
			task = "start"
		}
		cfg := s.findOpConfig(r, task, op.interval, true)
		if cfg != nil {
			s.unpackNV(s.nvBlocks([]*etree.Element{cfg}, "instance_attributes", ""), params, &ruleCtx{nodeAttrs: n.Attrs, now: s.now}, false)
		}
		if op.interval > 0 {
			params["CRM_meta_timeout"] = s.actionMeta(r, op.task, op.interval, cfg)["timeout"]
		}
	}
	out := map[string]string{}
	for k, v := range params {
		if strings.Contains(secure, " "+k+" ") {
			continue
		}
		if compareVersion(version, "3.16.0") < 0 && r.IsFenceDevice && strings.HasPrefix(k, "pcmk_") {
			continue
		}
		out[k] = v
	}
	return digestParams(out) == op.rare.secureDigest
}
