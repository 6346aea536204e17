package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// NewCluster starts a cluster of n nodes running systoled for a test and
// tears it down in t.Cleanup (also when the test fails; the daemons' logs
// are then printed). Namespace mode skips the test unless root; loopback
// mode runs anywhere. Empty Dir and BinDir take t.TempDir() and
// Binaries(t).
func NewCluster(t testing.TB, n int, o ClusterOptions) *Cluster {
	t.Helper()
	if !o.Loopback {
		if err := Available(); err != nil {
			t.Skip(err)
		}
	}
	if o.BinDir == "" {
		o.BinDir = Binaries(t)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	c, err := Up(n, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.LogTails(t, 3000)
		}
		if err := c.Down(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// LogTails logs the end of every node's systoled and daemon logs.
func (c *Cluster) LogTails(t testing.TB, n int) {
	for _, nd := range c.Nodes {
		logs, _ := filepath.Glob(filepath.Join(nd.RunDir(), "logs", "*.log"))
		for _, f := range append([]string{filepath.Join(nd.Dir, "systoled.log")}, logs...) {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			t.Logf("== %s %s:\n%s", nd.Name, filepath.Base(f), tail(strings.TrimSpace(string(b)), n))
		}
	}
}
