package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
	crmstatus "github.com/systole/systole/crm/status"
	"github.com/systole/systole/pengine"
)

// Pacemaker's names for the constraints -M and -B create.
func preferID(rsc string) string    { return "cli-prefer-" + rsc }
func banID(rsc, node string) string { return "cli-ban-" + rsc + "-on-" + node }
func banPrefix(rsc string) string   { return "cli-ban-" + rsc + "-on-" }
func promotedRole() string          { return "Promoted" }
func xpathID(tag, id string) string { return "//" + tag + "[@id='" + id + "']" }
func constraintsOf(s *snapshot) []*etree.Element {
	return s.doc.FindElements("/cib/configuration/constraints/rsc_location")
}

// parseDuration reads an ISO 8601 duration (P1Y2M3W4DT5H6M7S) and adds
// it to now with calendar arithmetic, as Pacemaker's crm_time does.
func addISODuration(now time.Time, s string) (time.Time, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) < 2 || u[0] != 'P' {
		return now, false
	}
	rest := u[1:]
	inTime, any := false, false
	var y, mo, d int
	var secs int64
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return now, false
			}
			inTime = true
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return now, false
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil {
			return now, false
		}
		switch c := rest[i]; {
		case !inTime && c == 'Y':
			y += n
		case !inTime && c == 'M':
			mo += n
		case !inTime && c == 'W':
			d += 7 * n
		case !inTime && c == 'D':
			d += n
		case inTime && c == 'H':
			secs += int64(n) * 3600
		case inTime && c == 'M':
			secs += int64(n) * 60
		case inTime && c == 'S':
			secs += int64(n)
		default:
			return now, false
		}
		any = true
		rest = rest[i+1:]
	}
	if !any {
		return now, false
	}
	return now.AddDate(y, mo, d).Add(time.Duration(secs) * time.Second), true
}

// lifetimeEnd returns the end of -u as Pacemaker writes it
// ("2026-11-22 10:30:00 +00:00"), "" without -u.
func (r *runner) lifetimeEnd() (string, error) {
	if r.o.lifetime == "" {
		return "", nil
	}
	now := r.o.now()
	end, ok := addISODuration(now, r.o.lifetime)
	if !ok {
		return "", &client.CLIError{Code: client.ExitInvalidParam, Msg: fmt.Sprintf("Invalid duration specified: %s\n"+
			"Please refer to https://en.wikipedia.org/wiki/ISO_8601#Durations for examples of correct durations", r.o.lifetime)}
	}
	s := end.Format("2006-01-02 15:04:05 -07:00")
	r.infof("Migration will take effect until: %s", s)
	return s, nil
}

// preferElement builds cli-prefer-RSC as Pacemaker's cli_resource_prefer.
func preferElement(rsc, node, end string, promoted bool) *etree.Element {
	loc := etree.NewElement("rsc_location")
	loc.CreateAttr("id", preferID(rsc))
	loc.CreateAttr("rsc", rsc)
	if promoted {
		loc.CreateAttr("role", promotedRole())
	} else {
		loc.CreateAttr("role", "Started")
	}
	if end == "" {
		loc.CreateAttr("node", node)
		loc.CreateAttr("score", "INFINITY")
		return loc
	}
	rule := loc.CreateElement("rule")
	rule.CreateAttr("id", "cli-prefer-rule-"+rsc)
	rule.CreateAttr("score", "INFINITY")
	rule.CreateAttr("boolean-op", "and")
	expr := rule.CreateElement("expression")
	expr.CreateAttr("id", "cli-prefer-expr-"+rsc)
	expr.CreateAttr("attribute", "#uname")
	expr.CreateAttr("operation", "eq")
	expr.CreateAttr("value", node)
	expr.CreateAttr("type", "string")
	de := rule.CreateElement("date_expression")
	de.CreateAttr("id", "cli-prefer-lifetime-end-"+rsc)
	de.CreateAttr("operation", "lt")
	de.CreateAttr("end", end)
	return loc
}

// banElement builds cli-ban-RSC-on-NODE as Pacemaker's cli_resource_ban.
func banElement(rsc, node, end string, promoted bool) *etree.Element {
	id := banID(rsc, node)
	loc := etree.NewElement("rsc_location")
	loc.CreateAttr("id", id)
	loc.CreateAttr("rsc", rsc)
	if promoted {
		loc.CreateAttr("role", promotedRole())
	}
	if end == "" {
		loc.CreateAttr("node", node)
		loc.CreateAttr("score", "-INFINITY")
		return loc
	}
	rule := loc.CreateElement("rule")
	rule.CreateAttr("id", id+"-rule")
	rule.CreateAttr("score", "-INFINITY")
	rule.CreateAttr("boolean-op", "and")
	expr := rule.CreateElement("expression")
	expr.CreateAttr("id", id+"-expr")
	expr.CreateAttr("attribute", "#uname")
	expr.CreateAttr("operation", "eq")
	expr.CreateAttr("value", node)
	expr.CreateAttr("type", "string")
	de := rule.CreateElement("date_expression")
	de.CreateAttr("id", id+"-lifetime")
	de.CreateAttr("operation", "lt")
	de.CreateAttr("end", end)
	return loc
}

// putConstraint creates loc, or replaces the constraint with its id.
func (r *runner) putConstraint(s *snapshot, loc *etree.Element) error {
	id := loc.SelectAttrValue("id", "")
	op := cib.OpCreate
	for _, e := range constraintsOf(s) {
		if e.SelectAttrValue("id", "") == id {
			op = cib.OpReplace
		}
	}
	_, err := r.apply(cib.Request{Op: op, Scope: "constraints", XML: server.ElementBytes(loc)})
	return err
}

// deleteConstraints deletes the rsc_location elements with these ids.
func (r *runner) deleteConstraints(ids []string) error {
	for _, id := range ids {
		if _, err := r.apply(cib.Request{Op: cib.OpDelete, XPath: "/cib/configuration/constraints/rsc_location[@id='" + id + "']"}); err != nil {
			return err
		}
	}
	return nil
}

// ban writes cli-ban-RSC-on-NODE with Pacemaker's warning.
func (r *runner) banOn(s *snapshot, node, end string) error {
	loc := banElement(r.o.rsc, node, end, r.o.promoted)
	if end == "" {
		doing := "running"
		if r.o.promoted {
			doing = "being promoted"
		}
		r.errorf("WARNING: Creating rsc_location constraint '%s' with a score of -INFINITY for resource %s on %s.\n"+
			"\tThis will prevent %s from %s on %s until the constraint is removed using the clear option or by editing the CIB with an appropriate tool\n"+
			"\tThis will be the case even if %s is the last node in the cluster",
			banID(r.o.rsc, node), r.o.rsc, node, r.o.rsc, doing, node, node)
	}
	return r.putConstraint(s, loc)
}

// current returns where the resource is active (promoted, with
// --promoted) and how many places that is.
func (r *runner) current(rs *crmstatus.Resource) ([]string, int) {
	names, promoted := activeNodes(locateTarget(rs, r.o.rsc))
	if !r.o.promoted {
		return names, len(names)
	}
	var out []string
	for i, n := range names {
		if promoted[i] {
			out = append(out, n)
		}
	}
	return out, len(out)
}

// banOrMove is -B or -M without -N: ban the resource from the one node
// it runs on, or for a promotable clone from the one node where it is
// promoted (Pacemaker's ban_or_move).
func (r *runner) banOrMove(s *snapshot, rs *crmstatus.Resource, end string) error {
	all, promoted := activeNodes(locateTarget(rs, r.o.rsc))
	if len(all) == 1 {
		return r.banOn(s, all[0], end)
	}
	top := topOf(rs)
	if top != nil && top.Promotable {
		var prom []string
		for i, p := range promoted {
			if p {
				prom = append(prom, all[i])
			}
		}
		if len(prom) == 1 {
			return r.banOn(s, prom[0], end)
		}
		return fail(client.ExitUsage, "Resource '%s' not moved: active in %d locations (promoted in %d).\n"+
			"To prevent '%s' from running on a specific location, specify a node."+
			"To prevent '%s' from being promoted at a specific location, specify a node and the --promoted option.",
			r.o.rsc, len(all), len(prom), r.o.rsc, r.o.rsc)
	}
	return fail(client.ExitUsage, "Resource '%s' not moved: active in %d locations.\n"+
		"To prevent '%s' from running on a specific location, specify a node.", r.o.rsc, len(all), r.o.rsc)
}

// runBan is -B.
func (r *runner) runBan() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	_, rs, err := r.resource(s)
	if err != nil {
		return err
	}
	if _, err := r.checkNode(s); err != nil {
		return err
	}
	end, err := r.lifetimeEnd()
	if err != nil {
		return err
	}
	if r.o.node == "" {
		return r.banOrMove(s, rs, end)
	}
	return r.banOn(s, r.o.node, end)
}

// runMove is -M (Pacemaker's cli_resource_move).
func (r *runner) runMove() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	_, rs, err := r.resource(s)
	if err != nil {
		return err
	}
	dest, err := r.checkNode(s)
	if err != nil {
		return err
	}
	end, err := r.lifetimeEnd()
	if err != nil {
		return err
	}
	if dest == nil {
		return r.banOrMove(s, rs, end)
	}
	top := topOf(rs)
	if r.o.promoted && (top == nil || !top.Promotable) {
		return fail(client.ExitInvalidParam, "Error performing operation: %s is not a promotable resource", r.o.rsc)
	}
	cur, count := r.current(rs)
	isClone := top != nil && top.Kind == crmstatus.KindClone
	if count > 1 && !isClone {
		return fail(client.ExitError, "Error performing operation: Resource '%s' is active on %d nodes", r.o.rsc, count)
	}
	var from string
	if count == 1 && !isClone {
		from = cur[0]
	}
	onDest := false
	for _, n := range cur {
		if n == dest.Name {
			onDest = true
		}
	}
	if onDest && (!isClone || count == 1) {
		if !r.o.force {
			return opFailed(client.ExitExists, "Situation already as requested")
		}
		r.verbosef(1, "%s is already active on %s, reinforcing placement with a location constraint", r.o.rsc, dest.Name)
	}
	// clear earlier preferences anywhere and a ban on the destination
	var drop []string
	for _, e := range constraintsOf(s) {
		id := e.SelectAttrValue("id", "")
		if id == banID(r.o.rsc, dest.Name) {
			drop = append(drop, id)
		}
	}
	if err := r.deleteConstraints(drop); err != nil {
		return err
	}
	s2, err := r.read()
	if err != nil {
		return err
	}
	if err := r.putConstraint(s2, preferElement(r.o.rsc, dest.Name, end, r.o.promoted)); err != nil {
		return err
	}
	if r.o.force && from != "" && from != dest.Name {
		return r.banOn(s2, from, end)
	}
	if r.o.force && from == "" && count > 1 {
		r.infof("Resource '%s' is currently active in %d locations. One may now move to %s", r.o.rsc, count, dest.Name)
		r.infof("To prevent '%s' from being active at a specific location, specify a node.", r.o.rsc)
	}
	return nil
}

// cliConstraint tells whether loc is one of -M/-B's constraints for rsc
// and, if so, which node it names ("" when it cannot tell).
func cliConstraint(loc *etree.Element, rsc string) (bool, string) {
	id := loc.SelectAttrValue("id", "")
	if loc.SelectAttrValue("rsc", "") != rsc {
		return false, ""
	}
	switch {
	case id == preferID(rsc):
	case strings.HasPrefix(id, banPrefix(rsc)):
		return true, strings.TrimPrefix(id, banPrefix(rsc))
	default:
		return false, ""
	}
	if n := loc.SelectAttrValue("node", ""); n != "" {
		return true, n
	}
	for _, ex := range loc.FindElements("rule/expression") {
		if ex.SelectAttrValue("attribute", "") == "#uname" {
			return true, ex.SelectAttrValue("value", "")
		}
	}
	return true, ""
}

// expired reports whether loc's lifetime has ended at now.
func expired(loc *etree.Element, now int64) bool {
	for _, de := range loc.FindElements("rule/date_expression") {
		if de.SelectAttrValue("operation", "") != "lt" {
			continue
		}
		if end, ok := pengine.ParseDate(de.SelectAttrValue("end", "")); ok && end <= now {
			return true
		}
	}
	return false
}

// runClear is -U: remove cli-prefer-RSC and cli-ban-RSC-on-* (only those
// naming -N with -N; only expired ones with -e, of every resource when
// -e comes without -r).
func (r *runner) runClear() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	if r.o.rsc != "" {
		if _, _, err := r.resource(s); err != nil {
			return err
		}
	}
	if _, err := r.checkNode(s); err != nil {
		return err
	}
	var drop []string
	now := r.o.now().Unix()
	for _, loc := range constraintsOf(s) {
		rsc := baseID(r.o.rsc)
		if rsc == "" {
			rsc = loc.SelectAttrValue("rsc", "")
		}
		ok, node := cliConstraint(loc, rsc)
		if !ok {
			continue
		}
		if r.o.node != "" && node != r.o.node {
			continue
		}
		if r.o.expired && !expired(loc, now) {
			continue
		}
		drop = append(drop, loc.SelectAttrValue("id", ""))
	}
	// cli-prefer-* first, then the bans: removed the other way round, the
	// DC may act on the state in between (a ban gone, the preference
	// still there) and move the resource back and forth.
	sort.Slice(drop, func(i, j int) bool {
		pi, pj := strings.HasPrefix(drop[i], "cli-prefer-"), strings.HasPrefix(drop[j], "cli-prefer-")
		if pi != pj {
			return pi
		}
		return drop[i] < drop[j]
	})
	for _, id := range drop {
		if err := r.deleteConstraints([]string{id}); err != nil {
			return err
		}
		r.infof("Removing constraint: %s", id)
	}
	return nil
}
