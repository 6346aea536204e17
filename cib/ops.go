package cib

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Op is a cibadmin operation.
type Op string

// The operations cibadmin offers.
const (
	OpQuery     Op = "query"
	OpCreate    Op = "create"
	OpModify    Op = "modify"
	OpReplace   Op = "replace"
	OpDelete    Op = "delete"
	OpDeleteAll Op = "delete-all"
	OpErase     Op = "erase"
	OpBump      Op = "bump"
	OpPatch     Op = "patch"
)

// Request is one cibadmin operation with its modifiers.
type Request struct {
	Op          Op
	Scope       string // a section name (resources, constraints, status, ...); "" = whole CIB
	XPath       string // overrides Scope when set
	XML         []byte // the object for create/modify/replace/delete; the diff for patch
	AllowCreate bool   // modify: create the object when it does not exist
	NoChildren  bool   // query: return matches without their children
	Force       bool   // erase, and replacing with an older CIB
	Score       bool   // modify: expand "value++" and "value+=N"

	// Housekeeping attributes written on the root when the configuration
	// changes; empty values leave them alone. The core has no clock, so
	// the caller supplies the time string.
	LastWritten, Origin, Client, User string
}

// Result is the outcome of a successful operation.
type Result struct {
	Version Version          // the CIB version after the operation
	Patch   *Patch           // writes: the change set applied (nil if nothing changed)
	Output  []*etree.Element // query: copies of the matching elements
}

// Scopes are the section names accepted by -o/--scope.
var Scopes = []string{"configuration", "nodes", "resources", "constraints", "crm_config", "rsc_defaults", "op_defaults", "acls", "fencing-topology", "tags", "alerts", "status"}

func validScope(s string) bool {
	for _, x := range Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// sectionFor infers the scope of an object from its tag when the caller gave
// none, as an operator would expect: a <primitive> belongs in resources.
func sectionFor(tag string) string {
	switch tag {
	case "primitive", "group", "clone", "master", "bundle", "template":
		return "resources"
	case "rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket":
		return "constraints"
	case "node":
		return "nodes"
	case "cluster_property_set":
		return "crm_config"
	case "node_state":
		return "status"
	case "fencing-level":
		return "fencing-topology"
	case "acl_target", "acl_role", "acl_user", "acl_group":
		return "acls"
	case "alert":
		return "alerts"
	case "tag":
		return "tags"
	}
	if validScope(tag) {
		return tag
	}
	return ""
}

// sectionElement returns the element of a scope, or nil.
func (c *CIB) sectionElement(scope string) *etree.Element {
	root := c.Root()
	switch scope {
	case "", "cib":
		return root
	case "status", "configuration":
		return root.SelectElement(scope)
	}
	conf := root.SelectElement("configuration")
	if conf == nil {
		return nil
	}
	return conf.SelectElement(scope)
}

// Query runs a query operation: the whole CIB, a scope, or the XPath
// matches, as copies.
func (c *CIB) Query(req Request) ([]*etree.Element, error) {
	var matches []*etree.Element
	if req.XPath != "" {
		m, err := c.FindXPath(req.XPath)
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("cib: query %s: %w", req.XPath, ErrNotFound)
		}
		matches = m
	} else {
		if req.Scope != "" && !validScope(req.Scope) {
			return nil, fmt.Errorf("cib: query: %w: unknown scope %q (want one of %s)", ErrBadRequest, req.Scope, strings.Join(Scopes, ", "))
		}
		s := c.sectionElement(req.Scope)
		if s == nil {
			return nil, fmt.Errorf("cib: query scope %s: %w", req.Scope, ErrNotFound)
		}
		matches = []*etree.Element{s}
	}
	out := make([]*etree.Element, len(matches))
	for i, m := range matches {
		cp := m.Copy()
		if req.NoChildren {
			cp.Child = nil
		}
		out[i] = cp
	}
	return out, nil
}

var (
	andPred = regexp.MustCompile(`\s+and\s+`)
	orPred  = regexp.MustCompile(`\s+or\s+`)
)

// FindXPath evaluates an XPath expression of the forms Pacemaker users
// type (/cib/configuration/resources, //primitive[@id='x'],
// //nvpair[@name='a' and @value='b'], //*[@id='x']) and returns the matches
// in document order. Unsupported syntax is an error wrapping ErrBadRequest.
func (c *CIB) FindXPath(xp string) ([]*etree.Element, error) {
	p := strings.TrimSpace(xp)
	if p == "" {
		return nil, fmt.Errorf("cib: %w: empty XPath", ErrBadRequest)
	}
	// etree paths have no "and": [@a='x' and @b='y'] is [@a='x'][@b='y']
	p = andPred.ReplaceAllString(p, "][")
	p = strings.ReplaceAll(p, `"`, `'`)
	if m := orPred.FindString(p); m != "" {
		return nil, fmt.Errorf("cib: %w: XPath %q uses \"or\", which Systole does not support (run one query per alternative)", ErrBadRequest, xp)
	}
	if strings.ContainsAny(p, "|()") && !strings.Contains(p, "text()") {
		return nil, fmt.Errorf("cib: %w: XPath %q uses functions or unions Systole does not support", ErrBadRequest, xp)
	}
	path, err := etree.CompilePath(p)
	if err != nil {
		return nil, fmt.Errorf("cib: %w: XPath %q: %v", ErrBadRequest, xp, err)
	}
	return c.doc.FindElementsPath(path), nil
}

// Apply performs a write operation atomically: on any error the CIB is
// unchanged. A query is answered too, without changing anything.
func (c *CIB) Apply(req Request) (*Result, error) {
	if req.Op == OpQuery {
		out, err := c.Query(req)
		if err != nil {
			return nil, err
		}
		return &Result{Version: c.Version(), Output: out}, nil
	}
	if req.Op == OpPatch {
		p, err := ParsePatch(req.XML)
		if err != nil {
			return nil, err
		}
		return c.ApplyPatch(p)
	}
	pl, err := c.plan(req)
	if err != nil {
		return nil, fmt.Errorf("cib: %s: %w", req.Op, err)
	}
	res, err := c.commit(pl.changes, pl.bump, pl.setVersion, req)
	if err != nil {
		return nil, fmt.Errorf("cib: %s: %w", req.Op, err)
	}
	return res, nil
}

// ApplyPatch applies a patch whose Source must equal the current version;
// the CIB ends at the patch's Target version. Atomic.
func (c *CIB) ApplyPatch(p *Patch) (*Result, error) {
	if cur := c.Version(); cur != p.Source {
		return nil, fmt.Errorf("cib: patch: %w: patch applies to %s, the CIB is at %s", ErrVersion, p.Source, cur)
	}
	if p.Target.Compare(p.Source) < 0 {
		return nil, fmt.Errorf("cib: patch: %w: target %s is older than source %s", ErrVersion, p.Target, p.Source)
	}
	t := p.Target
	res, err := c.commit(p.Changes, bumpNone, &t, Request{})
	if err != nil {
		return nil, fmt.Errorf("cib: patch: %w", err)
	}
	return res, nil
}

type bumpMode int

const (
	bumpAuto  bumpMode = iota // epoch for configuration changes, num_updates otherwise
	bumpEpoch                 // always bump epoch (cibadmin -B)
	bumpErase                 // admin_epoch+1 as well
	bumpNone                  // the caller sets the version (patch)
)

type plan struct {
	changes    []Change
	bump       bumpMode
	setVersion *Version
}

func parseObject(data []byte) (*etree.Element, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("%w: no XML given (use -X, -x or -p)", ErrBadRequest)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no element in the XML given", ErrMalformed)
	}
	if n := len(doc.ChildElements()); n != 1 {
		return nil, fmt.Errorf("%w: want one top-level element, got %d", ErrMalformed, n)
	}
	root := doc.Root()
	doc.RemoveChild(root)
	return root, nil
}

func describe(e *etree.Element) string {
	if id := e.SelectAttrValue("id", ""); id != "" {
		return fmt.Sprintf("%s id=%q", e.Tag, id)
	}
	return e.Tag
}

func (c *CIB) plan(req Request) (*plan, error) {
	if req.Scope != "" && !validScope(req.Scope) {
		return nil, fmt.Errorf("%w: unknown scope %q (want one of %s)", ErrBadRequest, req.Scope, strings.Join(Scopes, ", "))
	}
	switch req.Op {
	case OpBump:
		return &plan{bump: bumpEpoch}, nil
	case OpErase:
		if !req.Force {
			return nil, fmt.Errorf("%w: erasing the CIB destroys the whole configuration", ErrForceRequired)
		}
		fresh := New()
		copyRootAttrs(fresh.Root(), c.Root())
		return &plan{changes: diffElements(c.Root(), fresh.Root(), nil), bump: bumpErase}, nil
	case OpCreate:
		return c.planCreate(req)
	case OpModify:
		return c.planModify(req)
	case OpReplace:
		return c.planReplace(req)
	case OpDelete, OpDeleteAll:
		return c.planDelete(req)
	}
	return nil, fmt.Errorf("%w: unknown operation %q", ErrBadRequest, req.Op)
}

func copyRootAttrs(dst, src *etree.Element) {
	for _, a := range src.Attr {
		dst.CreateAttr(a.FullKey(), a.Value)
	}
}

func (c *CIB) planCreate(req Request) (*plan, error) {
	obj, err := parseObject(req.XML)
	if err != nil {
		return nil, err
	}
	var parent *etree.Element
	if req.XPath != "" {
		m, err := c.FindXPath(req.XPath)
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: XPath %s matches nothing", ErrNotFound, req.XPath)
		}
		parent = m[0]
	} else {
		scope := req.Scope
		if scope == "" {
			scope = sectionFor(obj.Tag)
			if scope == "" {
				return nil, fmt.Errorf("%w: cannot tell where <%s> belongs; give -o/--scope", ErrBadRequest, obj.Tag)
			}
		}
		parent = c.sectionElement(scope)
		if parent == nil {
			// optional sections (rsc_defaults, op_defaults, ...) are created on demand
			conf := c.Root().SelectElement("configuration")
			ch := Change{Op: ChangeCreate, Path: elementPath(conf), Position: -1, Element: etree.NewElement(scope)}
			if obj.Tag == scope {
				ch.Element = obj
				return &plan{changes: []Change{ch}}, nil
			}
			ch.Element.AddChild(obj)
			return &plan{changes: []Change{ch}}, nil
		}
	}
	objs := []*etree.Element{obj}
	if obj.Tag == parent.Tag && parent != c.Root() {
		objs = obj.ChildElements() // <resources><primitive/>...</resources>: create each child
	}
	var changes []Change
	ppath := elementPath(parent)
	for _, o := range objs {
		if id := o.SelectAttrValue("id", ""); id != "" {
			other := findChild(parent, pathStep{tag: o.Tag, id: id, hid: true})
			if other == nil && section(parent) == "configuration" {
				other = c.findID(id)
			}
			if other != nil {
				return nil, fmt.Errorf("%s %q: id %w (also used by <%s>)", o.Tag, id, ErrExists, other.Tag)
			}
		}
		changes = append(changes, Change{Op: ChangeCreate, Path: ppath, Position: -1, Element: o})
	}
	return &plan{changes: changes}, nil
}

// findID finds a configuration element by id using the index.
func (c *CIB) findID(id string) *etree.Element {
	c.buildIndex()
	return c.ids[id]
}

// findObject finds the element matching obj (same tag and id) under
// scope, or the section itself when obj is a section.
func (c *CIB) findObject(obj *etree.Element, scope string) *etree.Element {
	if obj.Tag == "cib" {
		return c.Root()
	}
	if validScope(obj.Tag) && (scope == "" || scope == obj.Tag) {
		return c.sectionElement(obj.Tag)
	}
	base := c.sectionElement(scope)
	if base == nil {
		return nil
	}
	id := obj.SelectAttrValue("id", "")
	if id != "" && section(base) != "status" {
		c.buildIndex()
		if e := c.ids[id]; e != nil && e.Tag == obj.Tag && isWithin(e, base) {
			return e
		}
		// Objects whose ids are unique identities are all in the index;
		// nodes, resource_ref/obj_ref and non-ACL roles are not indexed
		// (hasOwnID) and are found by the walk below.
		if section(base) == "configuration" && !sharedIDTag(obj.Tag) {
			return nil
		}
	}
	var found *etree.Element
	walk(base, func(e *etree.Element) {
		if found != nil || e.Tag != obj.Tag {
			return
		}
		if id != "" && e.SelectAttrValue("id", "") != id {
			return
		}
		found = e
	})
	return found
}

// sharedIDTag reports tags whose ids hasOwnID may leave out of the id
// index.
func sharedIDTag(tag string) bool {
	switch tag {
	case "node", "resource_ref", "obj_ref", "role":
		return true
	}
	return false
}

func isWithin(e, base *etree.Element) bool {
	for cur := e; cur != nil; cur = cur.Parent() {
		if cur == base {
			return true
		}
	}
	return false
}

var scoreIncr = regexp.MustCompile(`^([A-Za-z0-9_.:#-]+)(\+\+|\+=(-?\d+))$`)

// mergeInto returns a copy of target with obj's attributes and children
// merged in: attributes set, children matched by tag and id (id-less by
// tag) merged recursively, new children appended.
func mergeInto(target, obj *etree.Element, score bool) *etree.Element {
	out := target.Copy()
	mergeRec(out, obj, score)
	return out
}

func mergeRec(dst, src *etree.Element, score bool) {
	for _, a := range src.Attr {
		v := a.Value
		if score {
			if m := scoreIncr.FindStringSubmatch(v); m != nil && m[1] == a.FullKey() {
				cur := dst.SelectAttrValue(a.FullKey(), "0")
				n, _ := strconv.ParseInt(cur, 10, 64)
				d := int64(1)
				if m[3] != "" {
					d, _ = strconv.ParseInt(m[3], 10, 64)
				}
				v = strconv.FormatInt(n+d, 10)
			}
		}
		dst.CreateAttr(a.FullKey(), v)
	}
	for _, sc := range src.ChildElements() {
		id := sc.SelectAttrValue("id", "")
		var match *etree.Element
		for _, dc := range dst.ChildElements() {
			if dc.Tag == sc.Tag && dc.SelectAttrValue("id", "") == id {
				match = dc
				break
			}
		}
		if match != nil {
			mergeRec(match, sc, score)
		} else {
			dst.AddChild(sc.Copy())
		}
	}
}

func (c *CIB) planModify(req Request) (*plan, error) {
	obj, err := parseObject(req.XML)
	if err != nil {
		return nil, err
	}
	var target *etree.Element
	if req.XPath != "" {
		m, err := c.FindXPath(req.XPath)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			target = m[0]
		}
	} else {
		target = c.findObject(obj, req.Scope)
	}
	if target == nil {
		if req.AllowCreate {
			return c.planCreate(Request{Op: OpCreate, Scope: req.Scope, XML: req.XML})
		}
		return nil, fmt.Errorf("%s: %w (use -c/--allow-create to create it)", describe(obj), ErrNotFound)
	}
	if target.Tag != obj.Tag && req.XPath == "" {
		return nil, fmt.Errorf("%w: <%s> does not match <%s>", ErrBadRequest, obj.Tag, target.Tag)
	}
	if target.Tag == obj.Tag || req.XPath == "" {
		merged := mergeInto(target, obj, req.Score)
		return &plan{changes: diffElements(target, merged, nil)}, nil
	}
	// XPath pointed at a parent: merge obj as a child of it
	wrapper := etree.NewElement(target.Tag)
	wrapper.AddChild(obj)
	merged := mergeInto(target, wrapper, req.Score)
	return &plan{changes: diffElements(target, merged, nil)}, nil
}

func (c *CIB) planReplace(req Request) (*plan, error) {
	obj, err := parseObject(req.XML)
	if err != nil {
		return nil, err
	}
	if obj.Tag == "cib" && req.XPath == "" {
		newV := versionOf(obj)
		cur := c.Version()
		if newV.Compare(cur) < 0 && !req.Force {
			return nil, fmt.Errorf("%w: the replacement CIB (%s) is older than the current one (%s); use --force", ErrVersion, newV, cur)
		}
		nc := &CIB{doc: etree.NewDocument()}
		nc.doc.SetRoot(obj)
		nc.ensureSkeleton()
		pl := &plan{changes: diffElements(c.Root(), nc.Root(), nil)}
		if newV.AdminEpoch > cur.AdminEpoch || newV.Epoch > cur.Epoch {
			// the administrator's version wins, then the change is counted
			v := Version{AdminEpoch: newV.AdminEpoch, Epoch: newV.Epoch, NumUpdates: newV.NumUpdates}
			if v.AdminEpoch < cur.AdminEpoch {
				v.AdminEpoch = cur.AdminEpoch
			}
			pl.setVersion = &v
		}
		return pl, nil
	}
	var target *etree.Element
	if req.XPath != "" {
		m, err := c.FindXPath(req.XPath)
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: XPath %s matches nothing", ErrNotFound, req.XPath)
		}
		target = m[0]
	} else {
		target = c.findObject(obj, req.Scope)
	}
	if target == nil {
		return nil, fmt.Errorf("%s: %w", describe(obj), ErrNotFound)
	}
	if target == c.Root() {
		return nil, fmt.Errorf("%w: replace the whole CIB with a <cib> element", ErrBadRequest)
	}
	if target.Tag == obj.Tag && target.SelectAttrValue("id", "") == obj.SelectAttrValue("id", "") {
		return &plan{changes: diffElements(target, obj, nil)}, nil
	}
	parent := target.Parent()
	return &plan{changes: []Change{
		{Op: ChangeDelete, Path: elementPath(target)},
		{Op: ChangeCreate, Path: elementPath(parent), Position: elementIndex(parent, target), Element: obj},
	}}, nil
}

func (c *CIB) planDelete(req Request) (*plan, error) {
	if req.XPath != "" {
		m, err := c.FindXPath(req.XPath)
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: XPath %s matches nothing", ErrNotFound, req.XPath)
		}
		if req.Op == OpDelete {
			m = m[:1]
		}
		var changes []Change
		// delete deepest and last first so the remaining paths stay valid
		for i := len(m) - 1; i >= 0; i-- {
			if m[i] == c.Root() {
				return nil, fmt.Errorf("%w: cannot delete /cib", ErrBadRequest)
			}
			if ancestorIn(m[i], m[:i]) {
				continue
			}
			changes = append(changes, Change{Op: ChangeDelete, Path: elementPath(m[i])})
		}
		return &plan{changes: changes}, nil
	}
	if req.Op == OpDeleteAll {
		return nil, fmt.Errorf("%w: -d/--delete-all needs -A/--xpath", ErrBadRequest)
	}
	obj, err := parseObject(req.XML)
	if err != nil {
		return nil, err
	}
	target := c.findObject(obj, req.Scope)
	if target == nil || !attrsMatch(target, obj) {
		return nil, fmt.Errorf("%s: %w", describe(obj), ErrNotFound)
	}
	if validScope(target.Tag) || target == c.Root() {
		if len(obj.ChildElements()) == 0 {
			return nil, fmt.Errorf("%w: cannot delete the %s section itself", ErrBadRequest, target.Tag)
		}
	}
	var changes []Change
	var rec func(t, o *etree.Element) error
	rec = func(t, o *etree.Element) error {
		kids := o.ChildElements()
		if len(kids) == 0 {
			changes = append(changes, Change{Op: ChangeDelete, Path: elementPath(t)})
			return nil
		}
		for _, k := range kids {
			var match *etree.Element
			for _, tc := range t.ChildElements() {
				if tc.Tag == k.Tag && attrsMatch(tc, k) {
					match = tc
					break
				}
			}
			if match == nil {
				return fmt.Errorf("%s: %w", describe(k), ErrNotFound)
			}
			if err := rec(match, k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec(target, obj); err != nil {
		return nil, err
	}
	return &plan{changes: changes}, nil
}

func ancestorIn(e *etree.Element, list []*etree.Element) bool {
	for _, o := range list {
		if o != e && isWithin(e, o) {
			return true
		}
	}
	return false
}

func attrsMatch(e, pattern *etree.Element) bool {
	for _, a := range pattern.Attr {
		if e.SelectAttrValue(a.FullKey(), "\x00") != a.Value {
			return false
		}
	}
	return true
}

// buildIndex builds the configuration id index if it is missing.
func (c *CIB) buildIndex() {
	if c.ids != nil {
		return
	}
	c.ids = map[string]*etree.Element{}
	if conf := c.Root().SelectElement("configuration"); conf != nil {
		walk(conf, func(e *etree.Element) {
			if id := e.SelectAttr("id"); id != nil && hasOwnID(e) {
				if _, dup := c.ids[id.Value]; !dup {
					c.ids[id.Value] = e
				}
			}
		})
	}
}

// commit applies changes atomically, bumps the version and validates.
func (c *CIB) commit(changes []Change, bump bumpMode, setVersion *Version, req Request) (*Result, error) {
	c.buildIndex()
	root := c.Root()
	before := c.Version()
	var u undo
	tr := &tracker{}
	if err := applyChanges(root, changes, &u, tr); err != nil {
		u.rollback()
		return nil, err
	}
	if len(changes) > 0 && !tr.config && !tr.status && bump == bumpAuto {
		tr.status = true
	}
	v := before
	if setVersion != nil {
		v = *setVersion
	}
	switch bump {
	case bumpAuto:
		if tr.config {
			v.Epoch++
			v.NumUpdates = 0
		} else if tr.status {
			v.NumUpdates++
		}
		if setVersion != nil && v.Compare(before) <= 0 {
			v = before
			v.Epoch++
			v.NumUpdates = 0
		}
	case bumpEpoch:
		v.Epoch++
		v.NumUpdates = 0
	case bumpErase:
		v.AdminEpoch++
		v.NumUpdates = 0
		v.Epoch++
	}
	if v == before && len(changes) == 0 {
		return &Result{Version: before}, nil
	}
	if v != before {
		u.setAttr(root, "admin_epoch", strconv.FormatInt(v.AdminEpoch, 10))
		u.setAttr(root, "epoch", strconv.FormatInt(v.Epoch, 10))
		u.setAttr(root, "num_updates", strconv.FormatInt(v.NumUpdates, 10))
	}
	if tr.config && bump != bumpNone {
		// the housekeeping attributes travel in the patch, as a modify of
		// /cib, so that replicas and the store's replay carry them too
		var hk []AttrChange
		for _, kv := range [][2]string{{"cib-last-written", req.LastWritten}, {"update-origin", req.Origin}, {"update-client", req.Client}, {"update-user", req.User}} {
			if kv[1] != "" && root.SelectAttrValue(kv[0], "\x00") != kv[1] {
				u.setAttr(root, kv[0], kv[1])
				hk = append(hk, AttrChange{Name: kv[0], Value: kv[1]})
			}
		}
		if len(hk) > 0 {
			changes = append(changes[:len(changes):len(changes)], Change{Op: ChangeModify, Path: "/cib", Attrs: hk})
		}
	}
	added, removed, err := validateIncremental(root, c.ids, tr)
	if err == errFullValidation {
		if verr := c.Validate(); verr != nil {
			u.rollback()
			return nil, verr
		}
		c.ids = nil
	} else if err != nil {
		u.rollback()
		return nil, err
	} else {
		for id := range removed {
			delete(c.ids, id)
		}
		for id, e := range added {
			c.ids[id] = e
		}
	}
	p := &Patch{Source: before, Target: v, Changes: changes}
	return &Result{Version: v, Patch: p}, nil
}
