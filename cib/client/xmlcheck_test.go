package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/systole/systole/cib"
)

func TestWellFormed(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // substring; "" = well formed
	}{
		{"ok", `<primitive id="d1" class="ocf"/>`, ""},
		{"ok nested", "<cib>\n<configuration/>\n</cib>\n", ""},
		{"unclosed tag", `<primitive id="d2" class="ocf"`, `line 1: unexpected EOF`},
		{"unclosed element", "<cib>\n  <resources>\n    <primitive id=\"d3\">\n", `line 4: unexpected end of input, <primitive id="d3"> from line 3 is not closed`},
		{"unclosed no id", "<cib>\n  <resources>\n", `<resources> from line 2 is not closed`},
		{"unclosed in id", "<cib>\n  <primitive id=\"p\">\n<operations>\n", `<operations> from line 3 is not closed (in <primitive id="p"> from line 2)`},
		{"cut start tag", "<cib>\n  <primitive id=\"d9\" class=\"ocf\"", `line 2: unexpected EOF (in <primitive id="d9">)`},
		{"mismatched", "<a id=\"x\">\n<b></c>\n</a>", `line 2: element <b> closed by </c> (in <a id="x"> from line 1)`},
		{"empty", "  ", "no XML element found"},
		{"two roots", `<a/><b/>`, "second top-level element <b>"},
		{"text", `hello`, "text outside the top-level element"},
		{"bad attr", `<a id="x" b=c/>`, "line 1: unquoted or missing attribute value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WellFormed([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, cib.ErrMalformed) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

// FuzzWellFormed checks that WellFormed never panics and agrees with the
// cib parser about what is acceptable: anything cib.Parse accepts is well
// formed.
func FuzzWellFormed(f *testing.F) {
	for _, s := range []string{`<cib/>`, `<cib><configuration>`, `<a id="x"></b>`, `<?xml version="1.0"?><cib/>`, "<!-- c --><cib>\n</cib>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := WellFormed(data)
		if _, perr := cib.Parse(data); perr == nil && err != nil {
			t.Fatalf("cib.Parse accepts %q but WellFormed says %v", data, err)
		}
	})
}
