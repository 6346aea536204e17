package pengine

import (
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
	})
}
