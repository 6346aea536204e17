package cib

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// CIB is one version of the Cluster Information Base. The zero value is not
// usable; obtain one from Parse or New.
type CIB struct {
	doc *etree.Document
	ids map[string]*etree.Element // configuration id index, built lazily
}

// Parse reads a CIB from XML. The root element must be <cib>; the
// configuration section is created if missing, as Pacemaker does, so that
// every CIB has configuration/{crm_config,nodes,resources,constraints} and
// status.
func Parse(data []byte) (*CIB, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("cib: %w XML: %v", ErrMalformed, err)
	}
	if err := checkProlog(doc); err != nil {
		return nil, err
	}
	c, err := FromDocument(doc)
	if err != nil {
		return nil, err
	}
	normalizeMixed(c.Root())
	return c, nil
}

// checkProlog refuses what libxml2 refuses around the root element: text
// other than whitespace, and <!...> directives other than DOCTYPE (found by
// FuzzParse: "<!00>0<cib/>" did not serialise stably).
func checkProlog(doc *etree.Document) error {
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			if !t.IsWhitespace() {
				return fmt.Errorf("cib: %w XML: text outside the root element", ErrMalformed)
			}
		case *etree.Directive:
			if !strings.HasPrefix(t.Data, "DOCTYPE") {
				return fmt.Errorf("cib: %w XML: <!%s> outside the root element", ErrMalformed, firstWord(t.Data))
			}
		}
	}
	return nil
}

// firstWord returns s up to its first space (at most 20 bytes), for errors.
func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// normalizeMixed trims the whitespace around text that sits between child
// elements, so that indenting the document on output is stable. Text of
// leaf elements (descriptions) is left exactly as it is.
func normalizeMixed(e *etree.Element) {
	hasKids := false
	for _, tok := range e.Child {
		if _, ok := tok.(*etree.Element); ok {
			hasKids = true
			break
		}
	}
	for _, tok := range e.Child {
		switch t := tok.(type) {
		case *etree.Element:
			normalizeMixed(t)
		case *etree.CharData:
			if hasKids && !t.IsWhitespace() && !t.IsCData() {
				t.Data = strings.TrimSpace(t.Data)
			}
		}
	}
}

// FromDocument wraps an already parsed document (for example from a
// faster, specialised reader) as a CIB without copying it. The document
// becomes the CIB's: the caller must not keep modifying it. Missing
// standard sections are added, as Parse does.
func FromDocument(doc *etree.Document) (*CIB, error) {
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("cib: %w XML: no root element", ErrMalformed)
	}
	if root.Tag != "cib" {
		return nil, fmt.Errorf("cib: %w: root element is <%s>, want <cib>", ErrMalformed, root.Tag)
	}
	c := &CIB{doc: doc}
	c.ensureSkeleton()
	return c, nil
}

// New returns an empty CIB at version 0.0.0 with the standard sections.
func New() *CIB {
	doc := etree.NewDocument()
	root := doc.CreateElement("cib")
	root.CreateAttr("crm_feature_set", FeatureSet)
	root.CreateAttr("validate-with", ValidateWith)
	root.CreateAttr("admin_epoch", "0")
	root.CreateAttr("epoch", "0")
	root.CreateAttr("num_updates", "0")
	c := &CIB{doc: doc}
	c.ensureSkeleton()
	return c
}

// FeatureSet is the crm_feature_set Systole writes into new CIBs.
const FeatureSet = "3.16.1"

// ValidateWith is the schema name Systole writes into new CIBs.
const ValidateWith = "pacemaker-3.9"

func (c *CIB) ensureSkeleton() {
	root := c.doc.Root()
	conf := root.SelectElement("configuration")
	if conf == nil {
		conf = root.CreateElement("configuration")
	}
	for _, s := range []string{"crm_config", "nodes", "resources", "constraints"} {
		if conf.SelectElement(s) == nil {
			conf.CreateElement(s)
		}
	}
	if root.SelectElement("status") == nil {
		root.CreateElement("status")
	}
}

// Doc returns the underlying document. Callers must not modify it; use
// Clone first when a mutable copy is needed.
func (c *CIB) Doc() *etree.Document { return c.doc }

// Root returns the <cib> element. Callers must not modify it.
func (c *CIB) Root() *etree.Element { return c.doc.Root() }

// Clone returns a deep copy.
func (c *CIB) Clone() *CIB { return &CIB{doc: c.doc.Copy()} }

// Bytes serialises the CIB as indented XML (two spaces, as cibadmin -Q).
func (c *CIB) Bytes() []byte {
	d := c.doc.Copy()
	d.Indent(2)
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		panic(fmt.Sprintf("cib: write to buffer: %v", err)) // bytes.Buffer never fails
	}
	return buf.Bytes()
}

// Version returns the CIB's (admin_epoch, epoch, num_updates).
func (c *CIB) Version() Version {
	return versionOf(c.doc.Root())
}

func versionOf(e *etree.Element) Version {
	get := func(name string) int64 {
		v, _ := strconv.ParseInt(e.SelectAttrValue(name, "0"), 10, 64)
		return v
	}
	return Version{AdminEpoch: get("admin_epoch"), Epoch: get("epoch"), NumUpdates: get("num_updates")}
}

// Version is the CIB version tuple. Versions compare lexicographically.
type Version struct {
	AdminEpoch int64
	Epoch      int64
	NumUpdates int64
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	for _, p := range [][2]int64{{v.AdminEpoch, o.AdminEpoch}, {v.Epoch, o.Epoch}, {v.NumUpdates, o.NumUpdates}} {
		if p[0] < p[1] {
			return -1
		}
		if p[0] > p[1] {
			return 1
		}
	}
	return 0
}

// String formats the version as Pacemaker does: admin_epoch.epoch.num_updates.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.AdminEpoch, v.Epoch, v.NumUpdates)
}
