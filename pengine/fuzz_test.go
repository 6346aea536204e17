package pengine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes through the reader and the whole
// scheduler: nothing may panic, and any accepted document must compute.
func FuzzUnpack(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*/cib.xml")
	for i, p := range paths {
		if i%8 != 0 {
			continue
		}
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`<cib><configuration><resources><primitive id="a" class="ocf" provider="x" type="y"/></resources></configuration></cib>`))
	f.Add([]byte(`<cib have-quorum="0"><status><node_state id="1" uname="n" in_ccm="true"/></status></cib>`))
	f.Add([]byte(`<cib><status><node_state id="1" uname="n"><lrm id="1"><lrm_resources><lrm_resource id="a" class="ocf" provider="x" type="y"><lrm_rsc_op id="a_last_0" operation="start" call-id="3" rc-code="0" transition-key="1:2:0:u"><x/></lrm_rsc_op><lrm_rsc_op id="a_mon" operation="monitor" interval="10000" op-restart-digest="d" op-secure-digest="s"/></lrm_resource></lrm_resources></lrm></node_state></status></cib>`))
	f.Add([]byte(`<cib><configuration><nodes><node id="1" uname="n1"/></nodes><constraints><rsc_order id="o" first="a" then="a"/></constraints></configuration></cib>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseXML(append([]byte(nil), data...))
		if err != nil {
			return
		}
		res, err := ComputeDoc(doc, DefaultConfig())
		if err != nil {
			return
		}
		_ = res.Graph.XML()
		_ = res.Graph.Dot()
		// the compact reader accepts the same documents and must agree
		in, err := ParseInput(append([]byte(nil), data...))
		if err != nil {
			t.Fatalf("ParseXML accepted what ParseInput rejects: %v", err)
		}
		res2, err := ComputeInput(in, DefaultConfig())
		if err != nil {
			t.Fatalf("ComputeInput: %v", err)
		}
		if !bytes.Equal(res2.Graph.XML(), res.Graph.XML()) || !slicesEqual(res2.Summary, res.Summary) {
			t.Fatalf("ParseInput and ParseXML disagree")
		}
	})
}
