package cib

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// ValidationError is one reason a CIB fails validation, naming the element.
type ValidationError struct {
	Tag    string // element tag
	ID     string // element id ("" when the element has none)
	Reason string
	// Tolerated is set for problems Pacemaker's scheduler tolerates at run
	// time (it ignores the element or falls back to a default): a dangling
	// constraint reference, an unknown order kind, a bad timeout. Systole's
	// writes and crm_verify refuse them all; crm_simulate, which must read
	// the CIBs Pacemaker reads, reports tolerated ones as warnings.
	Tolerated bool
}

// Fatal returns the errors that are not Tolerated (nil if none).
func (es ValidationErrors) Fatal() ValidationErrors {
	var out ValidationErrors
	for _, e := range es {
		if !e.Tolerated {
			out = append(out, e)
		}
	}
	return out
}

// hasOwnID reports whether e's id attribute declares an identity (and so
// must be unique). A resource_ref's or obj_ref's id is a reference, and a
// node's id is the cluster layer's node id, which may equal a resource id
// (a remote node and its connection resource share a name).
func hasOwnID(e *etree.Element) bool {
	switch e.Tag {
	case "resource_ref", "obj_ref":
		return false
	case "node":
		if p := e.Parent(); p != nil && p.Tag == "nodes" {
			return false
		}
	case "role":
		if p := e.Parent(); p != nil && p.Tag != "acls" {
			return false
		}
	}
	return true
}

func tolerated(v *ValidationError) *ValidationError {
	v.Tolerated = true
	return v
}

func (e *ValidationError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("%s %q: %s", e.Tag, e.ID, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Tag, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// ValidationErrors is the list of every problem found in one CIB.
type ValidationErrors []*ValidationError

func (es ValidationErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// dupID is the one wording of a duplicate id, shared by writes and
// crm_verify so that both print the same reason.
func dupID(e, prev *etree.Element) *ValidationError {
	return verr(e, "id %v (also used by <%s>)", ErrExists, prev.Tag)
}

func verr(e *etree.Element, format string, a ...any) *ValidationError {
	return &ValidationError{Tag: e.Tag, ID: e.SelectAttrValue("id", ""), Reason: fmt.Sprintf(format, a...)}
}

// Validate checks the whole CIB against the supported schema subset and
// returns every problem found (nil when valid).
func (c *CIB) Validate() error {
	var errs ValidationErrors
	root := c.Root()
	for _, k := range versionAttrs {
		if v := root.SelectAttrValue(k, "0"); !isNonNegInt(v) {
			errs = append(errs, verr(root, "%s %q is not a non-negative integer", k, v))
		}
	}
	conf := root.SelectElement("configuration")
	ids := map[string]*etree.Element{}
	if conf != nil {
		walk(conf, func(e *etree.Element) {
			if id := e.SelectAttr("id"); id != nil && hasOwnID(e) {
				if prev, dup := ids[id.Value]; dup {
					errs = append(errs, dupID(e, prev))
				} else {
					ids[id.Value] = e
				}
			}
		})
		resolve := func(id string) *etree.Element { return ids[id] }
		walk(conf, func(e *etree.Element) {
			errs = append(errs, checkElement(e)...)
			errs = append(errs, checkRefs(e, resolve)...)
		})
	}
	if st := root.SelectElement("status"); st != nil {
		for _, ns := range st.SelectElements("node_state") {
			if ns.SelectAttrValue("id", "") == "" {
				errs = append(errs, verr(ns, "node_state without id"))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func walk(e *etree.Element, f func(*etree.Element)) {
	f(e)
	for _, tok := range e.Child {
		if c, ok := tok.(*etree.Element); ok {
			walk(c, f)
		}
	}
}

// section returns the top-level section ("configuration", "status") that
// contains e, "cib" for the root, or "" if e is detached.
func section(e *etree.Element) string {
	var last *etree.Element
	for cur := e; cur != nil && cur.Tag != ""; cur = cur.Parent() {
		if cur.Tag == "cib" && (cur.Parent() == nil || cur.Parent().Tag == "") {
			if last == nil {
				return "cib"
			}
			return last.Tag
		}
		last = cur
	}
	return ""
}

// tracker records what a transaction touched, for version bumping and
// incremental validation.
type tracker struct {
	created  []*etree.Element
	modified []*etree.Element
	deleted  []*etree.Element
	parents  []*etree.Element // parents whose child lists changed
	config   bool             // configuration (or a schema-relevant root attribute) changed
	status   bool             // status or a status-like root attribute changed
}

func (t *tracker) note(e *etree.Element) {
	switch section(e) {
	case "configuration":
		t.config = true
	case "cib":
		t.status = true // root attributes (have-quorum, dc-uuid) are status-like
	default:
		t.status = true
	}
}

func (t *tracker) onCreate(e *etree.Element) {
	t.created = append(t.created, e)
	t.parents = append(t.parents, e.Parent())
	t.note(e)
}

func (t *tracker) onModify(e *etree.Element) {
	t.modified = append(t.modified, e)
	t.note(e)
}

func (t *tracker) onDelete(e *etree.Element) {
	t.deleted = append(t.deleted, e)
	t.parents = append(t.parents, e.Parent())
	t.note(e)
}

// referenceable tags: constraints and sets may name these by id.
var resourceTags = map[string]bool{"primitive": true, "group": true, "clone": true, "master": true, "bundle": true}

// validateIncremental checks only what tr touched, against the id index of
// the configuration before the transaction (ids). It returns the index
// delta to commit on success.
func validateIncremental(root *etree.Element, ids map[string]*etree.Element, tr *tracker) (added map[string]*etree.Element, removed map[string]bool, err error) {
	var errs ValidationErrors
	removed = map[string]bool{}
	added = map[string]*etree.Element{}
	for _, d := range tr.deleted {
		if section(d) != "" {
			continue // re-inserted (a move)
		}
		walk(d, func(e *etree.Element) {
			if id := e.SelectAttr("id"); id != nil && ids[id.Value] == e {
				removed[id.Value] = true
			}
		})
	}
	idChanged := false
	for _, m := range tr.modified {
		if section(m) != "configuration" {
			continue
		}
		id := m.SelectAttrValue("id", "")
		if hasOwnID(m) && (id == "" || ids[id] != m) {
			idChanged = true
		}
	}
	if idChanged {
		return nil, nil, errFullValidation
	}
	for _, c := range tr.created {
		if section(c) != "configuration" {
			continue
		}
		walk(c, func(e *etree.Element) {
			if id := e.SelectAttr("id"); id != nil && hasOwnID(e) {
				if prev, ok := added[id.Value]; ok {
					errs = append(errs, dupID(e, prev))
					return
				}
				if prev, ok := ids[id.Value]; ok && !removed[id.Value] {
					errs = append(errs, dupID(e, prev))
					return
				}
				added[id.Value] = e
			}
		})
	}
	resolve := func(id string) *etree.Element {
		if e, ok := added[id]; ok {
			return e
		}
		if removed[id] {
			return nil
		}
		return ids[id]
	}
	seen := map[*etree.Element]bool{}
	check := func(e *etree.Element) {
		if seen[e] {
			return
		}
		seen[e] = true
		errs = append(errs, checkElement(e)...)
		errs = append(errs, checkRefs(e, resolve)...)
	}
	for _, c := range tr.created {
		if section(c) == "configuration" {
			walk(c, check)
		}
	}
	for _, m := range tr.modified {
		if s := section(m); s == "configuration" {
			check(m)
		} else if s == "cib" {
			for _, k := range versionAttrs {
				if v := m.SelectAttrValue(k, "0"); !isNonNegInt(v) {
					errs = append(errs, verr(m, "%s %q is not a non-negative integer", k, v))
				}
			}
		}
	}
	for _, p := range tr.parents {
		if p != nil && section(p) == "configuration" && !seen[p] {
			seen[p] = true
			errs = append(errs, checkElement(p)...)
		}
	}
	// a deleted id that is still referenced leaves a dangling reference
	if len(removed) > 0 {
		gone := map[string]bool{}
		for id := range removed {
			if _, back := added[id]; !back {
				gone[id] = true
			}
		}
		if len(gone) > 0 {
			if conf := root.SelectElement("configuration"); conf != nil {
				walk(conf, func(e *etree.Element) {
					for _, r := range refsOf(e) {
						if gone[r.id] {
							errs = append(errs, verr(e, "%s refers to %q, which the update removes", r.attr, r.id))
						}
					}
				})
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return added, removed, nil
}

var errFullValidation = errors.New("cib: incremental validation not possible")

type ref struct {
	attr string
	id   string
	kind string // "resource", "any", "template"
}

// refsOf lists the references e's own attributes make.
func refsOf(e *etree.Element) []ref {
	var out []ref
	if v := e.SelectAttrValue("id-ref", ""); v != "" {
		out = append(out, ref{"id-ref", v, "any"})
	}
	switch e.Tag {
	case "rsc_location":
		if v := e.SelectAttrValue("rsc", ""); v != "" {
			out = append(out, ref{"rsc", v, "resource"})
		}
	case "rsc_colocation":
		for _, a := range []string{"rsc", "with-rsc"} {
			if v := e.SelectAttrValue(a, ""); v != "" {
				out = append(out, ref{a, v, "resource"})
			}
		}
	case "rsc_order":
		for _, a := range []string{"first", "then"} {
			if v := e.SelectAttrValue(a, ""); v != "" {
				out = append(out, ref{a, v, "resource"})
			}
		}
	case "rsc_ticket":
		if v := e.SelectAttrValue("rsc", ""); v != "" {
			out = append(out, ref{"rsc", v, "resource"})
		}
	case "resource_ref":
		if p := e.Parent(); p != nil && p.Tag == "resource_set" {
			if v := e.SelectAttrValue("id", ""); v != "" {
				out = append(out, ref{"resource_ref", v, "resource"})
			}
		}
	case "primitive":
		if v := e.SelectAttrValue("template", ""); v != "" {
			out = append(out, ref{"template", v, "template"})
		}
	}
	return out
}

func checkRefs(e *etree.Element, resolve func(string) *etree.Element) []*ValidationError {
	var errs []*ValidationError
	for _, r := range refsOf(e) {
		t := resolve(r.id)
		switch {
		case t == nil && r.kind == "resource":
			errs = append(errs, tolerated(verr(e, "%s refers to resource %q, which does not exist", r.attr, r.id)))
		case t == nil:
			errs = append(errs, verr(e, "%s refers to %q, which does not exist", r.attr, r.id))
		case r.kind == "resource" && !resourceTags[t.Tag] && t.Tag != "template" && t.Tag != "tag":
			errs = append(errs, tolerated(verr(e, "%s refers to %q, which is a <%s>, not a resource", r.attr, r.id, t.Tag)))
		case r.kind == "template" && t.Tag != "template":
			errs = append(errs, verr(e, "template refers to %q, which is a <%s>, not a template", r.id, t.Tag))
		case r.kind == "any" && t.Tag != e.Tag:
			errs = append(errs, verr(e, "id-ref %q names a <%s>, not a <%s>", r.id, t.Tag, e.Tag))
		}
	}
	return errs
}

var (
	legalClasses  = set("ocf", "lsb", "service", "systemd", "stonith", "heartbeat", "nagios", "upstart")
	legalRoles    = set("Stopped", "Started", "Promoted", "Unpromoted", "Master", "Slave")
	legalKinds    = set("Mandatory", "Optional", "Serialize")
	legalActions  = set("start", "stop", "promote", "demote")
	legalOnFail   = set("ignore", "restart", "stop", "block", "standby", "fence", "demote", "restart-container")
	legalExprOps  = set("lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined")
	legalExprType = set("string", "integer", "number", "version")
	legalDateOps  = set("in_range", "date_spec", "gt", "lt")
	legalNodeType = set("member", "normal", "remote", "ping")
	legalDiscover = set("always", "never", "exclusive")
	legalBoolOp   = set("and", "or")
	configTags    = set("crm_config", "nodes", "resources", "constraints", "rsc_defaults", "op_defaults", "fencing-topology", "acls", "tags", "alerts")
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func isNonNegInt(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0
}

// ValidScore reports whether s is a legal Pacemaker score: an integer,
// INFINITY, +INFINITY or -INFINITY (any case), or a node-health colour.
func ValidScore(s string) bool {
	switch strings.ToLower(s) {
	case "infinity", "+infinity", "-infinity", "red", "yellow", "green":
		return true
	}
	_, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	return err == nil && s != "" && s != "+"
}

// ValidBool reports whether s is a boolean Pacemaker accepts.
func ValidBool(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "1", "0", "y", "n":
		return true
	}
	return false
}

// ParseInterval converts a Pacemaker interval or timeout ("10", "10s",
// "500ms", "5min", "1h", "PT10S") to milliseconds.
func ParseInterval(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty interval")
	}
	if strings.HasPrefix(strings.ToUpper(t), "P") {
		return parseISODuration(t)
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("interval %q does not start with a number", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("interval %q: %v", s, err)
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]int64{"": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0, "usec": 0, "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("interval %q has unknown unit %q", s, unit)
	}
	if m == 0 {
		return n / 1000, nil
	}
	return n * m, nil
}

func parseISODuration(s string) (int64, error) {
	u := strings.ToUpper(s)
	rest := u[1:]
	if rest == "" || rest == "T" {
		return 0, fmt.Errorf("interval %q is empty", s)
	}
	var total int64
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			inTime = true
			rest = rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("interval %q is not a valid ISO 8601 duration", s)
		}
		n, _ := strconv.ParseInt(rest[:i], 10, 64)
		switch rest[i] {
		case 'Y':
			total += n * 365 * 86400000
		case 'W':
			total += n * 7 * 86400000
		case 'D':
			total += n * 86400000
		case 'H':
			total += n * 3600000
		case 'M':
			if inTime {
				total += n * 60000
			} else {
				total += n * 30 * 86400000 // a month, as Pacemaker counts it for intervals
			}
		case 'S':
			total += n * 1000
		default:
			return 0, fmt.Errorf("interval %q has unknown designator %q", s, rest[i])
		}
		rest = rest[i+1:]
	}
	return total, nil
}

// checkElement validates e's own attributes and the shape of its children.
func checkElement(e *etree.Element) []*ValidationError {
	var errs []*ValidationError
	bad := func(format string, a ...any) { errs = append(errs, verr(e, format, a...)) }
	attr := func(n string) string { return e.SelectAttrValue(n, "") }
	has := func(n string) bool { return e.SelectAttr(n) != nil }
	needID := func() {
		if !has("id") && !has("id-ref") {
			bad("missing required attribute id")
		} else if has("id") && attr("id") == "" {
			bad("empty id")
		}
	}
	role := func(n string) {
		if v := attr(n); v != "" && !legalRoles[normRole(v)] {
			bad("%s %q is not a role (Stopped, Started, Promoted, Unpromoted)", n, v)
		}
	}
	score := func(n string) {
		if has(n) && !ValidScore(attr(n)) {
			bad("%s %q is not a valid score (an integer, INFINITY or -INFINITY)", n, attr(n))
		}
	}
	boolean := func(n string) {
		if has(n) && !ValidBool(attr(n)) {
			bad("%s %q is not a boolean", n, attr(n))
		}
	}
	oneOf := func(n string, legal map[string]bool) {
		if v := attr(n); has(n) && !legal[v] {
			bad("%s %q is not one of %s", n, v, keys(legal))
		}
	}
	if p := e.Parent(); p != nil && p.Tag == "configuration" && !configTags[e.Tag] {
		return nil // unknown sections are kept as they are
	}
	switch e.Tag {
	case "primitive":
		needID()
		if !has("template") {
			if attr("class") == "" {
				bad("missing required attribute class")
			} else if !legalClasses[attr("class")] {
				bad("class %q is not one of %s", attr("class"), keys(legalClasses))
			}
			if attr("type") == "" {
				bad("missing required attribute type")
			}
			if attr("class") == "ocf" && attr("provider") == "" {
				bad("class ocf needs a provider")
			}
		}
	case "template":
		needID()
		if attr("class") == "" || attr("type") == "" {
			bad("a template needs class and type")
		}
	case "group":
		needID()
		n := 0
		for _, c := range e.ChildElements() {
			switch c.Tag {
			case "primitive":
				n++
			case "meta_attributes", "instance_attributes", "utilization", "description":
			default:
				bad("a group may contain only primitives, not <%s>", c.Tag)
			}
		}
		if n == 0 {
			bad("a group needs at least one primitive")
		}
	case "clone", "master":
		needID()
		n := 0
		for _, c := range e.ChildElements() {
			if c.Tag == "primitive" || c.Tag == "group" {
				n++
			}
		}
		if n != 1 {
			bad("a %s needs exactly one primitive or group, has %d", e.Tag, n)
		}
	case "op":
		if has("id-ref") {
			break
		}
		needID()
		if attr("name") == "" {
			bad("missing required attribute name")
		}
		if !has("interval") {
			bad("missing required attribute interval")
		} else if _, err := ParseInterval(attr("interval")); err != nil {
			bad("%v", err)
		}
		for _, n := range []string{"timeout", "start-delay", "interval-origin"} {
			if n == "interval-origin" {
				continue
			}
			if has(n) {
				if _, err := ParseInterval(attr(n)); err != nil {
					errs = append(errs, tolerated(verr(e, "%s: %v", n, err)))
				}
			}
		}
		role("role")
		oneOf("on-fail", legalOnFail)
		boolean("enabled")
		boolean("record-pending")
	case "nvpair":
		if has("id-ref") {
			break
		}
		needID()
		if attr("name") == "" {
			bad("missing required attribute name")
		}
	case "instance_attributes", "meta_attributes", "utilization", "cluster_property_set":
		needID()
		score("score")
	case "node":
		if p := e.Parent(); p != nil && p.Tag == "nodes" {
			needID()
			if attr("uname") == "" {
				bad("missing required attribute uname")
			}
			oneOf("type", legalNodeType)
		}
	case "rsc_location":
		needID()
		sets := len(e.SelectElements("resource_set"))
		if attr("rsc") == "" && attr("rsc-pattern") == "" && sets == 0 {
			bad("needs rsc, rsc-pattern or a resource_set")
		}
		rules := len(e.SelectElements("rule"))
		if has("node") {
			if !has("score") && !has("score-attribute") {
				bad("a location with node needs a score")
			}
		} else if rules == 0 {
			bad("needs node and score, or a rule")
		}
		score("score")
		role("role")
		oneOf("resource-discovery", legalDiscover)
	case "rsc_colocation":
		needID()
		sets := len(e.SelectElements("resource_set"))
		if sets == 0 && (attr("rsc") == "" || attr("with-rsc") == "") {
			bad("needs rsc and with-rsc, or resource_set elements")
		}
		score("score")
		role("rsc-role")
		role("with-rsc-role")
		if has("influence") && !ValidBool(attr("influence")) {
			errs = append(errs, tolerated(verr(e, "influence %q is not a boolean", attr("influence"))))
		}
	case "rsc_order":
		needID()
		sets := len(e.SelectElements("resource_set"))
		if sets == 0 && (attr("first") == "" || attr("then") == "") {
			bad("needs first and then, or resource_set elements")
		}
		score("score")
		if v := attr("kind"); has("kind") && !legalKinds[v] {
			errs = append(errs, tolerated(verr(e, "kind %q is not one of %s", v, keys(legalKinds))))
		}
		oneOf("first-action", legalActions)
		oneOf("then-action", legalActions)
		boolean("symmetrical")
		boolean("require-all")
	case "rsc_ticket":
		needID()
		if attr("ticket") == "" {
			bad("missing required attribute ticket")
		}
	case "resource_set":
		if has("id-ref") {
			break
		}
		needID()
		if len(e.SelectElements("resource_ref")) == 0 {
			bad("a resource_set needs at least one resource_ref")
		}
		boolean("sequential")
		boolean("require-all")
		role("role")
		oneOf("action", legalActions)
		score("score")
		oneOf("kind", legalKinds)
	case "rule":
		if has("id-ref") {
			break
		}
		needID()
		score("score")
		oneOf("boolean-op", legalBoolOp)
		role("role")
	case "expression":
		needID()
		if attr("attribute") == "" {
			bad("missing required attribute attribute")
		}
		if !has("operation") {
			bad("missing required attribute operation")
		}
		oneOf("operation", legalExprOps)
		oneOf("type", legalExprType)
	case "date_expression":
		needID()
		oneOf("operation", legalDateOps)
	case "fencing-level":
		needID()
		if attr("target") == "" && attr("target-pattern") == "" && attr("target-attribute") == "" {
			bad("needs target, target-pattern or target-attribute")
		}
		idx, err := strconv.Atoi(attr("index"))
		if err != nil || idx < 1 || idx > 9 {
			bad("index %q is not an integer from 1 to 9", attr("index"))
		}
		if attr("devices") == "" {
			bad("missing required attribute devices")
		}
	}
	return errs
}

func normRole(r string) string {
	switch strings.ToLower(r) {
	case "master":
		return "Promoted"
	case "slave":
		return "Unpromoted"
	case "started":
		return "Started"
	case "stopped":
		return "Stopped"
	case "promoted":
		return "Promoted"
	case "unpromoted":
		return "Unpromoted"
	}
	return r
}

func keys(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
