package pengine

import (
	"fmt"
	"strings"
)

// ParseDate parses an ISO 8601 date/time into epoch seconds.
func ParseDate(s string) (int64, bool) { return parseISO8601(s) }

// ParseOpKey splits an operation key ("rsc_monitor_10000") into resource
// id, task and interval in milliseconds.
func ParseOpKey(key string) (string, string, int64) { return parseOpKey(key) }

// Dot renders the graph in Graphviz DOT format.
func (g *Graph) Dot() []byte {
	var b strings.Builder
	b.WriteString(" digraph \"g\" {\n")
	name := func(a *GraphAction) string {
		if a.Node != "" {
			return a.OperationKey + " " + a.Node
		}
		return a.OperationKey
	}
	for _, syn := range g.Synapses {
		fmt.Fprintf(&b, "\"%s\" [ style=bold color=\"green\" fontcolor=\"black\"]\n", name(syn.Action))
	}
	for _, syn := range g.Synapses {
		for _, in := range syn.Inputs {
			fmt.Fprintf(&b, "\"%s\" -> \"%s\" [ style = bold]\n", name(in), name(syn.Action))
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// DebugActions lists every action with its flags (for troubleshooting).
func (r *Result) DebugActions() []string { return r.debug }

func (s *sched) debugLines() []string {
	var out []string
	var walk func(r *Resource)
	walk = func(r *Resource) {
		line := "rsc " + r.ID + " role=" + r.Role.String() + " next=" + r.NextRole.String()
		for i, w := range r.allowed {
			if w != absent {
				line += fmt.Sprintf(" %s=%d", s.nodes[i].Uname, w)
			}
		}
		if r.AssignedTo != nil {
			line += " -> " + r.AssignedTo.Uname
		}
		out = append(out, line)
		for _, c := range r.Children {
			walk(c)
		}
	}
	for _, r := range s.resources {
		walk(r)
	}
	for _, a := range s.actions {
		n := "-"
		if a.Node != nil {
			n = a.Node.Uname
		}
		fl := ""
		for _, f := range []struct {
			b uint32
			c string
		}{{afOptional, "opt"}, {afRunnable, "run"}, {afPseudo, "pseudo"}, {afAlways, "always"}} {
			if a.is(f.b) {
				fl += f.c + ","
			}
		}
		var ins []string
		for _, e := range a.before {
			ins = append(ins, fmt.Sprintf("%d/%x", e.action.ID, e.typ))
		}
		out = append(out, fmt.Sprintf("%d %s %s %s [%s] reason=%q in=%v", a.ID, a.UUID, a.Task, n, fl, a.Reason, ins))
	}
	return out
}
