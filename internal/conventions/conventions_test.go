package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

type pkg struct {
	dir   string
	name  string
	files map[string]*ast.File // non-test files
}

func loadPackages(t *testing.T) []*pkg {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	byDir := map[string]*pkg{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			base := d.Name()
			if path != root && (strings.HasPrefix(base, ".") || base == "testdata" || base == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		p := byDir[dir]
		if p == nil {
			p = &pkg{dir: dir, name: f.Name.Name, files: map[string]*ast.File{}}
			byDir[dir] = p
		}
		p.files[filepath.Base(path)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pkg
	for _, p := range byDir {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out
}

func isGenerated(f *ast.File) bool {
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "// Code generated") && strings.HasSuffix(c.Text, "DO NOT EDIT.") {
				return true
			}
		}
	}
	return false
}

// TestEveryPackageHasDocComment: a reader opening any folder finds what the
// package is for.
func TestEveryPackageHasDocComment(t *testing.T) {
	for _, p := range loadPackages(t) {
		documented, generatedOnly := false, true
		for _, f := range p.files {
			if !isGenerated(f) {
				generatedOnly = false
			}
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented && !generatedOnly {
			t.Errorf("package %s (%s) has no package doc comment", p.name, p.dir)
		}
	}
}

// pureCores are the packages that must stay deterministic state machines:
// no sockets, processes, files, clocks or global randomness. Files listed
// in allowFiles are the named exceptions (the CIB store is bbolt).
var pureCores = map[string]struct{ allowFiles map[string]bool }{
	"cib":        {allowFiles: map[string]bool{"store.go": true}},
	"pengine":    {},
	"membership": {},
	"crm":        {},
}

var forbiddenImports = []string{"os", "os/exec", "os/signal", "net", "syscall", "io/ioutil", "google.golang.org/grpc", "go.etcd.io/bbolt", "math/rand"}

var forbiddenCalls = map[string]map[string]bool{
	"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true},
}

func TestPureCoresDoNoIO(t *testing.T) {
	for _, p := range loadPackages(t) {
		rule, ok := pureCores[p.dir]
		if !ok {
			continue
		}
		for name, f := range p.files {
			if rule.allowFiles[name] {
				continue
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbiddenImports {
					if path == bad || strings.HasPrefix(path, bad+"/") && bad != "os" && bad != "net" || (bad == "net" && strings.HasPrefix(path, "net/")) {
						t.Errorf("%s/%s imports %s: pure cores do no I/O", p.dir, name, path)
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				if calls, ok := forbiddenCalls[id.Name]; ok && calls[sel.Sel.Name] {
					t.Errorf("%s/%s uses %s.%s: pure cores take time as an argument", p.dir, name, id.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
