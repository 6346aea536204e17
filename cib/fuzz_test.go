package cib

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse: any byte string either fails to parse with an error or gives
// a CIB whose serialisation parses again to the same bytes; validation
// never panics.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/roundtrip-unknown.xml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(baseCIB))
	f.Add([]byte(`<cib><configuration><resources><primitive id="a"/></resources></configuration></cib>`))
	f.Add([]byte(`<cib epoch="-1"/>`))
	f.Add([]byte(`<?xml version="1.0"?><cib><!-- c --><status/></cib>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		_ = c.Validate()
		out := c.Bytes()
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of our own output failed: %v\n%s", err, out)
		}
		if !bytes.Equal(c2.Bytes(), out) {
			t.Fatalf("serialisation not stable")
		}
	})
}

// FuzzApplyPatch: a patch from untrusted bytes either applies or is
// refused, and a refused patch leaves the CIB byte-identical.
func FuzzApplyPatch(f *testing.F) {
	c := mustParse(f, baseCIB)
	r := mustApply(f, c.Clone(), Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="z" class="lsb" type="z"/>`)})
	f.Add(r.Patch.Bytes())
	r = mustApply(f, c.Clone(), Request{Op: OpModify, XML: []byte(`<primitive id="d1" description="x"/>`)})
	f.Add(r.Patch.Bytes())
	r = mustApply(f, c.Clone(), Request{Op: OpDelete, XML: []byte(`<rsc_location id="l1"/>`)})
	f.Add(r.Patch.Bytes())
	f.Add([]byte(`<diff format="2"><version><source admin_epoch="0" epoch="5" num_updates="3"/><target admin_epoch="0" epoch="6" num_updates="0"/></version><change operation="move" path="/cib/configuration/resources/group[@id='g']" position="0"/></diff>`))
	f.Add([]byte(`<diff format="2"><version><source admin_epoch="0" epoch="5" num_updates="3"/><target admin_epoch="0" epoch="6" num_updates="0"/></version><change operation="delete" path="/cib"/></diff>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePatch(data)
		if err != nil {
			return
		}
		x := mustParse(t, baseCIB)
		before := x.Bytes()
		if _, err := x.ApplyPatch(p); err != nil {
			if !bytes.Equal(before, x.Bytes()) {
				t.Fatalf("refused patch changed the CIB: %v", err)
			}
			return
		}
		if x.Root() == nil || x.Root().Tag != "cib" {
			t.Fatal("patch removed the root")
		}
		_ = p.Bytes()
	})
}
