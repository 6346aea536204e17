package pengine

import (
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// findOpConfig returns the <op> for (name, interval), or nil.
func (s *sched) findOpConfig(r *Resource, name string, interval int64, includeDisabled bool) *etree.Element {
	if name == "reload-agent" {
		name = "reload"
	}
	for _, op := range r.ops {
		if op.SelectAttrValue("name", "") != name {
			continue
		}
		ms, ok := parseIntervalMS(op.SelectAttrValue("interval", "0"))
		if !ok {
			ms = 0
		}
		if ms != interval {
			continue
		}
		if !includeDisabled {
			if v := op.SelectAttr("enabled"); v != nil && !isTrue(v.Value) {
				continue
			}
		}
		return op
	}
	return nil
}

func (s *sched) mostFrequentMonitor(r *Resource) *etree.Element {
	var best *etree.Element
	var bestMS int64
	for _, op := range r.ops {
		if op.SelectAttrValue("name", "") != "monitor" {
			continue
		}
		ms, ok := parseIntervalMS(op.SelectAttrValue("interval", "0"))
		if !ok || ms <= 0 {
			continue
		}
		if v := op.SelectAttr("enabled"); v != nil && !isTrue(v.Value) {
			continue
		}
		if best == nil || ms < bestMS {
			best, bestMS = op, ms
		}
	}
	return best
}

// actionMeta computes the operation meta-attributes of an action.
func (s *sched) actionMeta(r *Resource, task string, interval int64, cfg *etree.Element) map[string]string {
	meta := map[string]string{}
	ctx := &ruleCtx{now: s.now, hasRsc: true, rscClass: r.Class, rscProv: r.Provider, rscType: r.Type, hasOp: true, opName: task, opIntvl: interval}
	if cfg != nil {
		s.unpackNV(s.nvBlocks([]*etree.Element{cfg}, "meta_attributes", ""), meta, ctx, false)
		for _, a := range cfg.Attr {
			meta[a.Key] = a.Value
		}
	}
	if task == "monitor" && interval == 0 {
		if _, ok := meta["timeout"]; !ok {
			if m := s.mostFrequentMonitor(r); m != nil {
				if v := m.SelectAttr("timeout"); v != nil {
					meta["timeout"] = v.Value
				}
			}
		}
	}
	s.unpackNV(s.opDefaults, meta, ctx, false)
	delete(meta, "id")
	if interval > 0 {
		meta["interval"] = strconv.FormatInt(interval, 10)
	} else {
		delete(meta, "interval")
	}
	to := int64(20000)
	if v, ok := meta["timeout"]; ok {
		if ms, ok := parseIntervalMS(v); ok && ms > 0 {
			to = ms
		}
	}
	meta["timeout"] = strconv.FormatInt(to, 10)
	if v, ok := meta["enabled"]; ok && isTrue(v) {
		delete(meta, "enabled")
	}
	return meta
}

func (s *sched) findActions(r *Resource, key string, node *Node) []*Action {
	var out []*Action
	for _, a := range r.actionIdx[key] {
		if node == nil {
			out = append(out, a)
		} else if a.Node == nil {
			a.Node = node
			out = append(out, a)
		} else if a.Node == node {
			out = append(out, a)
		}
	}
	return out
}

func (s *sched) findActionsExact(r *Resource, key string, node *Node) []*Action {
	var out []*Action
	for _, a := range r.actionIdx[key] {
		if a.Node == node {
			out = append(out, a)
		}
	}
	return out
}

// rscActions finds a resource's actions of a task on a node (any if nil).
func (s *sched) rscActions(r *Resource, node *Node, task string, requireNode bool) []*Action {
	key := opKey(r.ID, task, 0)
	if requireNode {
		return s.findActionsExact(r, key, node)
	}
	return s.findActions(r, key, node)
}

func (s *sched) firstAction(r *Resource, task string, node *Node) *Action {
	// newest first, like Pacemaker's prepended list
	for i := len(r.actions) - 1; i >= 0; i-- {
		a := r.actions[i]
		if a.Task != task {
			continue
		}
		if node != nil && a.Node != node {
			continue
		}
		return a
	}
	return nil
}

func (s *sched) firstActionByKey(r *Resource, key string) *Action {
	l := r.actionIdx[key]
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

func parseOpKey(key string) (string, string, int64) {
	i := strings.LastIndex(key, "_")
	if i < 0 {
		return key, "", 0
	}
	iv, _ := strconv.ParseInt(key[i+1:], 10, 64)
	rest := key[:i]
	for _, t := range []string{"pre_notify_", "post_notify_", "confirmed-pre_notify_", "confirmed-post_notify_"} {
		if j := strings.Index(rest, "_"+t); j >= 0 {
			return rest[:j], rest[j+1:], iv
		}
	}
	j := strings.LastIndex(rest, "_")
	if j < 0 {
		return rest, "", iv
	}
	task := rest[j+1:]
	id := rest[:j]
	if strings.HasSuffix(id, "_migrate") && (task == "to" || task == "from") {
		return strings.TrimSuffix(id, "_migrate"), "migrate_" + task, iv
	}
	if strings.HasSuffix(id, "_clear") && task == "failcount" {
		return strings.TrimSuffix(id, "_clear"), "clear_failcount", iv
	}
	if strings.HasSuffix(id, "_reload") && task == "agent" {
		return strings.TrimSuffix(id, "_reload"), "reload-agent", iv
	}
	return id, task, iv
}

// customAction finds or creates a resource (or cluster) action.
func (s *sched) customAction(r *Resource, key, task string, node *Node, optional bool) *Action {
	var a *Action
	if r != nil {
		if m := s.findActions(r, key, node); len(m) > 0 {
			a = m[0]
		}
	}
	if a == nil {
		a = s.newAction(key, task, r, node, optional)
	}
	// update optional
	if a.Rsc != nil && a.Node != nil && !a.is(afPseudo) && !a.Rsc.Managed && a.Meta["interval"] == "" {
		a.set(afOptional)
	} else if !optional {
		a.clear(afOptional)
	}
	if r != nil {
		s.updateRunnable(a)
	}
	return a
}

func (s *sched) newAction(key, task string, r *Resource, node *Node, optional bool) *Action {
	a := &Action{Rsc: r, Task: task, UUID: key, Node: node}
	a.set(afRunnable)
	if optional {
		a.set(afOptional)
	}
	if task == "lrm_delete" {
		a.set(afOnDC)
	}
	if r == nil {
		a.Meta = map[string]string{}
	} else {
		_, t, iv := parseOpKey(key)
		if t == "" {
			t = task
		}
		a.Interval = iv
		cfgTask := task
		if task == "cancel" {
			cfgTask = t
		}
		a.opEntry = s.findOpConfig(r, cfgTask, iv, true)
		if a.opEntry == nil && strings.Contains(key, "_notify_") {
			a.opEntry = s.findOpConfig(r, "notify", 0, true)
		}
		a.Meta = s.actionMeta(r, cfgTask, iv, a.opEntry)
		if task == "start" || task == "promote" {
			if r.NeedsFencing {
				a.needs = 2
			} else if r.NeedsQuorum {
				a.needs = 1
			}
		}
	}
	a.ID = s.actionID
	s.actionID++
	s.actions = append(s.actions, a)
	if r == nil {
		s.singletons[key] = a
	} else {
		r.actions = append(r.actions, a)
		r.actionIdx[key] = append(r.actionIdx[key], a)
	}
	return a
}

func (s *sched) singletonPseudo(key string) *Action {
	if a, ok := s.singletons[key]; ok {
		return a
	}
	a := s.newAction(key, key, nil, nil, false)
	a.set(afPseudo | afRunnable)
	return a
}

func (s *sched) effectiveQuorumPolicy(r *Resource) string {
	if s.quorate {
		return "ignore"
	}
	if s.noQuorumPolicy == "demote" {
		switch r.Role {
		case RolePromoted, RoleUnpromoted:
			if r.NextRole > RoleUnpromoted {
				r.NextRole = RoleUnpromoted
			}
			return "ignore"
		}
		return "stop"
	}
	return s.noQuorumPolicy
}

func (s *sched) updateRunnable(a *Action) {
	if a.is(afPseudo) {
		return
	}
	switch {
	case a.Node == nil:
		a.clear(afRunnable)
	case !a.is(afOnDC) && !a.Node.Online:
		a.clear(afRunnable)
		if a.Rsc.Managed && a.Task == "stop" && !a.Node.Unclean {
			s.fenceNode(a.Node, "stop is unrunnable", false)
		}
	case !a.is(afOnDC) && a.Node.Pending:
		a.clear(afRunnable)
	case a.needs == 0:
		a.set(afRunnable)
	default:
		switch s.effectiveQuorumPolicy(a.Rsc) {
		case "stop", "fence":
			a.clear(afRunnable)
			s.setReason(a, "no quorum", true)
		case "freeze":
			if !a.Rsc.isActive() || a.Rsc.NextRole > a.Rsc.Role {
				a.clear(afRunnable)
				s.setReason(a, "quorum freeze", true)
			}
		default:
			a.set(afRunnable)
		}
	}
}

func (r *Resource) isActive() bool {
	if r.isPrimitive() {
		return len(r.RunningOn) > 0
	}
	for _, c := range r.Children {
		if c.isActive() {
			return true
		}
	}
	return false
}

func (s *sched) setReason(a *Action, reason string, overwrite bool) {
	if a.Reason == "" || overwrite {
		a.Reason = reason
	}
}

func (s *sched) stopAction(r *Resource, n *Node, optional bool) *Action {
	return s.customAction(r, opKey(r.ID, "stop", 0), "stop", n, optional)
}
func (s *sched) startAction(r *Resource, n *Node, optional bool) *Action {
	return s.customAction(r, opKey(r.ID, "start", 0), "start", n, optional)
}
func (s *sched) demoteAction(r *Resource, n *Node, optional bool) *Action {
	return s.customAction(r, opKey(r.ID, "demote", 0), "demote", n, optional)
}
func (s *sched) promoteAction(r *Resource, n *Node, optional bool) *Action {
	return s.customAction(r, opKey(r.ID, "promote", 0), "promote", n, optional)
}

func (s *sched) pseudoRscAction(r *Resource, task string, optional, runnable bool) *Action {
	a := s.customAction(r, opKey(r.ID, task, 0), task, nil, optional)
	a.set(afPseudo)
	if runnable {
		a.set(afRunnable)
	} else {
		a.clear(afRunnable)
	}
	return a
}

// fenceOp finds or creates the fencing action for a node.
func (s *sched) fenceOp(n *Node, optional bool, reason string) *Action {
	key := "stonith-" + n.Uname + "-" + s.fencingAction
	a, ok := s.singletons[key]
	if !ok {
		a = s.newAction(key, "stonith", nil, n, optional)
		a.Meta["on_node"] = n.Uname
		a.Meta["on_node_uuid"] = n.ID
		a.Meta["stonith_action"] = s.fencingAction
	}
	if !optional {
		a.clear(afOptional)
	}
	if reason != "" && a.Reason == "" {
		a.Reason = reason
	}
	// Pacemaker's pe_fence_op: once priority-fencing-delay applies to a
	// node (it was lost), the delay is recomputed at every call, so the
	// final value uses the node priorities of the whole status.
	if _, ok := a.Meta["priority-fencing-delay"]; ok {
		a.Meta["priority-fencing-delay"] = strconv.FormatInt(s.nodePriorityFencingDelay(n), 10)
	}
	return a
}

// nodePriorityFencingDelay is Pacemaker 2.1's node_priority_fencing_delay:
// a lost cluster node gets the delay only when no more than half of the
// cluster members are online, priorities differ, and it has the top one.
func (s *sched) nodePriorityFencingDelay(n *Node) int64 {
	if s.priorityFencingDelay <= 0 || n.RemoteNode || n.Online {
		return 0
	}
	members, online := 0, 0
	top, lowest := 0, 0
	for _, x := range s.nodes {
		if x.RemoteNode {
			continue
		}
		members++
		if x.Online {
			online++
		}
		if members == 1 || x.priority > top {
			top = x.priority
		}
		if members == 1 || x.priority < lowest {
			lowest = x.priority
		}
	}
	if online > members/2 || lowest == top || n.priority < top {
		return 0
	}
	return s.priorityFencingDelay
}

// fenceNode marks a node unclean (and creates its optional fence op).
func (s *sched) fenceNode(n *Node, reason string, priorityDelay bool) {
	if n.Unclean {
		return
	}
	n.Unclean = true
	if n.fenceReason == "" {
		n.fenceReason = reason
	}
	a := s.fenceOp(n, true, reason)
	if priorityDelay && s.priorityFencingDelay > 0 && !n.RemoteNode {
		a.Meta["priority-fencing-delay"] = strconv.FormatInt(s.nodePriorityFencingDelay(n), 10)
	}
}

func (s *sched) canFence(n *Node) bool {
	switch {
	case !s.fencingEnabled:
		return false
	case !s.haveFencing:
		return false
	case s.quorate:
		return true
	case s.noQuorumPolicy == "ignore":
		return true
	case n == nil:
		return false
	case n.Online:
		return true
	}
	return false
}

func (s *sched) clearFailcount(r *Resource, n *Node, reason string) *Action {
	a := s.customAction(r, opKey(r.ID, "clear_failcount", 0), "clear_failcount", n, false)
	a.Meta["op_no_wait"] = "true"
	return a
}

func (s *sched) newCancelAction(r *Resource, task string, interval int64, n *Node) *Action {
	a := s.customAction(r, opKey(r.ID, task, interval), "cancel", n, false)
	a.Task = "cancel"
	a.cancelTask = task
	a.Meta["operation"] = task
	a.Meta["interval"] = strconv.FormatInt(interval, 10)
	return a
}

func (s *sched) scheduleCancel(r *Resource, callID, task string, interval int64, n *Node) {
	a := s.newCancelAction(r, task, interval, n)
	a.Meta["call-id"] = callID
	s.newOrdering(r, opKey(r.ID, "stop", 0), nil, r, "", a, arOrdered)
}
