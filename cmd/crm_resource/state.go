package main

import (
	"strings"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib/client"
	crmstatus "github.com/systole/systole/crm/status"
)

// snapshot is the CIB read once, with the cluster state it describes.
type snapshot struct {
	doc     *etree.Document
	cluster *crmstatus.Cluster
}

// read reads the whole CIB and evaluates its state now.
func (r *runner) read() (*snapshot, error) {
	s, err := r.source()
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return nil, r.wrap(err)
	}
	c, err := crmstatus.New(doc, r.o.now().Unix())
	if err != nil {
		return nil, r.wrap(err)
	}
	return &snapshot{doc: doc, cluster: c}, nil
}

// resourceTags are the elements that configure a resource.
var resourceTags = map[string]bool{"primitive": true, "group": true, "clone": true, "master": true, "bundle": true}

// rscElement returns the configuration element of the resource id (a
// clone instance "d1:0" names d1), or nil.
func (s *snapshot) rscElement(id string) *etree.Element {
	id = baseID(id)
	res := s.doc.FindElement("/cib/configuration/resources")
	if res == nil {
		return nil
	}
	var found *etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, ch := range e.ChildElements() {
			if found != nil {
				return
			}
			if resourceTags[ch.Tag] {
				if ch.SelectAttrValue("id", "") == id {
					found = ch
					return
				}
				walk(ch)
			}
		}
	}
	walk(res)
	return found
}

// baseID drops a clone instance suffix.
func baseID(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		allDigits := i+1 < len(id)
		for _, c := range id[i+1:] {
			if c < '0' || c > '9' {
				allDigits = false
			}
		}
		if allDigits {
			return id[:i]
		}
	}
	return id
}

// resource finds -r in the configuration or fails as Pacemaker does.
func (r *runner) resource(s *snapshot) (*etree.Element, *crmstatus.Resource, error) {
	e := s.rscElement(r.o.rsc)
	st := s.cluster.Resource(r.o.rsc)
	if e == nil {
		return nil, nil, fail(client.ExitNoSuch, "Resource '%s' not found", r.o.rsc)
	}
	return e, st, nil
}

// checkNode fails when -N names a node the CIB does not know.
func (r *runner) checkNode(s *snapshot) (*crmstatus.Node, error) {
	if r.o.node == "" {
		return nil, nil
	}
	n := s.cluster.Node(r.o.node)
	if n == nil {
		return nil, fail(client.ExitNoSuch, "Node '%s' not found", r.o.node)
	}
	return n, nil
}

// activeNodes returns where the resource runs, in node order, and for
// each whether it is promoted there: for a clone, every instance.
func activeNodes(rs *crmstatus.Resource) (names []string, promoted []bool) {
	if rs == nil {
		return nil, nil
	}
	if rs.Kind == crmstatus.KindClone {
		for _, inst := range rs.Children {
			for _, n := range inst.Nodes {
				names = append(names, n.Name)
				promoted = append(promoted, inst.Role == crmstatus.RolePromoted)
			}
		}
		return names, promoted
	}
	for _, n := range rs.Nodes {
		names = append(names, n.Name)
		promoted = append(promoted, rs.Role == crmstatus.RolePromoted)
	}
	return names, promoted
}

// topOf returns the top-level resource a status resource belongs to,
// the one whose constraints place it.
func topOf(rs *crmstatus.Resource) *crmstatus.Resource {
	if rs == nil {
		return nil
	}
	return rs.Top()
}
