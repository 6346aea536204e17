package status

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options select what Text and XML show; the fields are crm_mon's flags.
type Options struct {
	Inactive       bool // -r: inactive resources too
	FailCounts     bool // -f: the Migration Summary (fail counts)
	NodeAttributes bool // -A: node attributes
	GroupByNode    bool // -n: resources under the node they run on
	Operations     bool // -o: operation history
	// FenceLevel is --fence-history's level (FenceLevel*): which of
	// Fencing is shown.
	FenceLevel int
	Timing     bool // -t: timing details in the operation history
	// LastUpdated is the time shown as "Last updated" (seconds since the
	// epoch); 0 shows the cluster's Now.
	LastUpdated int64
	// Location is the time zone times are printed in (nil = UTC).
	Location *time.Location
	// Fencing is stonithd's history (live only; empty offline).
	Fencing []FenceEvent
	// FenceError, when set, is shown instead of the fencing history
	// (stonithd could not be asked).
	FenceError string
	// Request is recorded as the XML's request attribute (the command line).
	Request string
}

func (o Options) loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// ctime formats t like C's ctime() without the newline, as Pacemaker's
// pcmk__epoch2str(t, 0): "Sun Nov 22 04:47:15 2026".
func ctime(t int64, loc *time.Location) string {
	return time.Unix(t, 0).In(loc).Format("Mon Jan _2 15:04:05 2006")
}

// isoTime formats t as Pacemaker's log date with time zone:
// "2026-11-22 04:47:07Z".
func isoTime(t int64, loc *time.Location) string {
	return time.Unix(t, 0).In(loc).Format("2006-01-02 15:04:05Z07:00")
}

// ReadableInterval formats milliseconds as Pacemaker's
// pcmk__readable_interval: "10s", "1m30s", "1.5s", "500ms".
func ReadableInterval(ms int64) string {
	if ms <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		ms   int64
		name string
	}{{86400000, "d"}, {3600000, "h"}, {60000, "m"}}
	for _, u := range units {
		if ms >= u.ms {
			fmt.Fprintf(&b, "%d%s", ms/u.ms, u.name)
			ms %= u.ms
		}
	}
	if ms >= 1000 {
		s := ms / 1000
		frac := ms % 1000
		if frac == 0 {
			fmt.Fprintf(&b, "%ds", s)
		} else {
			fs := strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
			fmt.Fprintf(&b, "%d.%ss", s, fs)
		}
	} else if ms > 0 {
		fmt.Fprintf(&b, "%dms", ms)
	}
	return b.String()
}

// RCText returns Pacemaker's name for an OCF exit code
// (services_ocf_exitcode_str).
func RCText(rc int) string {
	switch rc {
	case 0:
		return "ok"
	case 1:
		return "error"
	case 2:
		return "invalid parameter"
	case 3:
		return "unimplemented feature"
	case 4:
		return "insufficient privileges"
	case 5:
		return "not installed"
	case 6:
		return "not configured"
	case 7:
		return "not running"
	case 8:
		return "promoted"
	case 9:
		return "promoted (failed)"
	case 190:
		return "degraded"
	case 191:
		return "promoted (degraded)"
	}
	return "unknown"
}

// ExecStatusText returns Pacemaker's name for an op-status
// (pcmk_exec_status_str).
func ExecStatusText(st int) string {
	switch st {
	case -1:
		return "pending"
	case 0:
		return "complete"
	case 1:
		return "Cancelled"
	case 2:
		return "Timed Out"
	case 3:
		return "NOT SUPPORTED"
	case 4:
		return "Error"
	case 5:
		return "Hard error"
	case 6:
		return "Fatal error"
	case 7:
		return "Not installed"
	case 8:
		return "Internal communication failure"
	case 9:
		return "Cannot execute now"
	case 10:
		return "No fence device"
	case 11:
		return "CIB secrets unavailable"
	}
	return "UNKNOWN"
}

// nodeStateText is the word(s) crm_mon uses for a node's state.
func nodeStateText(n *Node) string {
	switch {
	case n.Unclean && n.Online:
		return "UNCLEAN (online)"
	case n.Unclean && n.Pending:
		return "UNCLEAN (pending)"
	case n.Unclean:
		return "UNCLEAN (offline)"
	case n.Pending:
		return "pending"
	case n.Online && n.StandbyOnFail:
		return "standby (on-fail)"
	case n.Online && n.Standby:
		if len(n.Running) > 0 {
			return "standby (with active resources)"
		}
		return "standby"
	case n.Online && n.Maintenance:
		return "maintenance"
	case n.Online:
		return "online"
	}
	return "OFFLINE"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// counts returns the number of configured resource instances, and how many
// are disabled and blocked.
func (c *Cluster) counts() (total, disabled, blocked int) {
	var walk func(r *Resource)
	walk = func(r *Resource) {
		if r.Kind == KindPrimitive {
			if r.Orphaned {
				return
			}
			total++
			if r.Disabled {
				disabled++
			}
			if r.Blocked {
				blocked++
			}
			return
		}
		for _, ch := range r.Children {
			walk(ch)
		}
	}
	for _, r := range c.Resources {
		walk(r)
	}
	return
}

// Text renders the state as crm_mon -1 prints it (Pacemaker 2.1's text
// format).
func (c *Cluster) Text(o Options) string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	loc := o.loc()
	add("Cluster Summary:")
	add("  * Stack: " + c.Stack)
	if c.DC != nil {
		v := c.DCVersion
		if v == "" {
			v = "unknown"
		}
		with := "WITHOUT"
		if c.Quorum {
			with = "with"
		}
		add(fmt.Sprintf("  * Current DC: %s (version %s) - partition %s quorum", c.DC.Name, v, with))
	} else {
		add("  * Current DC: NONE")
	}
	upd := o.LastUpdated
	if upd == 0 {
		upd = c.Now
	}
	add("  * Last updated: " + ctime(upd, loc))
	add("  * Last change:  " + c.lastChange())
	add(fmt.Sprintf("  * %d %s configured", len(c.Nodes), plural(len(c.Nodes), "node", "nodes")))
	total, disabled, blocked := c.counts()
	line := fmt.Sprintf("  * %d %s configured", total, plural(total, "resource instance", "resource instances"))
	if disabled > 0 {
		line += fmt.Sprintf(" (%d DISABLED)", disabled)
	}
	if blocked > 0 {
		line += fmt.Sprintf(" (%d BLOCKED from further action due to failure)", blocked)
	}
	add(line)
	if c.MaintenanceMode {
		add("", "              *** Resource management is DISABLED ***",
			"  The cluster will not attempt to start, stop or recover services")
	} else if c.StopAll {
		add("", "    *** Resource management is DISABLED ***",
			"  The cluster will keep all resources stopped")
	}

	add("", "Node List:")
	if o.GroupByNode {
		for _, n := range c.Nodes {
			rl := c.nodeResourceLines(n, "      ")
			if len(rl) == 0 {
				add(fmt.Sprintf("  * Node %s: %s", n.Name, nodeStateText(n)))
				continue
			}
			add(fmt.Sprintf("  * Node %s: %s:", n.Name, nodeStateText(n)), "    * Resources:")
			add(rl...)
		}
	} else {
		var online, offline []string
		for _, n := range c.Nodes {
			st := nodeStateText(n)
			switch st {
			case "online":
				online = append(online, n.Name)
			case "OFFLINE":
				offline = append(offline, n.Name)
			default:
				add(fmt.Sprintf("  * Node %s: %s", n.Name, st))
			}
		}
		if len(online) > 0 {
			add("  * Online: [ " + strings.Join(online, " ") + " ]")
		}
		if len(offline) > 0 {
			add("  * OFFLINE: [ " + strings.Join(offline, " ") + " ]")
		}
	}

	if o.GroupByNode {
		if o.Inactive {
			add("", "Inactive Resources:")
			lines := c.inactiveLines()
			if len(lines) == 0 {
				lines = []string{"  * No inactive resources"}
			}
			add(lines...)
		}
	} else {
		if o.Inactive {
			add("", "Full List of Resources:")
		} else {
			add("", "Active Resources:")
		}
		lines := c.ResourceLines(o.Inactive)
		if len(lines) == 0 {
			if o.Inactive {
				lines = []string{"  * No resources"}
			} else {
				lines = []string{"  * No active resources"}
			}
		}
		add(lines...)
	}

	if o.FailCounts || o.Operations {
		if o.Operations {
			add("", "Operations:")
		} else {
			add("", "Migration Summary:")
		}
		add(c.historyLines(o)...)
	}

	if o.NodeAttributes {
		if lines := c.attributeLines(); len(lines) > 0 {
			add("", "Node Attributes:")
			add(lines...)
		}
	}

	if len(c.Failures) > 0 {
		add("", "Failed Resource Actions:")
		for _, f := range c.Failures {
			add("  * " + failureText(f, loc))
		}
	}

	add(c.fencingLines(o)...)
	return strings.Join(out, "\n") + "\n"
}

func (c *Cluster) lastChange() string {
	s := c.LastWritten
	if c.UpdateUser != "" {
		s += " by " + c.UpdateUser
	}
	if c.UpdateClient != "" {
		s += " via " + c.UpdateClient
	}
	if c.UpdateOrigin != "" {
		s += " on " + c.UpdateOrigin
	}
	return s
}

// ResourceLines returns the resource list as crm_mon prints it under
// "Full List of Resources:" (inactive true) or "Active Resources:", one
// line per entry with the two-space, "* " indentation crm_mon and
// crm_resource -L use. It is empty when there is nothing to show.
func (c *Cluster) ResourceLines(inactive bool) []string {
	var out []string
	for _, r := range c.Resources {
		out = append(out, c.rscLines(r, "  ", inactive)...)
	}
	return out
}

func (c *Cluster) inactiveLines() []string {
	var out []string
	for _, r := range c.Resources {
		if r.Active() {
			continue
		}
		out = append(out, c.rscLines(r, "  ", true)...)
	}
	return out
}

func (c *Cluster) rscLines(r *Resource, indent string, inactive bool) []string {
	switch r.Kind {
	case KindGroup:
		return c.groupLines(r, indent, inactive)
	case KindClone:
		return c.cloneLines(r, indent, inactive)
	}
	if !r.Active() && (!inactive || r.Orphaned) {
		return nil
	}
	return []string{indent + "* " + primitiveText(r, true)}
}

func (c *Cluster) groupLines(r *Resource, indent string, inactive bool) []string {
	if !r.Active() && !inactive {
		return nil
	}
	head := indent + "* Resource Group: " + r.ID
	if !r.Managed {
		if r.Maintenance {
			head += " (maintenance)"
		} else {
			head += " (unmanaged)"
		}
	}
	if r.Disabled {
		head += " (disabled)"
	}
	out := []string{head + ":"}
	for _, ch := range r.Children {
		out = append(out, c.rscLines(ch, indent+"  ", inactive)...)
	}
	return out
}

// collapsible reports whether a clone instance can be summarised as
// "Role: [ nodes ]": active on one node, every member in the same role,
// nothing failed or unmanaged.
func collapsible(inst *Resource) (Role, *Node, bool) {
	if len(inst.Nodes) != 1 || inst.Orphaned {
		return "", nil, false
	}
	var role Role
	for _, p := range inst.Primitives() {
		if p.Failed || !p.Managed || p.Orphaned || len(p.Nodes) != 1 || p.Nodes[0] != inst.Nodes[0] {
			return "", nil, false
		}
		if role == "" {
			role = p.Role
		} else if role != p.Role {
			return "", nil, false
		}
	}
	return role, inst.Nodes[0], true
}

func (c *Cluster) cloneLines(r *Resource, indent string, inactive bool) []string {
	if !r.Active() && !inactive {
		return nil
	}
	base := ""
	if len(r.Children) > 0 {
		base = r.Children[0].BaseID()
	}
	head := indent + "* Clone Set: " + r.ID + " [" + base + "]"
	if r.Promotable {
		head += " (promotable)"
	}
	if r.Unique {
		head += " (unique)"
	}
	if !r.Managed {
		if r.Maintenance {
			head += " (maintenance)"
		} else {
			head += " (unmanaged)"
		}
	}
	if r.Disabled {
		head += " (disabled)"
	}
	out := []string{head + ":"}
	sub := indent + "  "
	if r.Unique {
		for _, ch := range r.Children {
			out = append(out, c.rscLines(ch, sub, inactive)...)
		}
		return out
	}
	lists := map[Role][]string{}
	hosting := map[*Node]bool{}
	for _, ch := range r.Children {
		for _, n := range ch.Nodes {
			hosting[n] = true
		}
		if !ch.Active() {
			continue
		}
		if role, n, ok := collapsible(ch); ok {
			lists[role] = append(lists[role], n.Name)
			continue
		}
		out = append(out, c.rscLines(ch, sub, inactive)...)
	}
	for _, role := range []Role{RolePromoted, RoleUnpromoted, RoleStarted} {
		if ns := lists[role]; len(ns) > 0 {
			sortNatural(ns)
			out = append(out, sub+"* "+string(role)+": [ "+strings.Join(ns, " ")+" ]")
		}
	}
	if inactive {
		var stopped []string
		for _, n := range c.Nodes {
			if !hosting[n] {
				stopped = append(stopped, n.Name)
			}
		}
		if len(stopped) > 0 {
			word := "Stopped"
			if r.Disabled {
				word = "Stopped (disabled)"
			}
			out = append(out, sub+"* "+word+": [ "+strings.Join(stopped, " ")+" ]")
		}
	}
	return out
}

// primitiveText is a primitive's crm_mon line without indentation:
// "id\t(agent):\t Started n1 (flags)".
func primitiveText(r *Resource, withNodes bool) string {
	var b strings.Builder
	b.WriteString(r.PrintableID() + "\t(" + r.Agent() + "):\t")
	if r.Orphaned {
		b.WriteString(" ORPHANED")
	}
	if r.Failed && r.Active() {
		b.WriteString(" FAILED")
		if r.Role == RolePromoted {
			b.WriteString(" Promoted")
		}
	} else {
		b.WriteString(" " + string(r.Role))
	}
	var flags []string
	if withNodes && len(r.Nodes) > 0 {
		if len(r.Nodes) > 1 {
			b.WriteString(" [ " + strings.Join(r.NodeNames(), " ") + " ]")
		} else {
			b.WriteString(" " + r.Nodes[0].Name)
			if !r.Nodes[0].Online && r.Nodes[0].Unclean {
				flags = append(flags, "UNCLEAN")
			}
		}
	}
	if r.Disabled {
		flags = append(flags, "disabled")
	} else if r.Promotable && strings.EqualFold(r.TargetRole, "unpromoted") {
		flags = append(flags, "target-role:"+r.TargetRole)
	}
	switch {
	case r.Blocked:
		flags = append(flags, "blocked")
	case r.Maintenance:
		flags = append(flags, "maintenance")
	case !r.Managed:
		flags = append(flags, "unmanaged")
	}
	if r.FailureIgnored {
		flags = append(flags, "failure ignored")
	}
	if len(flags) > 0 {
		b.WriteString(" (" + strings.Join(flags, ", ") + ")")
	}
	return b.String()
}

// PrimitiveText returns a primitive's crm_mon line without indentation or
// bullet: "d1\t(ocf:heartbeat:Dummy):\t Started n1".
func PrimitiveText(r *Resource) string { return primitiveText(r, true) }

func (c *Cluster) nodeResourceLines(n *Node, indent string) []string {
	var out []string
	for _, r := range n.Running {
		out = append(out, indent+"* "+primitiveText(r, false))
	}
	return out
}

// hiddenAttr reports attributes crm_mon -A does not list.
func hiddenAttr(name string) bool {
	return strings.HasPrefix(name, "#") || strings.HasPrefix(name, "fail-count-") ||
		strings.HasPrefix(name, "last-failure-") || name == "shutdown" || name == "terminate" ||
		name == "standby"
}

func (c *Cluster) attributeLines() []string {
	var out []string
	for _, n := range c.Nodes {
		if !n.Online {
			continue
		}
		names := visibleAttrs(n)
		if len(names) == 0 {
			continue
		}
		out = append(out, "  * Node: "+n.Name+":")
		for _, k := range names {
			out = append(out, fmt.Sprintf("    * %-32s\t: %-10s", k, n.Attributes[k]))
		}
	}
	return out
}

func visibleAttrs(n *Node) []string {
	var names []string
	for k := range n.Attributes {
		if !hiddenAttr(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// statusOrder returns the nodes with a node_state in the order the status
// section lists them.
func (c *Cluster) statusOrder() []*Node { return c.order }

// shownOps is the operation list crm_mon shows for a history entry:
// notifications, probes that found nothing and the repeated last-failure
// record left out, by call id.
func shownOps(h *ResourceHistory) []*Op {
	var out []*Op
	seen := map[string]bool{}
	for _, op := range h.Ops {
		// RSC_last_failure_0 repeats the entry it recorded
		k := strconv.Itoa(op.CallID) + "\x00" + op.Key
		if seen[k] {
			continue
		}
		seen[k] = true
		if op.Task == "notify" {
			continue
		}
		if op.Task == "monitor" && op.Interval == 0 && op.RC == 7 {
			continue
		}
		out = append(out, op)
	}
	return out
}

func opTask(op *Op) string {
	if op.Task == "monitor" && op.Interval == 0 {
		return "probe"
	}
	return op.Task
}

func (h *ResourceHistory) header(loc *time.Location) string {
	if h.Resource == nil {
		return h.ID + ": orphan"
	}
	s := fmt.Sprintf("%s: migration-threshold=%d", h.ID, h.MigrationThreshold)
	if h.FailCount > 0 {
		s += fmt.Sprintf(" fail-count=%d", h.FailCount)
	}
	if h.LastFailure > 0 {
		s += fmt.Sprintf(" last-failure='%s'", ctime(h.LastFailure, loc))
	}
	return s
}

func (c *Cluster) historyLines(o Options) []string {
	loc := o.loc()
	var out []string
	for _, n := range c.statusOrder() {
		var lines []string
		for _, h := range n.History {
			if !o.Operations {
				if h.FailCount <= 0 {
					continue
				}
				lines = append(lines, "    * "+h.header(loc))
				continue
			}
			ops := shownOps(h)
			if len(ops) == 0 {
				continue
			}
			lines = append(lines, "    * "+h.header(loc)+":")
			for _, op := range ops {
				s := fmt.Sprintf("(%d) %s", op.CallID, opTask(op))
				if op.Interval > 0 {
					s += fmt.Sprintf(": interval=\"%dms\"", op.Interval)
				}
				if o.Timing {
					if op.Interval == 0 {
						s += ":"
					}
					if op.LastRCChange > 0 {
						s += fmt.Sprintf(" last-rc-change='%s'", ctime(op.LastRCChange, loc))
					}
					s += fmt.Sprintf(" exec-time=%dms queue-time=%dms rc=%d (%s)", op.ExecTime, op.QueueTime, op.RC, RCText(op.RC))
				}
				lines = append(lines, "      * "+s)
			}
		}
		if len(lines) > 0 {
			out = append(out, "  * Node: "+n.Name+":")
			out = append(out, lines...)
		}
	}
	return out
}

// failureText is a Failed Resource Actions line in Pacemaker 2.1's
// friendly form.
func failureText(f *Op, loc *time.Location) string {
	rsc, task, interval := f.Resource, f.Task, f.Interval
	if r, t, iv, ok := parseOpKey(f.Key); ok {
		rsc, task, interval = r, t, iv
	}
	s := rsc + " "
	if interval > 0 {
		s += ReadableInterval(interval) + "-interval "
	}
	if task == "monitor" && interval == 0 {
		task = "probe"
	}
	s += task + " on " + f.Node
	if f.Status == 0 {
		s += " returned '" + RCText(f.RC) + "'"
		if f.ExitReason != "" {
			s += " (" + f.ExitReason + ")"
		}
	} else {
		s += " could not be executed (" + ExecStatusText(f.Status)
		if f.ExitReason != "" {
			s += ": " + f.ExitReason
		}
		s += ")"
	}
	if f.LastRCChange > 0 {
		s += " at " + ctime(f.LastRCChange, loc)
	}
	if f.ExecTime > 0 {
		s += " after " + ReadableInterval(f.ExecTime)
	}
	return s
}

// parseOpKey splits "rsc_task_interval" (rsc may contain '_').
func parseOpKey(key string) (rsc, task string, interval int64, ok bool) {
	i := strings.LastIndexByte(key, '_')
	if i <= 0 {
		return "", "", 0, false
	}
	iv, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	rest := key[:i]
	for _, t := range []string{"migrate_to", "migrate_from", "monitor", "start", "stop", "promote", "demote", "notify", "reload-agent", "reload", "meta-data", "validate-all"} {
		if strings.HasSuffix(rest, "_"+t) {
			return rest[:len(rest)-len(t)-1], t, iv, true
		}
	}
	j := strings.LastIndexByte(rest, '_')
	if j <= 0 {
		return "", "", 0, false
	}
	return rest[:j], rest[j+1:], iv, true
}

func sortNatural(ss []string) {
	sort.SliceStable(ss, func(i, j int) bool { return naturalLess(ss[i], ss[j]) })
}

// naturalLess compares case-insensitively with digit runs as numbers.
func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si := i
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			sj := j
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, _ := strconv.ParseInt(a[si:i], 10, 64)
			nb, _ := strconv.ParseInt(b[sj:j], 10, 64)
			if na != nb {
				return na < nb
			}
			continue
		}
		la, lb := lower(ca), lower(cb)
		if la != lb {
			return la < lb
		}
		i++
		j++
	}
	return len(a)-i < len(b)-j
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// NaturalLess orders node and resource names as Pacemaker does:
// case-insensitively, with digit runs compared as numbers (n2 < n10).
func NaturalLess(a, b string) bool { return naturalLess(a, b) }
