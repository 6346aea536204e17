package stonith

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzParseCIB: any bytes give a Topology or ErrBadCIB, never a panic; a
// parsed topology's levels are 1..9 with devices.
func FuzzParseCIB(f *testing.F) {
	if b, err := os.ReadFile("testdata/cib.xml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<cib><configuration><fencing-topology><fencing-level id="l" index="1" target="n" devices="a,b"/></fencing-topology></configuration></cib>`))
	f.Add([]byte(`<cib/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		topo, err := ParseCIB(b)
		if err != nil {
			return
		}
		for _, l := range topo.Levels {
			if l.Index < 1 || l.Index > 9 || len(l.Devices) == 0 {
				t.Fatalf("bad level %+v", l)
			}
		}
		for _, d := range topo.Devices {
			if _, err := Encode(d.Args(ActionOff, "n1")); err != nil {
				t.Fatalf("device %s args do not encode: %v", d.ID, err)
			}
		}
	})
}

// FuzzParseList: agent output never panics and gives no empty or
// separator-carrying host names.
func FuzzParseList(f *testing.F) {
	f.Add("n1,alias\nn2\n")
	f.Add("\n\n,,")
	f.Fuzz(func(t *testing.T, s string) {
		for _, h := range ParseList(s) {
			if h == "" || strings.ContainsAny(h, ",\n \t\r") {
				t.Fatalf("host %q", h)
			}
		}
		_ = slices.Clone(ParseList(s))
	})
}
