package cib

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// ChangeOp is the kind of one change in a patch.
type ChangeOp string

// The change operations of Pacemaker's format-2 patchsets.
const (
	ChangeCreate ChangeOp = "create"
	ChangeModify ChangeOp = "modify"
	ChangeDelete ChangeOp = "delete"
	ChangeMove   ChangeOp = "move"
)

// AttrChange is one attribute set or unset inside a modify change.
type AttrChange struct {
	Name  string
	Unset bool
	Value string
}

// Change is one step of a patch. Path addresses the target element with
// Pacemaker's path syntax (/cib/configuration/resources/primitive[@id='x']);
// for create, Path is the parent and Element the new child.
type Change struct {
	Op       ChangeOp
	Path     string
	Position int            // create, move: index among element siblings; -1 = append
	Element  *etree.Element // create: the new element; modify: the resulting attributes (no children)
	Attrs    []AttrChange   // modify: the attribute changes
}

// Patch is a version-checked change set in Pacemaker's format-2 diff shape:
// applying it to a CIB at Source yields the CIB at Target.
type Patch struct {
	Source  Version
	Target  Version
	Changes []Change
}

// Empty reports whether the patch changes nothing but possibly the version.
func (p *Patch) Empty() bool { return len(p.Changes) == 0 }

// XML renders the patch as <diff format="2">, as cibadmin -P reads it.
func (p *Patch) XML() *etree.Element {
	d := etree.NewElement("diff")
	d.CreateAttr("format", "2")
	v := d.CreateElement("version")
	for _, sv := range []struct {
		tag string
		v   Version
	}{{"source", p.Source}, {"target", p.Target}} {
		e := v.CreateElement(sv.tag)
		e.CreateAttr("admin_epoch", strconv.FormatInt(sv.v.AdminEpoch, 10))
		e.CreateAttr("epoch", strconv.FormatInt(sv.v.Epoch, 10))
		e.CreateAttr("num_updates", strconv.FormatInt(sv.v.NumUpdates, 10))
	}
	for _, c := range p.Changes {
		ce := d.CreateElement("change")
		ce.CreateAttr("operation", string(c.Op))
		ce.CreateAttr("path", c.Path)
		switch c.Op {
		case ChangeCreate:
			ce.CreateAttr("position", strconv.Itoa(c.Position))
			ce.AddChild(c.Element.Copy())
		case ChangeMove:
			ce.CreateAttr("position", strconv.Itoa(c.Position))
		case ChangeModify:
			cl := ce.CreateElement("change-list")
			for _, a := range c.Attrs {
				ae := cl.CreateElement("change-attr")
				ae.CreateAttr("name", a.Name)
				if a.Unset {
					ae.CreateAttr("operation", "unset")
				} else {
					ae.CreateAttr("operation", "set")
					ae.CreateAttr("value", a.Value)
				}
			}
			if c.Element != nil {
				cr := ce.CreateElement("change-result")
				cr.AddChild(c.Element.Copy())
			}
		}
	}
	return d
}

// Bytes renders the patch as indented XML.
func (p *Patch) Bytes() []byte {
	doc := etree.NewDocument()
	doc.SetRoot(p.XML())
	doc.Indent(2)
	var buf bytes.Buffer
	_, _ = doc.WriteTo(&buf)
	return buf.Bytes()
}

// ParsePatch reads a <diff format="2"> patchset. Any structural problem is
// an error wrapping ErrMalformed; nothing about the target CIB is checked
// here (Apply does that).
func ParsePatch(data []byte) (*Patch, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("cib: patch: %w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("cib: patch: %w: empty document", ErrMalformed)
	}
	return PatchFromElement(doc.Root())
}

// PatchFromElement reads a patch from an already parsed <diff> element.
func PatchFromElement(d *etree.Element) (*Patch, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("cib: patch: %w: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if d.Tag != "diff" {
		return nil, bad("root element is <%s>, want <diff>", d.Tag)
	}
	if f := d.SelectAttrValue("format", "1"); f != "2" {
		return nil, bad("diff format %q is not supported (want format=\"2\")", f)
	}
	p := &Patch{}
	ve := d.SelectElement("version")
	if ve == nil {
		return nil, bad("missing <version>")
	}
	for _, sv := range []struct {
		tag string
		v   *Version
	}{{"source", &p.Source}, {"target", &p.Target}} {
		e := ve.SelectElement(sv.tag)
		if e == nil {
			return nil, bad("missing <version><%s>", sv.tag)
		}
		v, err := parseVersionAttrs(e)
		if err != nil {
			return nil, bad("<%s>: %v", sv.tag, err)
		}
		*sv.v = v
	}
	for i, ce := range d.SelectElements("change") {
		c := Change{Op: ChangeOp(ce.SelectAttrValue("operation", "")), Path: ce.SelectAttrValue("path", ""), Position: -1}
		if c.Path == "" || !strings.HasPrefix(c.Path, "/") {
			return nil, bad("change %d: missing or relative path %q", i+1, c.Path)
		}
		if _, err := parsePath(c.Path); err != nil {
			return nil, bad("change %d: %v", i+1, err)
		}
		if ps := ce.SelectAttrValue("position", ""); ps != "" {
			n, err := strconv.Atoi(ps)
			if err != nil || n < 0 {
				return nil, bad("change %d: bad position %q", i+1, ps)
			}
			c.Position = n
		}
		switch c.Op {
		case ChangeCreate:
			kids := ce.ChildElements()
			if len(kids) != 1 {
				return nil, bad("change %d: create needs exactly one element, has %d", i+1, len(kids))
			}
			c.Element = kids[0].Copy()
		case ChangeDelete:
		case ChangeMove:
			if c.Position < 0 {
				return nil, bad("change %d: move without position", i+1)
			}
		case ChangeModify:
			if cl := ce.SelectElement("change-list"); cl != nil {
				for _, ae := range cl.SelectElements("change-attr") {
					name := ae.SelectAttrValue("name", "")
					if name == "" {
						return nil, bad("change %d: change-attr without name", i+1)
					}
					switch op := ae.SelectAttrValue("operation", ""); op {
					case "set":
						c.Attrs = append(c.Attrs, AttrChange{Name: name, Value: ae.SelectAttrValue("value", "")})
					case "unset":
						c.Attrs = append(c.Attrs, AttrChange{Name: name, Unset: true})
					default:
						return nil, bad("change %d: change-attr %q has operation %q", i+1, name, op)
					}
				}
			}
			if cr := ce.SelectElement("change-result"); cr != nil {
				if kids := cr.ChildElements(); len(kids) == 1 {
					c.Element = kids[0].Copy()
					c.Element.Child = nil
				}
			}
			if c.Element == nil && len(c.Attrs) == 0 {
				return nil, bad("change %d: modify without change-list or change-result", i+1)
			}
		default:
			return nil, bad("change %d: unknown operation %q", i+1, c.Op)
		}
		p.Changes = append(p.Changes, c)
	}
	return p, nil
}

func parseVersionAttrs(e *etree.Element) (Version, error) {
	var v Version
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"admin_epoch", &v.AdminEpoch}, {"epoch", &v.Epoch}, {"num_updates", &v.NumUpdates}} {
		s := e.SelectAttrValue(f.name, "0")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return v, fmt.Errorf("bad %s %q", f.name, s)
		}
		*f.dst = n
	}
	return v, nil
}

// pathStep is one step of a patch path: a tag, optionally an id, optionally
// a 1-based position among same-tag siblings.
type pathStep struct {
	tag string
	id  string
	hid bool
	pos int
}

// parsePath splits /a/b[@id='x']/c[2] into steps. Only the forms patches use
// are accepted.
func parsePath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q is not absolute", p)
	}
	var steps []pathStep
	rest := p[1:]
	for rest != "" {
		var st pathStep
		i := strings.IndexAny(rest, "[/")
		if i < 0 {
			st.tag, rest = rest, ""
		} else {
			st.tag, rest = rest[:i], rest[i:]
		}
		if st.tag == "" {
			return nil, fmt.Errorf("path %q has an empty step", p)
		}
		for strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			// an id may not contain ']' in a well-formed CIB; be strict
			if end < 0 {
				return nil, fmt.Errorf("path %q: unterminated predicate", p)
			}
			pred := rest[1:end]
			rest = rest[end+1:]
			switch {
			case strings.HasPrefix(pred, "@id="):
				v := pred[4:]
				if len(v) < 2 || (v[0] != '\'' && v[0] != '"') || v[len(v)-1] != v[0] {
					return nil, fmt.Errorf("path %q: bad id predicate %q", p, pred)
				}
				st.id, st.hid = v[1:len(v)-1], true
			default:
				n, err := strconv.Atoi(pred)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("path %q: unsupported predicate [%s]", p, pred)
				}
				st.pos = n
			}
		}
		if strings.HasPrefix(rest, "/") {
			rest = rest[1:]
			if rest == "" {
				return nil, fmt.Errorf("path %q ends with /", p)
			}
		}
		steps = append(steps, st)
	}
	if len(steps) == 0 || steps[0].tag != "cib" {
		return nil, fmt.Errorf("path %q does not start at /cib", p)
	}
	return steps, nil
}

// resolvePath finds the element a patch path names, or nil.
func resolvePath(root *etree.Element, p string) *etree.Element {
	steps, err := parsePath(p)
	if err != nil {
		return nil
	}
	if root.Tag != steps[0].tag || (steps[0].hid && root.SelectAttrValue("id", "") != steps[0].id) {
		return nil
	}
	cur := root
	for _, st := range steps[1:] {
		cur = findChild(cur, st)
		if cur == nil {
			return nil
		}
	}
	return cur
}

func findChild(parent *etree.Element, st pathStep) *etree.Element {
	n := 0
	for _, tok := range parent.Child {
		c, ok := tok.(*etree.Element)
		if !ok || c.Tag != st.tag {
			continue
		}
		if st.hid {
			if a := c.SelectAttr("id"); a == nil || a.Value != st.id {
				continue
			}
		}
		n++
		if st.pos == 0 || st.pos == n {
			return c
		}
	}
	return nil
}

// elementPath returns the patch path of e: tag[@id='x'] steps, and tag[N]
// for id-less elements that have same-tag siblings.
func elementPath(e *etree.Element) string {
	var parts []string
	for cur := e; cur != nil && cur.Tag != ""; cur = cur.Parent() {
		parts = append(parts, stepOf(cur))
		if cur.Parent() == nil || cur.Parent().Tag == "" {
			break
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

func stepOf(e *etree.Element) string {
	if id := e.SelectAttr("id"); id != nil && e.Tag != "cib" {
		return e.Tag + "[@id='" + id.Value + "']"
	}
	p := e.Parent()
	if p == nil || p.Tag == "" {
		return e.Tag
	}
	n, pos := 0, 0
	for _, tok := range p.Child {
		c, ok := tok.(*etree.Element)
		if !ok || c.Tag != e.Tag || c.SelectAttr("id") != nil {
			continue
		}
		n++
		if c == e {
			pos = n
		}
	}
	if n > 1 {
		return fmt.Sprintf("%s[%d]", e.Tag, pos)
	}
	return e.Tag
}

// elementIndex returns the index of child among parent's element children.
func elementIndex(parent, child *etree.Element) int {
	n := 0
	for _, tok := range parent.Child {
		if c, ok := tok.(*etree.Element); ok {
			if c == child {
				return n
			}
			n++
		}
	}
	return -1
}

// insertElementAt inserts child at element position pos (append if pos is
// out of range) and returns the token index used.
func insertElementAt(parent, child *etree.Element, pos int) {
	if pos >= 0 {
		n := 0
		for i, tok := range parent.Child {
			if _, ok := tok.(*etree.Element); ok {
				if n == pos {
					parent.InsertChildAt(i, child)
					return
				}
				n++
			}
		}
	}
	parent.AddChild(child)
}

// undo is a log of inverse actions, run in reverse to roll back.
type undo []func()

func (u *undo) push(f func()) { *u = append(*u, f) }

func (u *undo) rollback() {
	for i := len(*u) - 1; i >= 0; i-- {
		(*u)[i]()
	}
	*u = nil
}

func (u *undo) setAttr(e *etree.Element, name, value string) {
	if a := e.SelectAttr(name); a != nil {
		old := a.Value
		if old == value {
			return
		}
		u.push(func() { e.CreateAttr(name, old) })
	} else {
		u.push(func() { e.RemoveAttr(name) })
	}
	e.CreateAttr(name, value)
}

func (u *undo) removeAttr(e *etree.Element, name string) {
	a := e.SelectAttr(name)
	if a == nil {
		return
	}
	old := a.Value
	idx := 0
	for i := range e.Attr {
		if e.Attr[i].FullKey() == name {
			idx = i
			break
		}
	}
	e.RemoveAttr(name)
	u.push(func() {
		e.CreateAttr(name, old)
		// restore the attribute's original position so output is unchanged
		n := len(e.Attr)
		if idx < n-1 {
			last := e.Attr[n-1]
			copy(e.Attr[idx+1:], e.Attr[idx:n-1])
			e.Attr[idx] = last
		}
	})
}

func (u *undo) insert(parent, child *etree.Element, pos int) {
	insertElementAt(parent, child, pos)
	u.push(func() { parent.RemoveChild(child) })
}

func (u *undo) remove(child *etree.Element) {
	parent := child.Parent()
	ti := child.Index()
	parent.RemoveChildAt(ti)
	u.push(func() { parent.InsertChildAt(ti, child) })
}

// applyChanges applies changes in order to the document under root,
// logging inverse actions in u. It stops at the first change that does not
// apply; the caller rolls back.
func applyChanges(root *etree.Element, changes []Change, u *undo, tr *tracker) error {
	for i := range changes {
		c := &changes[i]
		target := resolvePath(root, c.Path)
		if target == nil {
			return fmt.Errorf("change %d (%s %s): %w: path does not resolve", i+1, c.Op, c.Path, ErrNotFound)
		}
		switch c.Op {
		case ChangeCreate:
			if id := c.Element.SelectAttrValue("id", ""); id != "" {
				if findChild(target, pathStep{tag: c.Element.Tag, id: id, hid: true}) != nil {
					return fmt.Errorf("change %d: %s id=%q: %w", i+1, c.Element.Tag, id, ErrExists)
				}
			}
			child := c.Element.Copy()
			u.insert(target, child, c.Position)
			c.Position = elementIndex(target, child)
			tr.onCreate(child)
		case ChangeDelete:
			if target == root {
				return fmt.Errorf("change %d: %w: cannot delete /cib", i+1, ErrBadRequest)
			}
			tr.onDelete(target)
			u.remove(target)
		case ChangeMove:
			parent := target.Parent()
			if parent == nil {
				return fmt.Errorf("change %d: %w: cannot move /cib", i+1, ErrBadRequest)
			}
			tr.note(target)
			u.remove(target)
			u.insert(parent, target, c.Position)
		case ChangeModify:
			if c.Element != nil {
				want := make(map[string]bool, len(c.Element.Attr))
				for _, a := range c.Element.Attr {
					want[a.FullKey()] = true
				}
				var drop []string
				for _, a := range target.Attr {
					if !want[a.FullKey()] {
						drop = append(drop, a.FullKey())
					}
				}
				for _, k := range drop {
					u.removeAttr(target, k)
				}
				for _, a := range c.Element.Attr {
					u.setAttr(target, a.FullKey(), a.Value)
				}
			} else {
				for _, a := range c.Attrs {
					if a.Unset {
						u.removeAttr(target, a.Name)
					} else {
						u.setAttr(target, a.Name, a.Value)
					}
				}
			}
			tr.onModify(target)
		}
	}
	return nil
}
