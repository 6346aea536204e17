package membership

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreIsPure enforces the house rule for cores: no I/O, no clock, no global randomness,
// no goroutines in the package's non-test code.
func TestCoreIsPure(t *testing.T) {
	forbiddenImports := map[string]bool{
		"net": true, "os": true, "os/exec": true, "math/rand": true, "math/rand/v2": true,
		"crypto/rand": true, "syscall": true, "google.golang.org/grpc": true, "go.etcd.io/bbolt": true,
	}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Since": true, "time.Until": true,
		"time.Sleep": true, "time.After": true, "time.NewTimer": true, "time.NewTicker": true, "time.Tick": true}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbiddenImports[path] {
				t.Errorf("%s imports %s", file, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %v", file, fset.Position(x.Pos()))
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && forbiddenCalls[id.Name+"."+x.Sel.Name] {
					t.Errorf("%s: %s.%s at %v", file, id.Name, x.Sel.Name, fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
}
