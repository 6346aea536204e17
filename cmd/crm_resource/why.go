package main

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib/client"
	crmstatus "github.com/systole/systole/crm/status"
	"github.com/systole/systole/pengine"
)

// ownMeta returns the value of a meta attribute set on e itself.
func ownMeta(e *etree.Element, name string) (string, bool) {
	for _, set := range e.SelectElements("meta_attributes") {
		for _, nv := range set.SelectElements("nvpair") {
			if nv.SelectAttrValue("name", "") == name {
				return nv.SelectAttrValue("value", ""), true
			}
		}
	}
	return "", false
}

// checks are Pacemaker's cli_resource_check lines for the resource
// element e: target-role, unmanaged, migration threshold.
func checks(s *snapshot, e *etree.Element, rs *crmstatus.Resource) []string {
	var out []string
	for p := e; p != nil && resourceTags[p.Tag]; p = p.Parent() {
		id := p.SelectAttrValue("id", "")
		if v, ok := ownMeta(p, "target-role"); ok {
			switch strings.ToLower(v) {
			case "stopped":
				out = append(out, fmt.Sprintf("Configuration specifies '%s' should remain stopped", id))
			case "unpromoted", "slave":
				out = append(out, fmt.Sprintf("Configuration specifies '%s' should not be promoted", id))
			}
		}
	}
	if rs != nil && !rs.Managed {
		out = append(out, fmt.Sprintf("Configuration prevents cluster from stopping or starting unmanaged '%s'", e.SelectAttrValue("id", "")))
	}
	if rs != nil {
		for _, p := range rs.Primitives() {
			if p.MigrationThreshold <= 0 {
				continue
			}
			for _, n := range s.cluster.Nodes {
				if fc, _ := s.cluster.FailCount(p.ID, n.Name); fc >= p.MigrationThreshold {
					out = append(out, fmt.Sprintf("'%s' cannot run on '%s' due to reaching migration threshold (clean up resource to allow again)", p.BaseID(), n.Name))
				}
			}
		}
	}
	return dedup(out)
}

func dedup(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// family returns the ids a constraint may use to reach the resource: its
// own, its parents'.
func family(e *etree.Element) map[string]bool {
	ids := map[string]bool{}
	for p := e; p != nil && resourceTags[p.Tag]; p = p.Parent() {
		ids[p.SelectAttrValue("id", "")] = true
	}
	return ids
}

// locationText describes an rsc_location for -a and -Y.
func locationText(loc *etree.Element) string {
	id, rsc := loc.SelectAttrValue("id", ""), loc.SelectAttrValue("rsc", loc.SelectAttrValue("rsc-pattern", ""))
	role := ""
	if r := loc.SelectAttrValue("role", ""); r != "" && r != "Started" {
		role = ", role=" + r
	}
	if n := loc.SelectAttrValue("node", ""); n != "" {
		return fmt.Sprintf("Node %s (score=%s, id=%s, rsc=%s%s)", n, loc.SelectAttrValue("score", ""), id, rsc, role)
	}
	var parts []string
	for _, rule := range loc.SelectElements("rule") {
		node := ""
		for _, ex := range rule.SelectElements("expression") {
			if ex.SelectAttrValue("attribute", "") == "#uname" && ex.SelectAttrValue("operation", "") == "eq" {
				node = ex.SelectAttrValue("value", "")
			}
		}
		score := rule.SelectAttrValue("score", rule.SelectAttrValue("score-attribute", ""))
		until := ""
		for _, de := range rule.SelectElements("date_expression") {
			if de.SelectAttrValue("operation", "") == "lt" {
				until = ", until " + de.SelectAttrValue("end", "")
			}
		}
		if node != "" {
			parts = append(parts, fmt.Sprintf("Node %s (score=%s, id=%s, rsc=%s%s%s)", node, score, id, rsc, role, until))
		} else {
			parts = append(parts, fmt.Sprintf("Rule %s (score=%s, id=%s, rsc=%s%s%s)", rule.SelectAttrValue("id", ""), score, id, rsc, role, until))
		}
	}
	return strings.Join(parts, "; ")
}

// constraintLines lists the constraints naming the resource or a parent.
func constraintLines(s *snapshot, e *etree.Element) (locs, colocs, orders []string) {
	ids := family(e)
	cons := s.doc.FindElement("/cib/configuration/constraints")
	if cons == nil {
		return
	}
	for _, c := range cons.ChildElements() {
		id := c.SelectAttrValue("id", "")
		switch c.Tag {
		case "rsc_location":
			if ids[c.SelectAttrValue("rsc", "")] {
				locs = append(locs, locationText(c))
			}
		case "rsc_colocation":
			a, b := c.SelectAttrValue("rsc", ""), c.SelectAttrValue("with-rsc", "")
			if ids[a] || ids[b] {
				colocs = append(colocs, fmt.Sprintf("%s with %s (score=%s, id=%s)", a, b, c.SelectAttrValue("score", ""), id))
			}
		case "rsc_order":
			a, b := c.SelectAttrValue("first", ""), c.SelectAttrValue("then", "")
			if ids[a] || ids[b] {
				kind := c.SelectAttrValue("kind", "")
				if kind == "" {
					if sc := c.SelectAttrValue("score", ""); sc == "0" {
						kind = "Optional"
					} else {
						kind = "Mandatory"
					}
				}
				fa, ta := c.SelectAttrValue("first-action", "start"), c.SelectAttrValue("then-action", c.SelectAttrValue("first-action", "start"))
				orders = append(orders, fmt.Sprintf("%s %s then %s %s (kind=%s, id=%s)", fa, a, ta, b, kind, id))
			}
		}
	}
	return
}

func (r *runner) printList(title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(r.out, title+":")
	for _, it := range items {
		fmt.Fprintln(r.out, "  * "+it)
	}
}

// runConstraints is -a: the location and colocation constraints.
func (r *runner) runConstraints() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	locs, colocs, _ := constraintLines(s, e)
	r.printList("Locations", locs)
	r.printList("Colocations", colocs)
	if len(locs)+len(colocs) == 0 {
		r.infof("No constraints apply to %s", r.o.rsc)
	}
	return nil
}

// subjectOf returns the resource a score line is about:
// "pcmk__primitive_assign: d1 allocation score on n1: 100" -> d1.
func subjectOf(line string) string {
	_, rest, ok := strings.Cut(line, ": ")
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// runWhy is -Y: whether the resource runs, Pacemaker's checks, then the
// scheduler's allocation scores on each node, the constraints that touch
// it, node problems, and the actions the scheduler would take now.
func (r *runner) runWhy() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	if _, err := r.checkNode(s); err != nil {
		return err
	}
	if r.o.rsc == "" {
		for _, rs := range s.cluster.Resources {
			if rs.Orphaned {
				continue
			}
			e := s.rscElement(rs.ID)
			if r.o.node != "" {
				if activeCount(s.cluster, rs.ID, r.o.node) > 0 {
					fmt.Fprintf(r.out, "Resource %s is running on host %s\n", rs.ID, r.o.node)
				} else {
					fmt.Fprintf(r.out, "Resource %s is not running on host %s\n", rs.ID, r.o.node)
				}
			} else if rs.Active() {
				fmt.Fprintf(r.out, "Resource %s is running\n", rs.ID)
			} else {
				fmt.Fprintf(r.out, "Resource %s is not running\n", rs.ID)
			}
			if e != nil {
				for _, l := range checks(s, e, rs) {
					fmt.Fprintln(r.out, l)
				}
			}
		}
		return nil
	}
	e, rs, err := r.resource(s)
	if err != nil {
		return err
	}
	target := locateTarget(rs, r.o.rsc)
	running := activeCount(s.cluster, r.o.rsc, r.o.node) > 0
	switch {
	case r.o.node != "" && running:
		fmt.Fprintf(r.out, "Resource %s is running on host %s\n", r.o.rsc, r.o.node)
	case r.o.node != "":
		fmt.Fprintf(r.out, "Resource %s is not running on host %s\n", r.o.rsc, r.o.node)
	case running:
		names, _ := activeNodes(target)
		fmt.Fprintf(r.out, "Resource %s is running on host(s): %s\n", r.o.rsc, strings.Join(names, " "))
	default:
		fmt.Fprintf(r.out, "Resource %s is not running\n", r.o.rsc)
	}
	for _, l := range checks(s, e, target) {
		fmt.Fprintln(r.out, l)
	}

	cfg := pengine.DefaultConfig()
	cfg.Now = r.o.now().Unix()
	cfg.ShowScores = true
	res, err := pengine.ComputeDoc(s.doc, cfg)
	if err != nil {
		return fail(client.ExitError, "cannot compute placement: %v", err)
	}
	ids := family(e)
	for _, p := range primitiveIDs(e) {
		ids[p] = true
	}
	var scores, all []string
	for _, l := range res.Scores {
		sub := subjectOf(l)
		if ids[sub] || ids[baseID(sub)] {
			all = append(all, l)
			if r.o.node == "" || strings.Contains(l, " on "+r.o.node+":") {
				scores = append(scores, l)
			}
		}
	}
	r.printList("Allocation scores", scores)
	locs, colocs, orders := constraintLines(s, e)
	r.printList("Locations", locs)
	r.printList("Colocations", colocs)
	r.printList("Orders", orders)

	var reasons []string
	if !running {
		if s.cluster.StopAll {
			reasons = append(reasons, "The cluster property stop-all-resources is true")
		}
		if s.cluster.MaintenanceMode {
			reasons = append(reasons, "The cluster is in maintenance mode")
		}
		if !s.cluster.Quorum && s.cluster.NoQuorumPolicy == "stop" {
			reasons = append(reasons, "The partition has no quorum (no-quorum-policy=stop)")
		}
		allowed := 0
		for _, n := range s.cluster.Nodes {
			if r.o.node != "" && n.Name != r.o.node {
				continue
			}
			switch {
			case !n.Online:
				reasons = append(reasons, fmt.Sprintf("Node %s is offline", n.Name))
			case n.Standby:
				reasons = append(reasons, fmt.Sprintf("Node %s is in standby", n.Name))
			case n.Maintenance:
				reasons = append(reasons, fmt.Sprintf("Node %s is in maintenance", n.Name))
			default:
				ok := false
				for _, l := range all {
					if strings.Contains(l, " on "+n.Name+": ") && !strings.HasSuffix(l, ": -INFINITY") {
						ok = true
					}
				}
				if ok {
					allowed++
				} else if len(all) > 0 {
					reasons = append(reasons, fmt.Sprintf("'%s' cannot run on %s: its allocation score there is -INFINITY", r.o.rsc, n.Name))
				}
			}
		}
		if allowed == 0 && r.o.node == "" {
			reasons = append(reasons, fmt.Sprintf("No node is available to run '%s'", r.o.rsc))
		}
	}
	r.printList("Why not running", reasons)

	var actions []string
	for _, l := range res.Summary {
		for _, f := range strings.Fields(l) {
			if ids[f] || ids[baseID(f)] {
				actions = append(actions, strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "* ")), " "))
				break
			}
		}
	}
	r.printList("Pending actions", actions)
	return nil
}
