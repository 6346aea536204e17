package cib

import (
	"strconv"

	"github.com/beevik/etree"
)

// Diff returns the patch that turns a into b: format-2 changes whose
// sequential application to a yields b's document. Children are matched by
// tag and id (id-less children by tag and ordinal), so the patch is small
// when the documents share most of their structure. The patch's Source is
// a's version and Target b's.
func Diff(a, b *CIB) *Patch {
	p := &Patch{Source: a.Version(), Target: b.Version()}
	p.Changes = diffElements(a.Root(), b.Root(), nil)
	return p
}

// diffElements appends to out the changes that turn old into new. old is
// addressed by its current path; both must have the same tag and id.
func diffElements(old, new *etree.Element, out []Change) []Change {
	if !sameAttrs(old, new, old.Tag == "cib") {
		c := Change{Op: ChangeModify, Path: elementPath(old)}
		c.Attrs = attrChanges(old, new, old.Tag == "cib")
		res := new.Copy()
		res.Child = nil
		if old.Tag == "cib" {
			// version attributes travel in the patch header, not as a change
			for _, k := range versionAttrs {
				if a := old.SelectAttr(k); a != nil {
					res.CreateAttr(k, a.Value)
				} else {
					res.RemoveAttr(k)
				}
			}
		}
		c.Element = res
		if len(c.Attrs) > 0 {
			out = append(out, c)
		}
	}
	if textOf(old) != textOf(new) {
		// text content is rare in a CIB (descriptions); replace the element
		parent := old.Parent()
		if parent != nil && parent.Tag != "" {
			pos := elementIndex(parent, old)
			out = append(out, Change{Op: ChangeDelete, Path: elementPath(old)})
			out = append(out, Change{Op: ChangeCreate, Path: elementPath(parent), Position: pos, Element: new.Copy()})
			return out
		}
	}

	oldKids := old.ChildElements()
	newKids := new.ChildElements()
	// match by key
	type key struct {
		tag, id string
		ord     int
	}
	keyOf := func(list []*etree.Element) []key {
		ks := make([]key, len(list))
		ords := map[string]int{}
		for i, e := range list {
			if id := e.SelectAttr("id"); id != nil {
				ks[i] = key{tag: e.Tag, id: id.Value}
			} else {
				ords[e.Tag]++
				ks[i] = key{tag: e.Tag, ord: ords[e.Tag]}
			}
		}
		return ks
	}
	ok, nk := keyOf(oldKids), keyOf(newKids)
	newIdx := make(map[key]int, len(nk))
	for i, k := range nk {
		newIdx[k] = i
	}
	oldIdx := make(map[key]int, len(ok))
	for i, k := range ok {
		oldIdx[k] = i
	}
	// fast path: identical key sequence
	same := len(ok) == len(nk)
	if same {
		for i := range ok {
			if ok[i] != nk[i] {
				same = false
				break
			}
		}
	}
	if same {
		for i := range oldKids {
			out = diffElements(oldKids[i], newKids[i], out)
		}
		return out
	}
	// deletes first (paths of the remaining siblings stay valid because
	// they are id-addressed or ordinal-addressed among id-less siblings;
	// delete id-less ones from the end so ordinals stay right)
	for i := len(oldKids) - 1; i >= 0; i-- {
		if _, found := newIdx[ok[i]]; !found {
			out = append(out, Change{Op: ChangeDelete, Path: elementPath(oldKids[i])})
		}
	}
	// simulate the working list of remaining keys
	var work []key
	elemOf := map[key]*etree.Element{}
	for i, k := range ok {
		if _, found := newIdx[k]; found {
			work = append(work, k)
			elemOf[k] = oldKids[i]
		}
	}
	parentPath := elementPath(old)
	for i, k := range nk {
		if i < len(work) && work[i] == k {
			continue
		}
		if _, existed := elemOf[k]; existed {
			j := indexOfKey(work, k)
			ord := 0
			for _, w := range work[:j+1] {
				if w.id == "" && w.tag == k.tag {
					ord++
				}
			}
			out = append(out, Change{Op: ChangeMove, Path: pathInParent(parentPath, elemOf[k], ord), Position: i})
			work = append(work[:j], work[j+1:]...)
			work = append(work[:i], append([]key{k}, work[i:]...)...)
			continue
		}
		out = append(out, Change{Op: ChangeCreate, Path: parentPath, Position: i, Element: newKids[i].Copy()})
		work = append(work[:i], append([]key{k}, work[i:]...)...)
	}
	for i, k := range nk {
		if oe, existed := elemOf[k]; existed {
			sub := diffElements(oe, newKids[i], nil)
			if k.id == "" && len(sub) > 0 {
				// id-less element paths were computed in the old document;
				// rewrite them against the ordinal in the new document
				sub = rebase(sub, elementPath(oe), pathInParent(parentPath, newKids[i], k.ord))
			}
			out = append(out, sub...)
		}
	}
	return out
}

func indexOfKey[K comparable](list []K, k K) int {
	for i, x := range list {
		if x == k {
			return i
		}
	}
	return -1
}

// pathInParent is the path of child e under parentPath, with ordinal ord
// for id-less elements (0 when e has an id).
func pathInParent(parentPath string, e *etree.Element, ord int) string {
	if id := e.SelectAttr("id"); id != nil {
		return parentPath + "/" + e.Tag + "[@id='" + id.Value + "']"
	}
	return parentPath + "/" + e.Tag + "[" + strconv.Itoa(ord) + "]"
}

func rebase(changes []Change, from, to string) []Change {
	if from == to {
		return changes
	}
	for i := range changes {
		if len(changes[i].Path) >= len(from) && changes[i].Path[:len(from)] == from {
			changes[i].Path = to + changes[i].Path[len(from):]
		}
	}
	return changes
}

// versionAttrs are the root attributes carried by the patch header.
var versionAttrs = []string{"admin_epoch", "epoch", "num_updates"}

func isVersionAttr(k string) bool {
	return k == "admin_epoch" || k == "epoch" || k == "num_updates"
}

func sameAttrs(a, b *etree.Element, root bool) bool {
	if !root && len(a.Attr) != len(b.Attr) {
		return false
	}
	return len(attrChanges(a, b, root)) == 0
}

func attrChanges(a, b *etree.Element, root bool) []AttrChange {
	var out []AttrChange
	for _, ba := range b.Attr {
		if root && isVersionAttr(ba.FullKey()) {
			continue
		}
		if aa := a.SelectAttr(ba.FullKey()); aa == nil || aa.Value != ba.Value {
			out = append(out, AttrChange{Name: ba.FullKey(), Value: ba.Value})
		}
	}
	for _, aa := range a.Attr {
		if root && isVersionAttr(aa.FullKey()) {
			continue
		}
		if b.SelectAttr(aa.FullKey()) == nil {
			out = append(out, AttrChange{Name: aa.FullKey(), Unset: true})
		}
	}
	return out
}

func textOf(e *etree.Element) string {
	var s string
	for _, tok := range e.Child {
		if cd, ok := tok.(*etree.CharData); ok && !cd.IsWhitespace() {
			s += cd.Data
		}
	}
	return s
}
