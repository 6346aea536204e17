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
// no sockets, processes, files, clocks, global randomness or goroutines.
// Files listed in allowFiles are the named exceptions (the CIB store is
// bbolt); extraImports are further imports a layer must not use (a core
// that talks to other layers only through its inputs and Ready).
var pureCores = map[string]struct {
	allowFiles   map[string]bool
	extraImports []string
}{
	"cib":        {allowFiles: map[string]bool{"store.go": true}},
	"pengine":    {extraImports: []string{"log", "runtime", "plugin"}},
	"membership": {},
	"messaging":  {},
	"lrm":        {extraImports: []string{"io/fs"}},
	"crm":        {extraImports: []string{"github.com/systole/systole/messaging", "github.com/systole/systole/membership"}},
	"crm/status": {},
	"stonith":    {},
	"supervisor": {},
	"tengine":    {},
}

var forbiddenImports = []string{"os", "os/exec", "os/signal", "net", "syscall", "io/ioutil", "google.golang.org/grpc", "go.etcd.io/bbolt", "crypto/rand"}

var forbiddenCalls = map[string]map[string]bool{
	// the global random source; a core takes a seeded *rand.Rand instead
	"rand": {"Int": true, "IntN": true, "Intn": true, "Int63": true, "Int64": true, "Int64N": true, "Uint32": true, "Uint64": true, "Float64": true, "N": true, "Perm": true, "Shuffle": true, "Seed": true, "Read": true},
	"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true},
}

// forbidden reports whether importing path breaks the rule for one core:
// the listed packages and everything below net/ and os/ (but net/netip).
func forbidden(path string, extra []string) bool {
	for _, bad := range append(forbiddenImports[:len(forbiddenImports):len(forbiddenImports)], extra...) {
		if path == bad {
			return true
		}
	}
	if path == "net/netip" {
		return false // address values, no I/O
	}
	return strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/") || strings.HasPrefix(path, "google.golang.org/grpc/")
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
				if forbidden(path, rule.extraImports) {
					t.Errorf("%s/%s imports %s: pure cores do no I/O", p.dir, name, path)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if _, ok := n.(*ast.GoStmt); ok {
					t.Errorf("%s/%s starts a goroutine: cores are driven by their caller", p.dir, name)
					return true
				}
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				if calls, ok := forbiddenCalls[id.Name]; ok && calls[sel.Sel.Name] {
					t.Errorf("%s/%s uses %s.%s: pure cores take the time and a seeded random source as arguments", p.dir, name, id.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
