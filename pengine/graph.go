package pengine

import (
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Graph is a transition graph.
type Graph struct {
	ClusterDelay      string
	FencingTimeout    string
	FailedStopOffset  string
	FailedStartOffset string
	BatchLimit        string
	MigrationLimit    string
	RecheckBy         int64
	TransitionID      int
	Synapses          []*Synapse
}

// Synapse is one action with the actions it waits for.
type Synapse struct {
	ID       int
	Priority int
	Action   *GraphAction
	Inputs   []*GraphAction
}

// GraphAction is an action as written into the graph.
type GraphAction struct {
	ID           int
	Element      string // rsc_op, pseudo_event, crm_event
	Operation    string
	OperationKey string
	Node         string
	NodeUUID     string
	RscID        string
	RscLongID    string
	Class        string
	Provider     string
	Type         string
	Attrs        map[string]string
	attrsFn      func() map[string]string
	Downed       []string
	Task         string
	internalKey  string
	Interval     int64
	pseudo       bool
	rscName      string
}

func (s *sched) shouldGraph(a *Action) bool {
	if !a.is(afRunnable) {
		return false
	}
	if a.is(afOptional) && !a.is(afAlways) {
		return false
	}
	if a.Rsc != nil && !a.Rsc.Managed && a.Task != "monitor" {
		if a.Meta["interval"] == "" || a.Meta["interval"] == "0" {
			return false
		}
	}
	if a.is(afPseudo) || a.Task == "stonith" || a.Task == "do_shutdown" {
		return true
	}
	if a.Node == nil {
		return false
	}
	if a.is(afOnDC) {
		return true
	}
	if !a.Node.Online || a.Node.Unclean {
		return false
	}
	return true
}

// attributes returns the action's <attributes>, computing them on demand.
func (g *GraphAction) attributes() map[string]string {
	if g.Attrs == nil && g.attrsFn != nil {
		g.Attrs = g.attrsFn()
	}
	return g.Attrs
}

func (s *sched) graphAction(a *Action) *GraphAction {
	g := s.graphActionHead(a)
	g.attrsFn = func() map[string]string { return s.graphAction1(a).Attrs }
	return g
}

// graphActionHead fills everything but the attributes.
func (s *sched) graphActionHead(a *Action) *GraphAction {
	g := &GraphAction{ID: a.ID, Operation: a.Task, OperationKey: a.UUID, Task: a.Task, Interval: a.Interval}
	switch {
	case a.is(afPseudo):
		g.Element = "pseudo_event"
		g.pseudo = true
	case a.Task == "stonith" || a.Task == "do_shutdown" || a.Task == "clear_failcount" || a.Task == "lrm_delete":
		g.Element = "crm_event"
	default:
		g.Element = "rsc_op"
	}
	if a.Task == "do_shutdown" {
		g.OperationKey = "do_shutdown-" + a.Node.Uname
	}
	if a.Node != nil && !a.is(afPseudo) {
		g.Node = a.Node.Uname
		g.NodeUUID = a.Node.ID
	}
	if a.Task == "stonith" {
		g.Downed = []string{a.Node.ID}
		g.Operation = "stonith"
	}
	if a.Task == "do_shutdown" {
		g.Downed = []string{a.Node.ID}
	}
	if a.Task == "cancel" {
		g.Operation = "cancel"
	}
	if r := a.Rsc; r != nil {
		g.rscName = r.ID
		if r.cloneName != "" {
			g.rscName = r.cloneName
			if (!g.pseudo || r.isPrimitive()) && strings.HasPrefix(a.UUID, r.ID+"_") {
				g.internalKey = a.UUID
				g.OperationKey = r.cloneName + a.UUID[len(r.ID):]
			}
		}
		if g.Element == "rsc_op" || g.Element == "crm_event" {
			g.RscID = r.ID
			top := r.top()
			if top.isClone() && !top.Unique {
				if i := strings.LastIndex(r.ID, ":"); i > 0 {
					g.RscID = r.ID[:i]
					g.RscLongID = r.ID
				}
			}
			g.Class, g.Provider, g.Type = r.Class, r.Provider, r.Type
			if r.Orphan && r.lrmClass != "" {
				g.Class = r.lrmClass
			}
		}
	}
	return g
}

func (s *sched) graphAction1(a *Action) *GraphAction {
	g := &GraphAction{ID: a.ID, Operation: a.Task, OperationKey: a.UUID, Task: a.Task, Interval: a.Interval, Attrs: map[string]string{}}
	switch {
	case a.is(afPseudo):
		g.Element = "pseudo_event"
		g.pseudo = true
	case a.Task == "stonith" || a.Task == "do_shutdown" || a.Task == "clear_failcount" || a.Task == "lrm_delete":
		g.Element = "crm_event"
	default:
		g.Element = "rsc_op"
	}
	if a.Task == "stonith" {
		g.OperationKey = a.UUID
	}
	if a.Task == "do_shutdown" {
		g.OperationKey = "do_shutdown-" + a.Node.Uname
	}
	if a.Node != nil && !a.is(afPseudo) {
		g.Node = a.Node.Uname
		g.NodeUUID = a.Node.ID
		g.Attrs["CRM_meta_on_node"] = a.Node.Uname
		g.Attrs["CRM_meta_on_node_uuid"] = a.Node.ID
	}
	if a.Task == "stonith" {
		g.Downed = []string{a.Node.ID}
		g.Attrs["CRM_meta_stonith_action"] = s.fencingAction
		g.Attrs["CRM_meta_on_node"] = a.Node.Uname
		g.Attrs["CRM_meta_on_node_uuid"] = a.Node.ID
		g.Operation = "stonith"
	}
	if a.Task == "do_shutdown" {
		g.Downed = []string{a.Node.ID}
		g.Attrs["CRM_meta_op_no_wait"] = "true"
	}
	if r := a.Rsc; r != nil {
		g.rscName = r.ID
		if g.Element == "rsc_op" || g.Element == "crm_event" {
			g.RscID = r.ID
			top := r.top()
			if top.isClone() && !top.Unique {
				if i := strings.LastIndex(r.ID, ":"); i > 0 {
					g.RscID = r.ID[:i]
					g.RscLongID = r.ID
				}
			}
			g.Class, g.Provider, g.Type = r.Class, r.Provider, r.Type
			if r.Orphan && r.lrmClass != "" {
				g.Class = r.lrmClass
			}
		}
		for k, v := range a.Meta {
			if k == "name" && g.Element == "pseudo_event" {
				continue
			}
			g.Attrs["CRM_meta_"+strings.ReplaceAll(k, "-", "_")] = v
		}
		if a.Task == "cancel" {
			g.Operation = "cancel"
		}
		if g.Element == "rsc_op" && a.Node != nil {
			g.Attrs["crm_feature_set"] = "3.19.0"
			for k, v := range s.rscParams(r, a.Node) {
				g.Attrs[k] = v
			}
			// The op's own instance_attributes (OCF_CHECK_LEVEL, ...) go
			// to the agent and into the digest, as in Pacemaker.
			if cfg := s.findOpConfig(r, a.Task, a.Interval, true); cfg != nil {
				s.unpackNV(s.nvBlocks([]*etree.Element{cfg}, "instance_attributes", ""), g.Attrs, &ruleCtx{nodeAttrs: a.Node.Attrs, now: s.now}, true)
			}
			if top := r.top(); top.isClone() && r.isPrimitive() && r != top {
				if i := strings.LastIndex(r.ID, ":"); i >= 0 {
					g.Attrs["CRM_meta_clone"] = r.ID[i+1:]
				}
			}
		}
		// Every action of a clone or of anything inside one carries the
		// clone's meta (Pacemaker's clone add_graph_meta).
		if top := r.top(); top.isClone() {
			g.Attrs["CRM_meta_clone_max"] = strconv.Itoa(top.cloneMax)
			g.Attrs["CRM_meta_clone_node_max"] = strconv.Itoa(top.cloneNodeMax)
			g.Attrs["CRM_meta_globally_unique"] = strconv.FormatBool(top.Unique)
			g.Attrs["CRM_meta_notify"] = strconv.FormatBool(top.notify)
			if top.Promotable {
				for _, k := range []string{"promoted_max", "master_max"} {
					g.Attrs["CRM_meta_"+k] = strconv.Itoa(top.promotedMax)
				}
				for _, k := range []string{"promoted_node_max", "master_node_max"} {
					g.Attrs["CRM_meta_"+k] = strconv.Itoa(top.promotedNodeMax)
				}
			}
		}
	} else {
		for k, v := range a.Meta {
			if k == "on_node" || k == "on_node_uuid" || k == "stonith_action" {
				continue
			}
			g.Attrs["CRM_meta_"+strings.ReplaceAll(k, "-", "_")] = v
		}
	}
	if g.pseudo {
		delete(g.Attrs, "CRM_meta_on_node")
		delete(g.Attrs, "CRM_meta_on_node_uuid")
	}
	return g
}

func (s *sched) buildGraph() *Graph {
	g := &Graph{
		ClusterDelay:      s.optString("cluster-delay", "60s"),
		FencingTimeout:    s.optString("fencing-timeout", "60s", "stonith-timeout"),
		FailedStopOffset:  "INFINITY",
		FailedStartOffset: "INFINITY",
		BatchLimit:        s.optString("batch-limit", "0"),
		TransitionID:      s.cfg.TransitionID,
		RecheckBy:         s.recheckBy,
	}
	if !s.startFailureFatal {
		g.FailedStartOffset = "1"
	}
	if v, ok := s.opts["migration-limit"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			g.MigrationLimit = v
		}
	}
	for _, a := range s.actions {
		a.graphed = s.shouldGraph(a)
	}
	var order []*Action
	var addRsc func(r *Resource)
	addRsc = func(r *Resource) {
		if r.isClone() {
			for _, c := range r.Children {
				addRsc(c)
			}
		}
		for i := len(r.actions) - 1; i >= 0; i-- {
			if r.actions[i].graphed {
				order = append(order, r.actions[i])
			}
		}
		if !r.isClone() {
			for _, c := range r.Children {
				addRsc(c)
			}
		}
	}
	for _, r := range s.resources {
		addRsc(r)
	}
	for i := len(s.actions) - 1; i >= 0; i-- {
		a := s.actions[i]
		if a.Rsc == nil && a.graphed {
			order = append(order, a)
		}
	}
	for i, a := range order {
		a.synapse = i
		syn := &Synapse{ID: i, Action: s.graphAction(a)}
		prio := 0
		if a.Rsc != nil {
			prio = a.Rsc.Priority
		}
		if p, ok := a.Meta["priority"]; ok {
			if v := parseScore(p, 0); v > prio {
				prio = v
			}
		}
		syn.Priority = prio
		seen := map[*Action]bool{}
		var ins []*Action
		for _, e := range a.before {
			f := e.action
			if seen[f] || e.typ == arNone || !f.graphed {
				continue
			}
			if !f.is(afRunnable) && e.typ == arOrdered {
				continue
			}
			if e.typ&arUnmigratableThenBlocks != 0 && !f.is(afRunnable) {
				continue
			}
			if e.typ&arLoad != 0 {
				// only between actions on the same node (for a
				// migrate_to, the node it migrates to)
				target := a.Node
				if a.Rsc != nil && a.Task == "migrate_to" {
					target = a.Rsc.AssignedTo
				}
				if f.Node == nil || target == nil || f.Node != target || f.is(afOptional) {
					continue
				}
			}
			if e.typ&arFirstNonMigratable != 0 && f.is(afMigratable) {
				continue // first migrates: the edge is not needed
			}
			if e.typ == arOrdered && f.is(afMigratable) && strings.HasSuffix(f.UUID, "_stop_0") {
				continue // optional, and the stop is part of a migration
			}
			seen[f] = true
			ins = append(ins, f)
		}
		sort.Slice(ins, func(x, y int) bool { return ins[x].ID < ins[y].ID })
		for _, f := range ins {
			syn.Inputs = append(syn.Inputs, s.graphAction(f))
		}
		g.Synapses = append(g.Synapses, syn)
	}
	return g
}

// XML renders the graph in Pacemaker's <transition_graph> shape.
func (g *Graph) XML() []byte {
	doc := etree.NewDocument()
	root := doc.CreateElement("transition_graph")
	root.CreateAttr("cluster-delay", g.ClusterDelay)
	root.CreateAttr("fencing-timeout", g.FencingTimeout)
	root.CreateAttr("failed-stop-offset", g.FailedStopOffset)
	root.CreateAttr("failed-start-offset", g.FailedStartOffset)
	if g.BatchLimit != "" && g.BatchLimit != "0" {
		root.CreateAttr("batch-limit", g.BatchLimit)
	}
	if g.MigrationLimit != "" {
		root.CreateAttr("migration-limit", g.MigrationLimit)
	}
	root.CreateAttr("transition_id", strconv.Itoa(g.TransitionID))
	if g.RecheckBy > 0 {
		root.CreateAttr("recheck-by", strconv.FormatInt(g.RecheckBy, 10))
	}
	for _, syn := range g.Synapses {
		se := root.CreateElement("synapse")
		se.CreateAttr("id", strconv.Itoa(syn.ID))
		if syn.Priority > 0 {
			se.CreateAttr("priority", strconv.Itoa(syn.Priority))
		}
		as := se.CreateElement("action_set")
		writeAction(as, syn.Action, true)
		in := se.CreateElement("inputs")
		for _, i := range syn.Inputs {
			t := in.CreateElement("trigger")
			writeAction(t, i, false)
		}
	}
	doc.Indent(2)
	out, _ := doc.WriteToBytes()
	return out
}

func writeAction(parent *etree.Element, a *GraphAction, full bool) {
	e := parent.CreateElement(a.Element)
	e.CreateAttr("id", strconv.Itoa(a.ID))
	e.CreateAttr("operation", a.Operation)
	e.CreateAttr("operation_key", a.OperationKey)
	if a.internalKey != "" {
		e.CreateAttr("internal_operation_key", a.internalKey)
	}
	if a.Element != "pseudo_event" && a.Node != "" {
		e.CreateAttr("on_node", a.Node)
		e.CreateAttr("on_node_uuid", a.NodeUUID)
	}
	if !full {
		return
	}
	if a.Element == "rsc_op" || (a.Element == "crm_event" && a.RscID != "") {
		if a.RscID != "" {
			p := e.CreateElement("primitive")
			p.CreateAttr("id", a.RscID)
			if a.RscLongID != "" {
				p.CreateAttr("long-id", a.RscLongID)
			}
			p.CreateAttr("class", a.Class)
			if a.Provider != "" {
				p.CreateAttr("provider", a.Provider)
			}
			p.CreateAttr("type", a.Type)
		}
	}
	at := e.CreateElement("attributes")
	attrs := a.attributes()
	delete(attrs, "CRM_meta_priority")
	for _, k := range sortedKeys(attrs) {
		at.CreateAttr(k, attrs[k])
	}
	if len(a.Downed) > 0 {
		d := e.CreateElement("downed")
		for _, id := range a.Downed {
			d.CreateElement("node").CreateAttr("id", id)
		}
	}
}
