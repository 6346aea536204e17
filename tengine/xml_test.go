package tengine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// sameTree compares a lean-reader tree with encoding/xml's (through etree).
func sameTree(a *xnode, e *etree.Element) bool {
	if a.tag != e.FullTag() || len(a.attrs) != len(e.Attr) {
		return false
	}
	for i, at := range a.attrs {
		if at.key != e.Attr[i].FullKey() || at.value != e.Attr[i].Value {
			return false
		}
	}
	kids := e.ChildElements()
	if len(kids) != len(a.kids) {
		return false
	}
	for i := range kids {
		if !sameTree(a.kids[i], kids[i]) {
			return false
		}
	}
	return true
}

func checkXML(t *testing.T, data []byte) {
	n, err := readXML(data)
	if err != nil {
		return
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatalf("lean reader accepted what encoding/xml refuses (%v): %q", err, data)
	}
	if doc.Root() == nil || !sameTree(n, doc.Root()) {
		t.Fatalf("trees differ for %q", data)
	}
}

// FuzzReadXML: whatever the lean reader accepts, encoding/xml accepts with
// the same elements and attribute values.
func FuzzReadXML(f *testing.F) {
	files, _ := filepath.Glob("testdata/graphs/*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range xmlCases {
		f.Add([]byte(s.in))
	}
	f.Fuzz(checkXML)
}

var xmlCases = []struct {
	in string
	ok bool
}{
	{`<a/>`, true},
	{`<?xml version="1.0"?>` + "\n<!-- c --><a x='1' y=\"2\"><b/><!-- d --></a>\n", true},
	{`<a x="&amp;&lt;&gt;&quot;&apos;&#65;&#x42;"/>`, true},
	{"<a x=\"l1\nl2\tx\r\ny\"/>", true},
	{`<a:b c:d="1"/>`, true},
	{`<a>text</a>`, false},
	{`<a><![CDATA[x]]></a>`, false},
	{`<!DOCTYPE a><a/>`, false},
	{`<a x="1" x="2"/>`, false},
	{`<a x=1/>`, false},
	{`<a x="<"/>`, false},
	{`<a x="&foo;"/>`, false},
	{`<a x="&#0;"/>`, false},
	{"<a x=\"\x01\"/>", false},
	{"<a x=\"\xff\"/>", false},
	{`<a><b></a></b>`, false},
	{`<a>`, false},
	{`<a/><b/>`, false},
	{``, false},
	{`<a x="1"y="2"/>`, false},
	{`<a><?pi?></a>`, false},
	{`<1a/>`, false},
}

func TestReadXML(t *testing.T) {
	for _, tc := range xmlCases {
		_, err := readXML([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
		}
		checkXML(t, []byte(tc.in))
	}
	n, err := readXML([]byte(`<a x="&amp;&lt;&#65;&#x42;" y="l1` + "\n" + `l2"/>`))
	if err != nil || n.attrValue("x") != "&<AB" || n.attrValue("y") != "l1\nl2" {
		t.Errorf("decoded %+v, %v", n, err)
	}
	if _, err := readXML([]byte(strings.Repeat("<a>", maxDepth+1))); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("deep nesting: %v", err)
	}
}
