// Package agenttest builds Systole's agents from the source tree into a
// temporary OCF root, for tests: the same layout `make install` creates
// (resource.d/systole/.systole-ra plus one symlink per agent).
package agenttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/systole/systole/agents"
)

var binDir string

// moduleRoot returns the repository root (where go.mod is).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build compiles a package of this module (e.g. "./cmd/lrmd") once per
// test process and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := buildDir(t)
	out := filepath.Join(dir, filepath.Base(pkg))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	c := exec.Command("go", "build", "-o", out, pkg)
	c.Dir = moduleRoot()
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

var dirOnce sync.Once

func buildDir(t testing.TB) string {
	dirOnce.Do(func() {
		d, err := os.MkdirTemp("", "systole-agenttest-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	})
	return binDir
}

// OCFRoot returns a fresh OCF root holding Systole's agents under
// resource.d/systole. Agents keep their state under HA_RSCTMP, which the
// caller should point into a temporary directory too.
func OCFRoot(t testing.TB) string {
	t.Helper()
	bin := Build(t, "./agents/cmd/systole-ra")
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", agents.Provider)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".systole-ra"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents.Names {
		if err := os.Symlink(".systole-ra", filepath.Join(dir, a)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Main runs a package's tests and removes the binaries Build made. Use it
// as `func TestMain(m *testing.M) { agenttest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
