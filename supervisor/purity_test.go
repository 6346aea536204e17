package supervisor

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPureCore: the core does no I/O and reads no clock (the shared rule
// of internal/conventions, applied here until the supervisor is listed
// there).
func TestPureCore(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p == "os" || p == "net" || p == "syscall" || strings.HasPrefix(p, "os/") || strings.HasPrefix(p, "net/") || strings.Contains(p, "grpc") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b := string(raw)
		for _, bad := range []string{"time.Now", "time.Sleep", "time.After", "go func", "time.NewTimer", "time.NewTicker"} {
			if strings.Contains(b, bad) {
				t.Errorf("%s uses %s", f, bad)
			}
		}
	}
}
