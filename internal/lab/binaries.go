package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// requiredCommands are built for every cluster; optionalCommands when
// their package exists and builds (they are being written alongside).
var (
	requiredCommands = []string{"cmd/systoled", "cmd/messagingd", "cmd/membershipd", "cmd/lrmd", "cmd/crmd",
		"cmd/cibadmin", "agents/cmd/systole-ra"}
	optionalCommands = []string{"cmd/pengine", "cmd/tengine", "cmd/stonithd", "cmd/crm_mon", "cmd/crm_resource",
		"cmd/crm_attribute", "cmd/crm_standby", "cmd/crm_node", "cmd/crmadmin",
		"cmd/fence_systole_lab", "cmd/stonith_admin"}
)

// ModuleRoot returns the directory of Systole's go.mod, from the current
// directory (tests run in their package's directory).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("lab: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("lab: not inside the Systole module")
	}
	return filepath.Dir(mod), nil
}

// Build builds the cluster's binaries into dir (go build from the module
// root). Optional commands that are missing or do not build are skipped
// and listed in the returned slice.
func Build(dir string) (skipped []string, err error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	build := func(pkgs ...string) error {
		args := append([]string{"build", "-o", dir + "/"}, pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("lab: go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
		return nil
	}
	var req, opt []string
	for _, p := range requiredCommands {
		req = append(req, "./"+p)
	}
	for _, p := range optionalCommands {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			opt = append(opt, "./"+p)
		} else {
			skipped = append(skipped, filepath.Base(p))
		}
	}
	// one go build links in parallel; only if it fails, find out what
	// optional command broke it
	if build(append(req, opt...)...) == nil {
		return skipped, nil
	}
	if err := build(req...); err != nil {
		return nil, err
	}
	for _, p := range opt {
		if build(p) != nil {
			skipped = append(skipped, filepath.Base(p))
		}
	}
	return skipped, nil
}

var bins struct {
	once    sync.Once
	dir     string
	skipped []string
	err     error
}

// Binaries builds the binaries once per test process and returns their
// directory. Packages that use it remove it at the end with RunTests.
// SYSTOLE_LAB_BIN=DIR uses binaries built beforehand instead.
func Binaries(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SYSTOLE_LAB_BIN"); d != "" {
		return d
	}
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "systole-lab-bin-")
		if bins.err == nil {
			bins.skipped, bins.err = Build(bins.dir)
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.dir
}

// RunTests runs m and removes the binaries Binaries built:
//
//	func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }
func RunTests(m *testing.M) int {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	return code
}
