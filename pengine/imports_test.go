package pengine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureImports enforces that the policy engine does no I/O: no os, net,
// os/exec, syscall or global randomness, and no wall-clock reads.
func TestPureImports(t *testing.T) {
	forbidden := map[string]bool{
		"os": true, "os/exec": true, "os/signal": true, "net": true, "net/http": true,
		"syscall": true, "io/ioutil": true, "math/rand": true, "math/rand/v2": true,
		"log": true, "runtime": true, "plugin": true, "crypto/rand": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] || strings.HasPrefix(p, "net/") {
				t.Errorf("%s imports %q; pengine must stay free of I/O", f, p)
			}
		}
		ast.Inspect(af, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
				switch sel.Sel.Name {
				case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
					t.Errorf("%s: uses time.%s; pass an explicit now instead", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
		for _, d := range af.Decls {
			ast.Inspect(d, func(n ast.Node) bool {
				if g, ok := n.(*ast.GoStmt); ok {
					t.Errorf("%s: goroutine in the pure core", fset.Position(g.Pos()))
				}
				return true
			})
		}
	}
}
