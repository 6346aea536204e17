package metadata

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestRealAgents validates the meta-data of every agent Debian's
// resource-agents and pacemaker install (skipped when absent): the
// validator must accept what real agents ship.
func TestRealAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var agents []string
	for _, a := range []string{"heartbeat/Dummy", "heartbeat/IPaddr2", "heartbeat/IPaddr", "heartbeat/Filesystem",
		"heartbeat/apache", "heartbeat/anything", "heartbeat/Stateful", "pacemaker/Dummy", "pacemaker/Stateful", "pacemaker/ping"} {
		p := filepath.Join("/usr/lib/ocf/resource.d", a)
		if _, err := os.Stat(p); err == nil {
			agents = append(agents, p)
		}
	}
	if len(agents) == 0 {
		t.Skip("resource-agents not installed")
	}
	bad := 0
	for _, a := range agents {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := exec.CommandContext(ctx, a, "meta-data")
		c.Env = append(os.Environ(), "OCF_ROOT=/usr/lib/ocf")
		out, err := c.Output()
		cancel()
		if err != nil {
			t.Logf("%s: meta-data failed: %v (skipped)", a, err)
			continue
		}
		md, err := Validate(out)
		if err != nil {
			bad++
			t.Errorf("%s: %v", a, err)
		}
		for _, w := range md.Warnings {
			t.Logf("%s: warning: %s", a, w)
		}
	}
	t.Logf("%d agents, %d invalid", len(agents), bad)
}
