package lrm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestCoreIsPure enforces the house rule for the core: no I/O, processes,
// network, clock or global randomness in the non-test files of package
// lrm (the executor and the daemon live in subpackages).
func TestCoreIsPure(t *testing.T) {
	forbidden := map[string]bool{"os": true, "os/exec": true, "net": true, "syscall": true,
		"math/rand": true, "math/rand/v2": true, "google.golang.org/grpc": true, "io/fs": true}
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[p] {
				t.Errorf("%s imports %s", n, p)
			}
		}
		ast.Inspect(f, func(node ast.Node) bool {
			if sel, ok := node.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Sleep" || sel.Sel.Name == "After" || sel.Sel.Name == "NewTimer") {
					t.Errorf("%s: uses time.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			if _, ok := node.(*ast.GoStmt); ok {
				t.Errorf("%s: starts a goroutine", fset.Position(node.Pos()))
			}
			return true
		})
	}
}
