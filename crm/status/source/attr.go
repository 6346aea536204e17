package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// Scope is where an attribute lives, named as crm_attribute -t names it.
type Scope string

// Scopes.
const (
	ScopeStatus      Scope = "status"       // transient node attribute (lifetime reboot)
	ScopeNodes       Scope = "nodes"        // permanent node attribute (lifetime forever)
	ScopeCRMConfig   Scope = "crm_config"   // cluster property
	ScopeRscDefaults Scope = "rsc_defaults" // resource default
	ScopeOpDefaults  Scope = "op_defaults"  // operation default
)

// NodeScope reports whether sc holds node attributes.
func (sc Scope) NodeScope() bool { return sc == ScopeStatus || sc == ScopeNodes }

// Attr names an attribute: a node attribute (Scope status or nodes, Node
// set) or an option (crm_config, rsc_defaults, op_defaults).
type Attr struct {
	Scope Scope
	Node  string // node name (node scopes); "" = the local node (live only)
	Name  string
	// SetID is the option set (-s); "" = the default set
	// (cib-bootstrap-options for crm_config, SECTION-options otherwise).
	SetID string
}

func (a Attr) lifetime() crmv1.Lifetime {
	if a.Scope == ScopeNodes {
		return crmv1.Lifetime_LIFETIME_FOREVER
	}
	return crmv1.Lifetime_LIFETIME_REBOOT
}

func (a Attr) check() error {
	if a.Name == "" {
		return fmt.Errorf("%w: no attribute name", cib.ErrBadRequest)
	}
	for _, s := range []string{a.Name, a.Node, a.SetID} {
		if strings.ContainsAny(s, `'"<>&`) {
			return fmt.Errorf("%w: %q: quotes, <, > and & are not allowed in names", cib.ErrBadRequest, s)
		}
	}
	switch a.Scope {
	case ScopeStatus, ScopeNodes, ScopeCRMConfig, ScopeRscDefaults, ScopeOpDefaults:
	default:
		return fmt.Errorf("%w: unknown attribute type %q (status, nodes, crm_config, rsc_defaults, op_defaults)", cib.ErrBadRequest, a.Scope)
	}
	return nil
}

// viaCRM reports whether a goes through CRMService (live node attributes).
func (s *Source) viaCRM(a Attr) bool { return s.Live() && a.Scope.NodeScope() }

// Get returns an attribute's value and the id of its nvpair ("" when read
// through crmd). ErrNoAttr when it is not set.
func (s *Source) Get(ctx context.Context, a Attr) (value, id string, err error) {
	if err := a.check(); err != nil {
		return "", "", err
	}
	if s.viaCRM(a) {
		resp, err := s.CRM.GetAttr(ctx, &crmv1.GetAttrRequest{Node: a.Node, Name: a.Name, Lifetime: a.lifetime()})
		if err != nil {
			return "", "", s.crmErr(err)
		}
		if !resp.Found {
			return "", "", ErrNoAttr
		}
		return resp.Value, "", nil
	}
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return "", "", err
	}
	p, err := s.paths(doc, a)
	if err != nil {
		return "", "", err
	}
	e := p.find(doc)
	if e == nil {
		return "", "", ErrNoAttr
	}
	return e.SelectAttrValue("value", ""), e.SelectAttrValue("id", ""), nil
}

// Set sets an attribute.
func (s *Source) Set(ctx context.Context, a Attr, value string) error {
	if err := a.check(); err != nil {
		return err
	}
	if s.viaCRM(a) {
		_, err := s.CRM.SetAttr(ctx, &crmv1.SetAttrRequest{Node: a.Node, Name: a.Name, Value: value, Lifetime: a.lifetime()})
		return s.crmErr(err)
	}
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return err
	}
	p, err := s.paths(doc, a)
	if err != nil {
		return err
	}
	if e := p.find(doc); e != nil {
		if e.SelectAttrValue("value", "") == value {
			return nil
		}
		nv := etree.NewElement("nvpair")
		nv.CreateAttr("value", value)
		return s.apply(ctx, cib.Request{Op: cib.OpModify, XPath: p.nvpairXPath(e.SelectAttrValue("id", "")), XML: elemBytes(nv)})
	}
	// build the missing part of the chain under the deepest existing element
	nv := etree.NewElement("nvpair")
	nv.CreateAttr("id", p.nvID)
	nv.CreateAttr("name", a.Name)
	nv.CreateAttr("value", value)
	obj := nv
	for i := len(p.chain) - 1; i >= 0; i-- {
		step := p.chain[i]
		if m := p.findStep(doc, i); m != nil {
			return s.apply(ctx, cib.Request{Op: cib.OpModify, XPath: p.stepXPath(i), XML: elemBytes(obj)})
		}
		w := step.build()
		w.AddChild(obj)
		obj = w
	}
	return s.apply(ctx, cib.Request{Op: cib.OpCreate, Scope: p.section, XML: elemBytes(obj)})
}

// Delete deletes an attribute and returns the id of the nvpair it deleted
// ("" when done through crmd). ErrNoAttr when it was not set.
func (s *Source) Delete(ctx context.Context, a Attr) (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	if s.viaCRM(a) {
		_, err := s.CRM.SetAttr(ctx, &crmv1.SetAttrRequest{Node: a.Node, Name: a.Name, Lifetime: a.lifetime(), Delete: true})
		return "", s.crmErr(err)
	}
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return "", err
	}
	p, err := s.paths(doc, a)
	if err != nil {
		return "", err
	}
	e := p.find(doc)
	if e == nil {
		return "", ErrNoAttr
	}
	id := e.SelectAttrValue("id", "")
	return id, s.apply(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: p.nvpairXPath(id)})
}

func (s *Source) apply(ctx context.Context, req cib.Request) error {
	_, err := s.CIB.Apply(ctx, req)
	return s.cibErr(err)
}

func elemBytes(e *etree.Element) []byte {
	d := etree.NewDocument()
	d.SetRoot(e.Copy())
	b, _ := d.WriteToBytes()
	return b
}

// step is one element of the path to an nvpair: its tag, and its id or,
// for a node, its uname.
type step struct {
	tag   string
	attrs [][2]string // identifying attributes (XPath predicate, and set on build)
	extra [][2]string // set on build only
}

func (st step) pred() string {
	var ps []string
	for _, a := range st.attrs {
		ps = append(ps, "@"+a[0]+"='"+a[1]+"'")
	}
	if len(ps) == 0 {
		return st.tag
	}
	return st.tag + "[" + strings.Join(ps, " and ") + "]"
}

func (st step) build() *etree.Element {
	e := etree.NewElement(st.tag)
	for _, a := range append(append([][2]string{}, st.attrs...), st.extra...) {
		e.CreateAttr(a[0], a[1])
	}
	return e
}

// attrPath locates an attribute in the CIB.
type attrPath struct {
	section string // the cibadmin scope the chain starts in
	base    string // XPath of the section element
	chain   []step // from the section's child down to the set element
	name    string
	nvID    string // id for a new nvpair
	anySet  bool   // options: look in every set of the section, not only chain's
	setTag  string
}

func (p *attrPath) stepXPath(i int) string {
	x := p.base
	for _, st := range p.chain[:i+1] {
		x += "/" + st.pred()
	}
	return x
}

func (p *attrPath) findStep(doc *etree.Document, i int) *etree.Element {
	return doc.FindElement(p.stepXPath(i))
}

func (p *attrPath) nvpairXPath(id string) string {
	if id != "" {
		return p.setsXPath() + "/nvpair[@id='" + id + "']"
	}
	return p.setsXPath() + "/nvpair[@name='" + p.name + "']"
}

func (p *attrPath) setsXPath() string {
	if p.anySet {
		return p.base + "/" + p.setTag
	}
	return p.stepXPath(len(p.chain) - 1)
}

// find returns the nvpair, preferring the default set.
func (p *attrPath) find(doc *etree.Document) *etree.Element {
	if e := doc.FindElement(p.stepXPath(len(p.chain)-1) + "/nvpair[@name='" + p.name + "']"); e != nil {
		return e
	}
	if p.anySet {
		return doc.FindElement(p.base + "/" + p.setTag + "/nvpair[@name='" + p.name + "']")
	}
	return nil
}

// paths computes where a lives in doc.
func (s *Source) paths(doc *etree.Document, a Attr) (*attrPath, error) {
	switch a.Scope {
	case ScopeCRMConfig, ScopeRscDefaults, ScopeOpDefaults:
		tag := "meta_attributes"
		set := a.SetID
		if a.Scope == ScopeCRMConfig {
			tag = "cluster_property_set"
			if set == "" {
				set = "cib-bootstrap-options"
			}
		} else if set == "" {
			set = string(a.Scope) + "-options"
		}
		return &attrPath{section: string(a.Scope), base: "/cib/configuration/" + string(a.Scope),
			chain: []step{{tag: tag, attrs: [][2]string{{"id", set}}}}, name: a.Name,
			nvID: set + "-" + a.Name, anySet: a.SetID == "", setTag: tag}, nil
	}
	if a.Node == "" {
		return nil, fmt.Errorf("%w: no node given", cib.ErrBadRequest)
	}
	id, uname, err := nodeID(doc, a.Node)
	if err != nil {
		return nil, err
	}
	if a.Scope == ScopeNodes {
		set := "nodes-" + id
		if e := doc.FindElement("/cib/configuration/nodes/node[@id='" + id + "']/instance_attributes"); e != nil {
			set = e.SelectAttrValue("id", set)
		}
		return &attrPath{section: "nodes", base: "/cib/configuration/nodes",
			chain: []step{{tag: "node", attrs: [][2]string{{"id", id}}, extra: [][2]string{{"uname", uname}}},
				{tag: "instance_attributes", attrs: [][2]string{{"id", set}}}},
			name: a.Name, nvID: "nodes-" + id + "-" + a.Name}, nil
	}
	set := "status-" + id
	if e := doc.FindElement("/cib/status/node_state[@id='" + id + "']/transient_attributes/instance_attributes"); e != nil {
		set = e.SelectAttrValue("id", set)
	}
	return &attrPath{section: "status", base: "/cib/status",
		chain: []step{{tag: "node_state", attrs: [][2]string{{"id", id}}, extra: [][2]string{{"uname", uname}}},
			{tag: "transient_attributes", attrs: [][2]string{{"id", id}}},
			{tag: "instance_attributes", attrs: [][2]string{{"id", set}}}},
		name: a.Name, nvID: "status-" + id + "-" + a.Name}, nil
}

// nodeID maps a node name (or id) to its id and name, from the nodes
// section, else the status section.
func nodeID(doc *etree.Document, name string) (string, string, error) {
	root := doc.Root()
	for _, attr := range []string{"uname", "id"} {
		for _, n := range root.FindElements("configuration/nodes/node") {
			if n.SelectAttrValue(attr, "") == name {
				return n.SelectAttrValue("id", name), n.SelectAttrValue("uname", name), nil
			}
		}
		for _, n := range root.FindElements("status/node_state") {
			if n.SelectAttrValue(attr, "") == name {
				return n.SelectAttrValue("id", name), n.SelectAttrValue("uname", name), nil
			}
		}
	}
	return "", "", fmt.Errorf("could not map name=%s to a UUID: %w", name, ErrNoNode)
}

// NodeID maps a node name to its id in the CIB.
func (s *Source) NodeID(ctx context.Context, name string) (string, error) {
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return "", err
	}
	id, _, err := nodeID(doc, name)
	return id, err
}

// RemoveNode forgets a node: through crmd when live (which refuses a
// member of the current view), else by deleting its nodes/node and
// status/node_state entries from the file.
func (s *Source) RemoveNode(ctx context.Context, name string) error {
	if s.Live() {
		_, err := s.CRM.RemoveNode(ctx, &crmv1.RemoveNodeRequest{Node: name})
		return s.crmErr(err)
	}
	if strings.ContainsAny(name, `'"<>&`) {
		return fmt.Errorf("%w: %q: bad node name", cib.ErrBadRequest, name)
	}
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return err
	}
	id, _, err := nodeID(doc, name)
	if err != nil {
		return err
	}
	found := false
	for _, x := range []string{
		"/cib/configuration/nodes/node[@id='" + id + "']",
		"/cib/status/node_state[@id='" + id + "']",
	} {
		if doc.FindElement(x) == nil {
			continue
		}
		found = true
		if err := s.apply(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: x}); err != nil && !errors.Is(err, cib.ErrNotFound) {
			return err
		}
	}
	if !found {
		return fmt.Errorf("%s: %w", name, ErrNoNode)
	}
	return nil
}
