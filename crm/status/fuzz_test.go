package status

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and renders whatever parses:
// nothing may panic. Seeds are the golden CIBs.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.xml")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<cib><status><node_state id="x"><lrm><lrm_resources><lrm_resource id="r"><lrm_rsc_op id="r_last_0" operation="start" call-id="-1" rc-code="x"/></lrm_resource></lrm_resources></lrm></node_state></status></cib>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, goldenNow)
		if err != nil {
			return
		}
		all := Options{Inactive: true, FailCounts: true, NodeAttributes: true, Operations: true, FenceLevel: FenceLevelFull, Fencing: goldenFencing, Timing: true}
		_ = c.Text(all)
		all.GroupByNode = true
		_ = c.Text(all)
		_ = c.XML(all)
		_ = c.ResourceLines(true)
	})
}
