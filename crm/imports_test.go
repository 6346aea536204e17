package crm

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreIsPure: the crm core does no I/O and reads no clock or global
// random source (internal/conventions does not list crm yet).
func TestCoreIsPure(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	bad := []string{"os", "os/exec", "net", "syscall", "math/rand", "google.golang.org/grpc", "go.etcd.io/bbolt",
		"github.com/systole/systole/messaging", "github.com/systole/systole/membership"}
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
			for _, b := range bad {
				if p == b || strings.HasPrefix(p, b+"/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
		for _, call := range []string{"time.Now(", "time.Since(", "time.Sleep(", "time.After(", "time.NewTimer(", "go func"} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s uses %s", f, call)
			}
		}
	}
}
