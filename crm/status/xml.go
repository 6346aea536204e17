package status

import (
	"strconv"

	"github.com/beevik/etree"
)

// APIVersion is the api-version crm_mon's XML carries (Pacemaker 2.1.5's).
const APIVersion = "2.25"

func yes(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// XML renders the state as crm_mon --output-as=xml does (Pacemaker 2.1's
// <pacemaker-result> shape): summary, nodes, resources (inactive ones
// included), node_attributes, node_history with timing, failures and
// fence_history (Options.Fencing, reduced by Options.FenceLevel), then
// <status code="0" message="OK"/>. Options only set the request, the
// time zone and the last-updated time: the XML always has every section,
// as Pacemaker's does.
func (c *Cluster) XML(o Options) []byte {
	doc := etree.NewDocument()
	root := doc.CreateElement("pacemaker-result")
	root.CreateAttr("api-version", APIVersion)
	root.CreateAttr("request", o.Request)
	c.xmlSummary(root, o)
	c.xmlNodes(root)
	rs := root.CreateElement("resources")
	for _, r := range c.Resources {
		c.xmlResource(rs, r)
	}
	c.xmlAttributes(root)
	c.xmlHistory(root, o)
	if len(c.Failures) > 0 {
		fs := root.CreateElement("failures")
		for _, f := range c.Failures {
			c.xmlFailure(fs, f, o)
		}
	}
	c.xmlFencing(root.CreateElement("fence_history"), o)
	st := root.CreateElement("status")
	st.CreateAttr("code", "0")
	st.CreateAttr("message", "OK")
	doc.Indent(2)
	b, _ := doc.WriteToBytes()
	return b
}

func attrs(e *etree.Element, kv ...string) *etree.Element {
	for i := 0; i+1 < len(kv); i += 2 {
		e.CreateAttr(kv[i], kv[i+1])
	}
	return e
}

func (c *Cluster) xmlSummary(root *etree.Element, o Options) {
	loc := o.loc()
	s := root.CreateElement("summary")
	attrs(s.CreateElement("stack"), "type", c.Stack)
	dc := s.CreateElement("current_dc")
	if c.DC != nil {
		v := c.DCVersion
		attrs(dc, "present", "true")
		if v != "" {
			attrs(dc, "version", v)
		}
		attrs(dc, "name", c.DC.Name, "id", c.DC.ID, "with_quorum", yes(c.Quorum), "mixed_version", "false")
	} else {
		attrs(dc, "present", "false")
	}
	upd := o.LastUpdated
	if upd == 0 {
		upd = c.Now
	}
	attrs(s.CreateElement("last_update"), "time", ctime(upd, loc))
	lc := attrs(s.CreateElement("last_change"), "time", c.LastWritten)
	if c.UpdateUser != "" {
		attrs(lc, "user", c.UpdateUser)
	}
	if c.UpdateClient != "" {
		attrs(lc, "client", c.UpdateClient)
	}
	if c.UpdateOrigin != "" {
		attrs(lc, "origin", c.UpdateOrigin)
	}
	attrs(s.CreateElement("nodes_configured"), "number", strconv.Itoa(len(c.Nodes)))
	total, disabled, blocked := c.counts()
	attrs(s.CreateElement("resources_configured"), "number", strconv.Itoa(total),
		"disabled", strconv.Itoa(disabled), "blocked", strconv.Itoa(blocked))
	stonithTimeout := "60000"
	if v, ok := c.Options["stonith-timeout"]; ok {
		if ms, ok := intervalMS(v); ok {
			stonithTimeout = strconv.FormatInt(ms, 10)
		}
	}
	pfd := "0"
	if v, ok := c.Options["priority-fencing-delay"]; ok {
		if ms, ok := intervalMS(v); ok {
			pfd = strconv.FormatInt(ms, 10)
		}
	}
	attrs(s.CreateElement("cluster_options"), "stonith-enabled", yes(c.FencingEnabled),
		"symmetric-cluster", yes(c.Symmetric), "no-quorum-policy", c.NoQuorumPolicy,
		"maintenance-mode", yes(c.MaintenanceMode), "stop-all-resources", yes(c.StopAll),
		"stonith-timeout-ms", stonithTimeout, "priority-fencing-delay-ms", pfd)
}

// intervalMS parses a Pacemaker interval ("60s", "1m", "5000ms", "90").
func intervalMS(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	i := 0
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	switch v[i:] {
	case "", "s", "sec":
		return n * 1000, true
	case "ms", "msec":
		return n, true
	case "m", "min":
		return n * 60000, true
	case "h", "hr":
		return n * 3600000, true
	}
	return 0, false
}

func health(n *Node) string {
	h := "green"
	for k, v := range n.Attributes {
		if len(k) > 7 && k[:7] == "#health" {
			switch v {
			case "red", "-INFINITY":
				return "red"
			case "yellow":
				h = "yellow"
			}
		}
	}
	return h
}

func (c *Cluster) xmlNodes(root *etree.Element) {
	ns := root.CreateElement("nodes")
	for _, n := range c.Nodes {
		e := attrs(ns.CreateElement("node"), "name", n.Name, "id", n.ID, "online", yes(n.Online),
			"standby", yes(n.Standby), "standby_onfail", yes(n.StandbyOnFail), "maintenance", yes(n.Maintenance),
			"pending", yes(n.Pending), "unclean", yes(n.Unclean), "health", health(n))
		if n.FeatureSet != "" {
			attrs(e, "feature_set", n.FeatureSet)
		}
		attrs(e, "shutdown", yes(n.Shutdown), "expected_up", yes(n.ExpectedUp), "is_dc", yes(n.IsDC),
			"resources_running", strconv.Itoa(len(n.Running)), "type", n.Type)
	}
}

func (c *Cluster) xmlResource(parent *etree.Element, r *Resource) {
	switch r.Kind {
	case KindGroup:
		g := attrs(parent.CreateElement("group"), "id", r.ID, "number_resources", strconv.Itoa(len(r.Children)),
			"managed", yes(r.Managed), "disabled", yes(r.Disabled))
		for _, ch := range r.Children {
			c.xmlResource(g, ch)
		}
		return
	case KindClone:
		cl := attrs(parent.CreateElement("clone"), "id", r.ID, "multi_state", yes(r.Promotable), "unique", yes(r.Unique),
			"maintenance", yes(r.Maintenance), "managed", yes(r.Managed), "disabled", yes(r.Disabled),
			"failed", yes(r.Failed), "failure_ignored", yes(r.FailureIgnored))
		if r.TargetRole != "" {
			attrs(cl, "target_role", r.TargetRole)
		}
		for _, ch := range r.Children {
			if ch.Orphaned && !ch.Active() {
				continue
			}
			c.xmlResource(cl, ch)
		}
		return
	}
	if r.Orphaned && !r.Active() {
		return
	}
	e := attrs(parent.CreateElement("resource"), "id", r.PrintableID(), "resource_agent", r.Agent(), "role", string(r.Role))
	if r.TargetRole != "" {
		attrs(e, "target_role", r.TargetRole)
	}
	attrs(e, "active", yes(r.Active()), "orphaned", yes(r.Orphaned), "blocked", yes(r.Blocked),
		"managed", yes(r.Managed), "failed", yes(r.Failed), "failure_ignored", yes(r.FailureIgnored),
		"nodes_running_on", strconv.Itoa(len(r.Nodes)))
	for _, n := range r.Nodes {
		attrs(e.CreateElement("node"), "name", n.Name, "id", n.ID, "cached", "true")
	}
}

func (c *Cluster) xmlAttributes(root *etree.Element) {
	var na *etree.Element
	for _, n := range c.Nodes {
		if !n.Online {
			continue
		}
		names := visibleAttrs(n)
		if len(names) == 0 {
			continue
		}
		if na == nil {
			na = root.CreateElement("node_attributes")
		}
		ne := attrs(na.CreateElement("node"), "name", n.Name)
		for _, k := range names {
			attrs(ne.CreateElement("attribute"), "name", k, "value", n.Attributes[k])
		}
	}
}

func (c *Cluster) xmlHistory(root *etree.Element, o Options) {
	loc := o.loc()
	var nh *etree.Element
	for _, n := range c.statusOrder() {
		var ne *etree.Element
		for _, h := range n.History {
			ops := shownOps(h)
			if len(ops) == 0 {
				continue
			}
			if nh == nil {
				nh = root.CreateElement("node_history")
			}
			if ne == nil {
				ne = attrs(nh.CreateElement("node"), "name", n.Name)
			}
			he := attrs(ne.CreateElement("resource_history"), "id", h.ID, "orphan", yes(h.Orphan))
			if h.Resource != nil {
				attrs(he, "migration-threshold", strconv.Itoa(h.MigrationThreshold))
				if h.FailCount > 0 {
					attrs(he, "fail-count", strconv.Itoa(h.FailCount))
				}
				if h.LastFailure > 0 {
					attrs(he, "last-failure", ctime(h.LastFailure, loc))
				}
			}
			for _, op := range ops {
				oe := attrs(he.CreateElement("operation_history"), "call", strconv.Itoa(op.CallID), "task", opTask(op),
					"rc", strconv.Itoa(op.RC), "rc_text", RCText(op.RC))
				if op.Interval > 0 {
					attrs(oe, "interval", strconv.FormatInt(op.Interval, 10)+"ms")
				}
				if op.LastRCChange > 0 {
					attrs(oe, "last-rc-change", ctime(op.LastRCChange, loc))
				}
				attrs(oe, "exec-time", strconv.FormatInt(op.ExecTime, 10)+"ms",
					"queue-time", strconv.FormatInt(op.QueueTime, 10)+"ms")
			}
		}
	}
}

func (c *Cluster) xmlFailure(parent *etree.Element, f *Op, o Options) {
	e := attrs(parent.CreateElement("failure"), "op_key", f.Key, "node", f.Node, "exitstatus", RCText(f.RC),
		"exitreason", f.ExitReason, "exitcode", strconv.Itoa(f.RC), "call", strconv.Itoa(f.CallID),
		"status", ExecStatusText(f.Status))
	if f.LastRCChange > 0 {
		attrs(e, "last-rc-change", isoTime(f.LastRCChange, o.loc()))
	}
	attrs(e, "queued", strconv.FormatInt(f.QueueTime, 10), "exec", strconv.FormatInt(f.ExecTime, 10),
		"interval", strconv.FormatInt(f.Interval, 10), "task", f.Task)
}
