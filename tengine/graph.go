package tengine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/systole/systole/cib"
)

// Kind is the element an action comes from.
type Kind int

// The action kinds of a transition graph.
const (
	// RscOp is a resource operation (<rsc_op>), run by the target node's lrmd.
	RscOp Kind = iota + 1
	// Pseudo is a pseudo event (<pseudo_event>): an ordering point with no
	// work, confirmed as soon as its inputs are.
	Pseudo
	// CRMEvent is a controller event (<crm_event>): stonith, do_shutdown,
	// clear_failcount, lrm_delete.
	CRMEvent
)

// String returns the XML element name of the kind.
func (k Kind) String() string {
	switch k {
	case RscOp:
		return "rsc_op"
	case Pseudo:
		return "pseudo_event"
	case CRMEvent:
		return "crm_event"
	}
	return "unknown"
}

// Primitive is the resource an rsc_op (or a resource's crm_event) acts on.
type Primitive struct {
	ID       string
	LongID   string // clone instance ("d1:0") when ID is the clone's primitive
	Class    string
	Provider string
	Type     string
}

// Action is one action of a graph.
type Action struct {
	ID           int
	Kind         Kind
	Operation    string // start, stop, monitor, stonith, ...
	OperationKey string // d1_monitor_10000
	Node         string // on_node ("" for pseudo events)
	NodeUUID     string
	Rsc          *Primitive // nil for pseudo events, stonith and do_shutdown
	// Attributes are the <attributes> verbatim: instance parameters and
	// CRM_meta_* values.
	Attributes map[string]string
	// Interval is CRM_meta_interval (recurring operations).
	Interval time.Duration
	// Timeout is CRM_meta_timeout, or the default (fencing-timeout for
	// stonith). The action's deadline is Timeout + the graph's cluster-delay.
	Timeout time.Duration
	// TargetRC is the rc that means success (CRM_meta_op_target_rc, else 0).
	TargetRC int
	// Downed lists the node ids a stonith or shutdown takes down.
	Downed []string
	// Synapse is the index in Graph.Synapses of the synapse holding it.
	Synapse int
}

// IsMigration reports whether the action counts against migration-limit.
func (a *Action) IsMigration() bool {
	return a.Operation == "migrate_to" || a.Operation == "migrate_from"
}

// TransitionKey returns Pacemaker's transition key
// "ACTION:TRANSITION:TARGET_RC:UUID" for the action.
func (a *Action) TransitionKey(transitionID int, uuid string) string {
	return strconv.Itoa(a.ID) + ":" + strconv.Itoa(transitionID) + ":" + strconv.Itoa(a.TargetRC) + ":" + uuid
}

// Synapse is a set of actions that start together once every input action
// is confirmed.
type Synapse struct {
	ID       int
	Priority int
	Actions  []*Action
	Inputs   []int // action ids
}

// Graph is a parsed transition graph.
type Graph struct {
	TransitionID      int
	ClusterDelay      time.Duration
	FencingTimeout    time.Duration
	BatchLimit        int // 0 = no limit
	MigrationLimit    int // -1 = no limit
	FailedStopOffset  string
	FailedStartOffset string
	RecheckBy         int64 // unix seconds, 0 = none
	Synapses          []*Synapse
	// Actions maps action ids to actions.
	Actions map[int]*Action
}

// NumActions returns the number of non-pseudo actions.
func (g *Graph) NumActions() int {
	n := 0
	for _, a := range g.Actions {
		if a.Kind != Pseudo {
			n++
		}
	}
	return n
}

// maxGraphActions bounds a graph so that a hostile input cannot make the
// engine allocate without bound (a 16 x 5000 cluster's graphs are far
// smaller).
const maxGraphActions = 1 << 20

// ParseGraph reads a <transition_graph>. Errors wrap ErrBadGraph and name
// the synapse or action at fault. A graph whose inputs name actions it does
// not have, or whose orderings form a cycle, is refused: it could never
// finish.
func ParseGraph(data []byte) (*Graph, error) {
	root, err := readXML(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadGraph, err)
	}
	if root.tag != "transition_graph" {
		return nil, fmt.Errorf("%w: the root element is not <transition_graph>", ErrBadGraph)
	}
	return parseRoot(root)
}

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadGraph, fmt.Sprintf(format, a...))
}

func atoi(e *xnode, attr string, def int) (int, error) {
	v, ok := e.attr(attr)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, bad("<%s> %s=%q is not an integer", e.tag, attr, v)
	}
	return n, nil
}

func duration(e *xnode, attr string, def time.Duration) (time.Duration, error) {
	v, ok := e.attr(attr)
	if !ok {
		return def, nil
	}
	ms, err := cib.ParseInterval(v)
	if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, bad("<%s> %s=%q is not a duration", e.tag, attr, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func parseRoot(root *xnode) (*Graph, error) {
	g := &Graph{Actions: map[int]*Action{}, FailedStopOffset: root.attrValue("failed-stop-offset"),
		FailedStartOffset: root.attrValue("failed-start-offset")}
	var err error
	if g.TransitionID, err = atoi(root, "transition_id", 0); err != nil {
		return nil, err
	}
	if g.TransitionID < 0 {
		return nil, bad("negative transition_id %d", g.TransitionID)
	}
	if g.ClusterDelay, err = duration(root, "cluster-delay", -1); err != nil {
		return nil, err
	}
	if g.FencingTimeout, err = duration(root, "fencing-timeout", -1); err != nil {
		return nil, err
	}
	if g.FencingTimeout < 0 {
		if g.FencingTimeout, err = duration(root, "stonith-timeout", -1); err != nil {
			return nil, err
		}
	}
	if g.BatchLimit, err = atoi(root, "batch-limit", 0); err != nil {
		return nil, err
	}
	if g.BatchLimit < 0 {
		g.BatchLimit = 0
	}
	if g.MigrationLimit, err = atoi(root, "migration-limit", -1); err != nil {
		return nil, err
	}
	if g.MigrationLimit < 0 {
		g.MigrationLimit = -1
	}
	if v, ok := root.attr("recheck-by"); ok {
		if g.RecheckBy, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, bad("recheck-by=%q is not an integer", v)
		}
	}
	synIDs := map[int]bool{}
	for _, se := range root.kids {
		if se.tag != "synapse" {
			return nil, bad("unexpected <%s> in <transition_graph>", se.tag)
		}
		syn := &Synapse{}
		if !has(se, "id") {
			return nil, bad("synapse %d has no id", len(g.Synapses))
		}
		if syn.ID, err = atoi(se, "id", 0); err != nil {
			return nil, err
		}
		if synIDs[syn.ID] {
			return nil, bad("duplicate synapse id %d", syn.ID)
		}
		synIDs[syn.ID] = true
		if syn.Priority, err = atoi(se, "priority", 0); err != nil {
			return nil, err
		}
		idx := len(g.Synapses)
		for _, part := range se.kids {
			switch part.tag {
			case "action_set":
				for _, ae := range part.kids {
					a, err := parseAction(ae, g)
					if err != nil {
						return nil, fmt.Errorf("synapse %d: %w", syn.ID, err)
					}
					if g.Actions[a.ID] != nil {
						return nil, bad("synapse %d: duplicate action id %d", syn.ID, a.ID)
					}
					if len(g.Actions) >= maxGraphActions {
						return nil, bad("more than %d actions", maxGraphActions)
					}
					a.Synapse = idx
					g.Actions[a.ID] = a
					syn.Actions = append(syn.Actions, a)
				}
			case "inputs":
				for _, te := range part.kids {
					if te.tag != "trigger" {
						return nil, bad("synapse %d: unexpected <%s> in <inputs>", syn.ID, te.tag)
					}
					for _, ie := range te.kids {
						if kindOf(ie.tag) == 0 {
							return nil, bad("synapse %d: unexpected <%s> in <trigger>", syn.ID, ie.tag)
						}
						if !has(ie, "id") {
							return nil, bad("synapse %d: trigger <%s> has no id", syn.ID, ie.tag)
						}
						id, err := atoi(ie, "id", 0)
						if err != nil {
							return nil, fmt.Errorf("synapse %d: trigger: %w", syn.ID, err)
						}
						syn.Inputs = append(syn.Inputs, id)
					}
				}
			default:
				return nil, bad("synapse %d: unexpected <%s>", syn.ID, part.tag)
			}
		}
		if len(syn.Actions) == 0 {
			return nil, bad("synapse %d has no action", syn.ID)
		}
		g.Synapses = append(g.Synapses, syn)
	}
	for _, syn := range g.Synapses {
		for _, in := range syn.Inputs {
			if g.Actions[in] == nil {
				return nil, bad("synapse %d waits for action %d, which is not in the graph", syn.ID, in)
			}
		}
	}
	if err := checkAcyclic(g); err != nil {
		return nil, err
	}
	return g, nil
}

func kindOf(tag string) Kind {
	switch tag {
	case "rsc_op":
		return RscOp
	case "pseudo_event":
		return Pseudo
	case "crm_event":
		return CRMEvent
	}
	return 0
}

func parseAction(ae *xnode, g *Graph) (*Action, error) {
	a := &Action{Kind: kindOf(ae.tag), Attributes: map[string]string{}}
	if a.Kind == 0 {
		return nil, bad("unexpected <%s> in <action_set>", ae.tag)
	}
	if !has(ae, "id") {
		return nil, bad("<%s> has no id", ae.tag)
	}
	var err error
	if a.ID, err = atoi(ae, "id", 0); err != nil {
		return nil, err
	}
	a.Operation = ae.attrValue("operation")
	a.OperationKey = ae.attrValue("operation_key")
	a.Node = ae.attrValue("on_node")
	a.NodeUUID = ae.attrValue("on_node_uuid")
	if a.Operation == "" {
		return nil, bad("action %d has no operation", a.ID)
	}
	if a.OperationKey == "" {
		return nil, bad("action %d has no operation_key", a.ID)
	}
	if a.Kind != Pseudo && a.Node == "" {
		return nil, bad("%s %d (%s) has no on_node", ae.tag, a.ID, a.OperationKey)
	}
	for _, c := range ae.kids {
		switch c.tag {
		case "primitive":
			if a.Rsc != nil {
				return nil, bad("action %d has two <primitive>", a.ID)
			}
			a.Rsc = &Primitive{ID: c.attrValue("id"), LongID: c.attrValue("long-id"),
				Class: c.attrValue("class"), Provider: c.attrValue("provider"), Type: c.attrValue("type")}
			if a.Rsc.ID == "" || a.Rsc.Class == "" || a.Rsc.Type == "" {
				return nil, bad("action %d: <primitive> needs id, class and type", a.ID)
			}
		case "attributes":
			for _, at := range c.attrs {
				a.Attributes[at.key] = at.value
			}
		case "downed":
			for _, n := range c.kids {
				if id := n.attrValue("id"); id != "" {
					a.Downed = append(a.Downed, id)
				}
			}
		default:
			// Pacemaker ignores what it does not know inside an action.
		}
	}
	if a.Kind == RscOp && a.Rsc == nil {
		return nil, bad("rsc_op %d (%s) has no <primitive>", a.ID, a.OperationKey)
	}
	if v, ok := a.Attributes["CRM_meta_op_target_rc"]; ok {
		if a.TargetRC, err = strconv.Atoi(v); err != nil || a.TargetRC < 0 || a.TargetRC > 255 {
			return nil, bad("action %d: CRM_meta_op_target_rc=%q is not an rc", a.ID, v)
		}
	}
	if v, ok := a.Attributes["CRM_meta_interval"]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
			return nil, bad("action %d: CRM_meta_interval=%q is not a number of milliseconds", a.ID, v)
		}
		a.Interval = time.Duration(ms) * time.Millisecond
	}
	a.Timeout = -1
	if v, ok := a.Attributes["CRM_meta_timeout"]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond)/2 {
			return nil, bad("action %d: CRM_meta_timeout=%q is not a number of milliseconds", a.ID, v)
		}
		a.Timeout = time.Duration(ms) * time.Millisecond
	}
	if a.Timeout <= 0 && a.Operation == "stonith" && g.FencingTimeout > 0 {
		a.Timeout = g.FencingTimeout
	}
	return a, nil
}

// checkAcyclic refuses a graph whose orderings form a cycle (Kahn's
// algorithm over synapses).
func checkAcyclic(g *Graph) error {
	n := len(g.Synapses)
	waits := make([]int, n)
	next := make([][]int, n)
	for i, syn := range g.Synapses {
		for _, in := range syn.Inputs {
			from := g.Actions[in].Synapse
			waits[i]++
			next[from] = append(next[from], i)
		}
	}
	queue := make([]int, 0, n)
	for i := range waits {
		if waits[i] == 0 {
			queue = append(queue, i)
		}
	}
	seen := 0
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		seen++
		for _, t := range next[s] {
			if waits[t]--; waits[t] == 0 {
				queue = append(queue, t)
			}
		}
	}
	if seen < n {
		for i, w := range waits {
			if w > 0 {
				return bad("synapse %d is part of an ordering cycle", g.Synapses[i].ID)
			}
		}
	}
	return nil
}

func has(e *xnode, k string) bool {
	_, ok := e.attr(k)
	return ok
}
