package main

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
)

// setType is the attribute set -g/-p/-d work on: instance_attributes,
// meta_attributes (-m) or utilization (-z).
func (r *runner) setType() (string, error) {
	switch {
	case r.o.meta && r.o.util:
		return "", client.UsageError(tool, "give at most one of --meta and --utilization")
	case r.o.meta:
		return "meta_attributes", nil
	case r.o.util:
		return "utilization", nil
	}
	return "instance_attributes", nil
}

// findAttr returns the nvpairs of the resource element e named name in
// its sets of type setType (restricted to --set-name and --nvpair when
// given), in document order.
func (r *runner) findAttr(e *etree.Element, setType, name string) []*etree.Element {
	return findAttrIn(e, setType, name, r.o.setName, r.o.nvpair)
}

func findAttrIn(e *etree.Element, setType, name, setName, nvpair string) []*etree.Element {
	var out []*etree.Element
	for _, set := range e.SelectElements(setType) {
		if setName != "" && set.SelectAttrValue("id", "") != setName {
			continue
		}
		for _, nv := range set.SelectElements("nvpair") {
			if nvpair != "" && nv.SelectAttrValue("id", "") != nvpair {
				continue
			}
			if name != "" && nv.SelectAttrValue("name", "") != name {
				continue
			}
			out = append(out, nv)
		}
	}
	return out
}

// runGetParam is -g: print the value (meta attributes fall back to the
// parents' and rsc_defaults, as Pacemaker evaluates them).
func (r *runner) runGetParam() error {
	st, err := r.setType()
	if err != nil {
		return err
	}
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	name := r.o.getParam
	var found []*etree.Element
	for p := e; p != nil && resourceTags[p.Tag]; p = p.Parent() {
		if found = r.findAttr(p, st, name); len(found) > 0 || st != "meta_attributes" {
			break
		}
	}
	if len(found) == 0 && st == "meta_attributes" && r.o.setName == "" && r.o.nvpair == "" {
		for _, set := range s.doc.FindElements("/cib/configuration/rsc_defaults/meta_attributes") {
			for _, nv := range set.SelectElements("nvpair") {
				if nv.SelectAttrValue("name", "") == name {
					found = append(found, nv)
				}
			}
		}
	}
	if len(found) == 0 {
		return &client.CLIError{Code: client.ExitNoSuch, Msg: fmt.Sprintf("Attribute '%s' not found for '%s'", name, r.o.rsc)}
	}
	fmt.Fprintln(r.out, found[0].SelectAttrValue("value", ""))
	return nil
}

// multiple reports several matches as Pacemaker does (ENOTUNIQ).
func (r *runner) multiple(name string, found []*etree.Element) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Multiple attributes match name=%s", name)
	for _, nv := range found {
		fmt.Fprintf(&b, "\n  Value: %s \t(id=%s)", nv.SelectAttrValue("value", ""), nv.SelectAttrValue("id", ""))
	}
	return &client.CLIError{Code: client.ExitError, Msg: b.String()}
}

// runSetParam is -p NAME -v VALUE (Pacemaker's
// cli_resource_update_attribute): update the nvpair where it is, or
// create RSC-SETTYPE / RSC-SETTYPE-NAME.
func (r *runner) runSetParam() error {
	st, err := r.setType()
	if err != nil {
		return err
	}
	if !r.changed("parameter-value") {
		return client.UsageError(tool, "--set-parameter needs a value (-v)")
	}
	name := r.o.setParam
	if name == "" {
		return client.UsageError(tool, "--set-parameter needs a name")
	}
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	e = r.attrTarget(e, st, name, "update")
	return r.setParamOn(e, st, name, r.o.value, r.o.setName, r.o.nvpair, !r.o.quiet)
}

// attrTarget is Pacemaker's find_matching_attr_resources (without
// --recursive): unless --force, an attribute of a cloned primitive that
// the primitive does not have goes to its clone, and one of a clone that
// its primitive has goes to the primitive; both are announced.
func (r *runner) attrTarget(e *etree.Element, st, name, cmd string) *etree.Element {
	if r.o.force {
		return e
	}
	id := e.SelectAttrValue("id", "")
	if p := e.Parent(); p != nil && (p.Tag == "clone" || p.Tag == "master") {
		if len(r.findAttr(e, st, name)) == 0 {
			r.infof("Performing %s of '%s' on '%s', the parent of '%s'", cmd, name, p.SelectAttrValue("id", ""), id)
			return p
		}
		return e
	}
	if e.Tag == "clone" || e.Tag == "master" {
		for _, ch := range e.ChildElements() {
			if ch.Tag != "primitive" {
				continue
			}
			if len(r.findAttr(ch, st, name)) > 0 {
				r.infof("A value for '%s' already exists in child '%s', performing %s on that instead of '%s'", name, ch.SelectAttrValue("id", ""), cmd, id)
				return ch
			}
			break
		}
	}
	return e
}

// setParamOn sets name=value in a set of type st of the resource element
// e: where the pair is, else in the set setName,
// else in the set RSC-ST (created when missing, as Pacemaker); a new pair gets the id SET-NAME (or nvpair).
func (r *runner) setParamOn(e *etree.Element, st, name, value, setName, nvpair string, print bool) error {
	id := e.SelectAttrValue("id", "")
	found := findAttrIn(e, st, name, setName, nvpair)
	if len(found) > 1 {
		return r.multiple(name, found)
	}
	top := etree.NewElement(e.Tag)
	top.CreateAttr("id", id)
	setID, nvID := setName, nvpair
	var set *etree.Element
	if len(found) == 1 {
		nvID = found[0].SelectAttrValue("id", "")
		set = top.CreateElement(found[0].Parent().Tag)
		set.CreateAttr("id", found[0].Parent().SelectAttrValue("id", ""))
	} else {
		if setID == "" {
			setID = id + "-" + st
		}
		if nvID == "" {
			nvID = setID + "-" + name
		}
		set = top.CreateElement(st)
		set.CreateAttr("id", setID)
	}
	nv := set.CreateElement("nvpair")
	nv.CreateAttr("id", nvID)
	nv.CreateAttr("name", name)
	nv.CreateAttr("value", value)
	if _, err := r.apply(cib.Request{Op: cib.OpModify, Scope: "resources", XML: server.ElementBytes(top)}); err != nil {
		return err
	}
	setPart := ""
	if len(found) == 0 || setName != "" {
		setPart = " set=" + set.SelectAttrValue("id", "")
	}
	if print {
		fmt.Fprintf(r.out, "Set '%s' option: id=%s%s name=%s value=%s\n", id, nvID, setPart, name, value)
	}
	return nil
}

// runDeleteParam is -d NAME: delete every matching nvpair; deleting an
// attribute that is not there succeeds, as in Pacemaker.
func (r *runner) runDeleteParam() error {
	st, err := r.setType()
	if err != nil {
		return err
	}
	name := r.o.delParam
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	e = r.attrTarget(e, st, name, "delete")
	id := e.SelectAttrValue("id", "")
	found := r.findAttr(e, st, name)
	if len(found) > 1 && !r.o.force {
		return r.multiple(name, found)
	}
	for _, nv := range found {
		nvID := nv.SelectAttrValue("id", "")
		xp := "/cib/configuration/resources//" + nv.Parent().Tag + "[@id='" + nv.Parent().SelectAttrValue("id", "") + "']/nvpair[@id='" + nvID + "']"
		if _, err := r.apply(cib.Request{Op: cib.OpDelete, XPath: xp}); err != nil {
			return err
		}
		setPart := ""
		if r.o.setName != "" {
			setPart = " set=" + r.o.setName
		}
		r.infof("Deleted '%s' option: id=%s%s name=%s", id, nvID, setPart, name)
	}
	return nil
}

// runDelete is -D -t TYPE: delete the resource from the configuration.
func (r *runner) runDelete() error {
	if r.o.rscType == "" {
		return client.UsageError(tool, "--delete needs the resource type (-t primitive, group, clone, ...)")
	}
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	if e.Tag != r.o.rscType {
		return fail(client.ExitNoSuch, "Resource '%s' is a %s, not a %s", r.o.rsc, e.Tag, r.o.rscType)
	}
	x := etree.NewElement(e.Tag)
	x.CreateAttr("id", e.SelectAttrValue("id", ""))
	_, err = r.apply(cib.Request{Op: cib.OpDelete, Scope: "resources", XML: server.ElementBytes(x)})
	return err
}
