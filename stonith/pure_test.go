package stonith

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureCore: the core imports no I/O, process, clock or network package
// and starts no goroutine (the agents run in stonith/agent).
func TestPureCore(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	bad := map[string]bool{"os": true, "os/exec": true, "net": true, "syscall": true, "io/ioutil": true,
		"google.golang.org/grpc": true, "go.etcd.io/bbolt": true, "crypto/rand": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if bad[p] || strings.HasPrefix(p, "net/") || strings.HasPrefix(p, "os/") {
				t.Errorf("%s imports %s", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s starts a goroutine", name)
			}
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
					switch sel.Sel.Name {
					case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
						t.Errorf("%s uses time.%s", name, sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
}
