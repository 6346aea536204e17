package pengine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

type summaryItem struct {
	verb, id, details, reason string
	fence                     string
}

type summaryBuilder struct {
	items []summaryItem
	w, d  int
}

func newSummaryBuilder() *summaryBuilder { return &summaryBuilder{w: 5, d: 5} }

func (b *summaryBuilder) add(change string, r *Resource, origin, dest *Node, action, source *Action) {
	if len(r.ID) > b.w {
		b.w = len(r.ID) + 2
	}
	needRole := r.Role > RoleStarted || r.NextRole > RoleUnpromoted
	sameHost := origin != nil && dest != nil && origin == dest
	sameRole := r.Role == r.NextRole
	var details string
	switch {
	case needRole && origin == nil && dest != nil:
		details = fmt.Sprintf("%s -> %s %s", r.Role, r.NextRole, dest.Uname)
	case origin == nil && dest != nil:
		details = dest.Uname
	case needRole && dest == nil && origin != nil:
		details = fmt.Sprintf("%s %s", r.Role, origin.Uname)
	case dest == nil && origin != nil:
		details = origin.Uname
	case origin == nil:
		details = ""
	case needRole && sameRole && sameHost:
		details = fmt.Sprintf("%s %s", r.Role, origin.Uname)
	case sameRole && sameHost:
		details = origin.Uname
	case needRole && sameRole:
		details = fmt.Sprintf("%s -> %s %s", origin.Uname, dest.Uname, r.Role)
	case sameRole:
		details = fmt.Sprintf("%s -> %s", origin.Uname, dest.Uname)
	case sameHost:
		details = fmt.Sprintf("%s -> %s %s", r.Role, r.NextRole, origin.Uname)
	default:
		details = fmt.Sprintf("%s %s -> %s %s", r.Role, origin.Uname, r.NextRole, dest.Uname)
	}
	if len(details) > b.d {
		b.d = len(details)
	}
	if source == nil {
		source = action
	}
	reason := ""
	runnable := action == nil || action.is(afRunnable)
	switch {
	case source != nil && source.Reason != "" && !runnable:
		reason = "due to " + source.Reason + " (blocked)"
	case source != nil && source.Reason != "":
		reason = "due to " + source.Reason
	case !runnable:
		reason = "blocked"
	}
	b.items = append(b.items, summaryItem{verb: change, id: r.ID, details: details, reason: reason})
}

func (b *summaryBuilder) lines() []string {
	var out []string
	for _, it := range b.items {
		if it.fence != "" {
			out = append(out, it.fence)
			continue
		}
		l := fmt.Sprintf("  * %-8s   %-*s   ( %*s )", it.verb, b.w, it.id, b.d, it.details)
		if it.reason != "" {
			l += "  " + it.reason
		}
		out = append(out, l)
	}
	return out
}

func (s *sched) summary() []string {
	b := newSummaryBuilder()
	for i := len(s.actions) - 1; i >= 0; i-- {
		a := s.actions[i]
		if a.Rsc != nil || a.Task != "stonith" || a.is(afOptional) || !a.is(afRunnable) {
			continue
		}
		b.items = append(b.items, summaryItem{fence: fmt.Sprintf("  * Fence (%s) %s '%s'", s.fencingAction, a.Node.Uname, a.Reason)})
	}
	for _, r := range s.resources {
		s.logActions(b, r)
	}
	return b.lines()
}

func (s *sched) logActions(b *summaryBuilder, r *Resource) {
	if len(r.Children) > 0 {
		for _, c := range r.Children {
			s.logActions(b, c)
		}
		return
	}
	next := r.AssignedTo
	var current *Node
	if len(r.RunningOn) > 0 {
		current, _, _ = s.activeNode(r)
		if r.Role == RoleStopped {
			r.Role = RoleStarted
		}
	}
	if current == nil && r.Orphan {
		return
	}
	if !r.Managed || (current == nil && next == nil) {
		return
	}
	first := func(task string, n *Node) *Action {
		l := s.rscActions(r, n, task, false)
		if len(l) == 0 {
			return nil
		}
		return l[0]
	}
	start := first("start", next)
	moving := false
	if start != nil && start.is(afRunnable) && current != nil && next != nil && current != next {
		moving = true
	}
	promote := first("promote", next)
	demote := first("demote", next)
	var stop *Action
	if current != nil {
		stop = first("stop", current)
	} else {
		stop = first("stop", nil)
	}
	var migrateFrom *Action
	if next != nil {
		migrateFrom = first("migrate_from", next)
	}
	if r.Role == r.NextRole {
		switch {
		case migrateFrom != nil && migrateFrom.is(afRunnable):
			b.add("Migrate", r, current, next, start, nil)
		case r.Reload:
			b.add("Reload", r, current, next, start, nil)
		case start == nil || start.is(afOptional):
			if demote != nil && promote != nil && !demote.is(afOptional) && !promote.is(afOptional) {
				b.add("Re-promote", r, current, next, promote, demote)
			}
		case !start.is(afRunnable):
			src := start
			if stop != nil && stop.Reason != "" {
				src = stop
			}
			b.add("Stop", r, current, nil, stop, src)
		case moving && current != nil:
			verb := "Move"
			if r.Failed {
				verb = "Recover"
			}
			b.add(verb, r, current, next, stop, nil)
		case r.Failed:
			b.add("Recover", r, current, nil, stop, nil)
		default:
			b.add("Restart", r, current, next, start, nil)
		}
		return
	}
	switch {
	case stop != nil && (r.NextRole == RoleStopped || (start != nil && !start.is(afRunnable))):
		for _, n := range r.RunningOn {
			src := start
			so := first("stop", n)
			if so != nil && so.Node != n {
				so = nil
			}
			if so != nil && so.Reason != "" {
				src = so
			}
			b.add("Stop", r, n, nil, so, src)
		}
	case stop != nil && r.Failed && r.StopIfFailed:
		b.add("Recover", r, current, next, stop, start)
	case moving:
		b.add("Move", r, current, next, stop, nil)
	case r.Reload:
		b.add("Reload", r, current, next, start, nil)
	case stop != nil && !stop.is(afOptional):
		b.add("Restart", r, current, next, start, nil)
	case r.Role == RolePromoted:
		b.add("Demote", r, current, next, demote, nil)
	case r.NextRole == RolePromoted:
		b.add("Promote", r, current, next, promote, nil)
	case r.Role == RoleStopped && r.NextRole > RoleStopped:
		b.add("Start", r, current, next, start, nil)
	}
}

// executionLines simulates the graph: repeated sweeps over synapses.
func (s *sched) executionLines(g *Graph, failed map[string]bool) []string {
	done := map[int]bool{}
	fired := make([]bool, len(g.Synapses))
	var out []string
	for {
		progress := false
		for i, syn := range g.Synapses {
			if fired[i] {
				continue
			}
			ready := true
			for _, in := range syn.Inputs {
				if !done[in.ID] {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			fired[i] = true
			progress = true
			done[syn.Action.ID] = true
			out = append(out, execLine(syn.Action))
		}
		if !progress {
			// A cycle would stall the transition; Pacemaker's graph never
			// has one, so fire the oldest waiting synapse and go on.
			stuck := -1
			for i := range g.Synapses {
				if !fired[i] {
					stuck = i
					break
				}
			}
			if stuck < 0 {
				break
			}
			fired[stuck] = true
			done[g.Synapses[stuck].Action.ID] = true
			out = append(out, execLine(g.Synapses[stuck].Action))
		}
	}
	return out
}

func execLine(a *GraphAction) string {
	switch {
	case a.Element == "pseudo_event":
		return "  * Pseudo action:   " + a.OperationKey
	case a.Operation == "stonith":
		act := a.attributes()["CRM_meta_stonith_action"]
		return fmt.Sprintf("  * Fencing %s (%s)", a.Node, act)
	case a.Operation == "do_shutdown":
		return "  * Cluster action:  do_shutdown on " + a.Node
	case a.Operation == "clear_failcount":
		return fmt.Sprintf("  * Cluster action:  clear_failcount for %s on %s", a.rscName, a.Node)
	}
	task := a.Operation
	id := a.RscID
	if a.RscLongID != "" {
		id = a.RscLongID
	}
	if a.rscName != "" {
		id = a.rscName
	}
	if a.Operation == "cancel" {
		task = "cancel=" + strconv.FormatInt(a.Interval, 10)
	} else if a.Interval > 0 {
		task = a.Operation + "=" + strconv.FormatInt(a.Interval, 10)
	}
	if a.Operation == "delete" || a.Operation == "lrm_delete" {
		task = "delete"
	}
	return fmt.Sprintf("  * Resource action: %-15s %s on %s", id, task, a.Node)
}

// ------------------------------------------------------------ status text

func (s *sched) rscAgent(r *Resource) string {
	if r.Provider != "" {
		return r.Class + ":" + r.Provider + ":" + r.Type
	}
	return r.Class + ":" + r.Type
}

func (s *sched) statusLines(revised bool, fenced map[*Node]bool) []string {
	var out []string
	out = append(out, "  * Node List:")
	var online, offline []string
	for _, n := range s.nodes {
		if revised && fenced[n] {
			offline = append(offline, n.Uname)
			continue
		}
		switch {
		case n.Unclean && !n.Online:
			out = append(out, "    * Node "+n.Uname+": UNCLEAN (offline)")
		case n.Unclean:
			out = append(out, "    * Node "+n.Uname+": UNCLEAN (online)")
		case n.Pending:
			out = append(out, "    * Node "+n.Uname+": pending")
		case n.Online && n.Standby:
			if len(n.running) > 0 && !revised {
				out = append(out, "    * Node "+n.Uname+": standby (with active resources)")
			} else {
				out = append(out, "    * Node "+n.Uname+": standby")
			}
		case n.Online && n.Maintenance:
			out = append(out, "    * Node "+n.Uname+": maintenance")
		case n.Online:
			online = append(online, n.Uname)
		default:
			offline = append(offline, n.Uname)
		}
	}
	if len(online) > 0 {
		out = append(out, "    * Online: [ "+strings.Join(online, " ")+" ]")
	}
	if len(offline) > 0 {
		out = append(out, "    * OFFLINE: [ "+strings.Join(offline, " ")+" ]")
	}
	out = append(out, "", "  * Full List of Resources:")
	var printRsc func(r *Resource, indent string)
	printRsc = func(r *Resource, indent string) {
		switch r.Variant {
		case VariantGroup:
			out = append(out, indent+"* Resource Group: "+r.ID+":")
			for _, c := range r.Children {
				printRsc(c, indent+"  ")
			}
			return
		case VariantClone:
			kind := "Clone Set"
			if r.Promotable {
				kind = "Clone Set"
			}
			sub := ""
			if len(r.Children) > 0 {
				c := r.Children[0]
				base := c.ID[:strings.LastIndex(c.ID, ":")]
				if c.isPrimitive() {
					sub = " [" + base + "]"
				} else {
					sub = " [" + base + "]"
				}
			}
			extra := ""
			if r.Promotable {
				extra = " (promotable)"
			}
			out = append(out, indent+"* "+kind+": "+r.ID+sub+extra+":")
			for _, c := range r.Children {
				printRsc(c, indent+"  ")
			}
			return
		}
		if r.Orphan && len(r.RunningOn) == 0 {
			return
		}
		state := "Stopped"
		nodes := ""
		if revised {
			if r.AssignedTo != nil && r.NextRole > RoleStopped {
				state = r.NextRole.String()
				nodes = " " + r.AssignedTo.Uname
			} else if !r.Managed && len(r.RunningOn) > 0 {
				state = r.Role.String()
				nodes = " " + r.RunningOn[0].Uname
			}
		} else if p := pendingState(r.pendingTask); len(r.RunningOn) == 0 && p != "" && r.pendingNode != nil {
			// not active, but an action is in flight there
			state = p
			nodes = " " + r.pendingNode.Uname
		} else if len(r.RunningOn) > 0 {
			state = r.Role.String()
			if r.Role == RoleStopped || r.Role == RoleUnknown {
				state = "Started"
			}
			var ns []string
			for _, n := range r.RunningOn {
				ns = append(ns, n.Uname)
			}
			if len(ns) > 1 {
				nodes = " [ " + strings.Join(ns, " ") + " ]"
			} else {
				nodes = " " + ns[0]
				if !ns0Online(r.RunningOn[0]) {
					nodes += " (UNCLEAN)"
				}
			}
			if r.Failed && !revised {
				state = "FAILED"
				if r.Role > RoleStarted {
					state = "FAILED " + r.Role.String()
				}
			} else if p := pendingState(r.pendingTask); p != "" {
				state = p
			}
		}
		flags := ""
		if !r.Managed {
			if r.Blocked {
				flags = " (blocked)"
			} else if r.Maintenance {
				flags = " (maintenance)"
			} else {
				flags = " (unmanaged)"
			}
		}
		if r.Orphan {
			flags += " (ORPHANED)"
		}
		out = append(out, fmt.Sprintf("%s* %s\t(%s):\t %s%s%s", indent, r.ID, s.rscAgent(r), state, nodes, flags))
	}
	for _, r := range s.resources {
		printRsc(r, "    ")
	}
	return out
}

// pendingState is how the status shows a resource with a pending action
// (Pacemaker's native_pending_state), "" for none.
func pendingState(task string) string {
	switch task {
	case "start":
		return "Starting"
	case "stop":
		return "Stopping"
	case "migrate_to", "migrate_from":
		return "Migrating"
	case "promote":
		return "Promoting"
	case "demote":
		return "Demoting"
	}
	return ""
}

func ns0Online(n *Node) bool { return n.Online || !n.Unclean }

func (s *sched) scoreLines() []string {
	out := append([]string(nil), s.scores...)
	sort.SliceStable(out, func(i, j int) bool { return false })
	return out
}
