package messaging

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureCore enforces the house rule: the core imports no network,
// process or file I/O, calls no time.Now and uses no global random source.
func TestPureCore(t *testing.T) {
	banned := map[string]bool{"net": true, "os": true, "os/exec": true, "math/rand": true,
		"google.golang.org/grpc": true, "go.etcd.io/bbolt": true, "syscall": true}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if banned[p] {
				t.Errorf("%s imports %s", f, p)
			}
		}
		for _, bad := range []string{"time.Now(", "time.Since(", "rand.Int", "rand.Float", "go func"} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s uses %s", f, bad)
			}
		}
	}
}
