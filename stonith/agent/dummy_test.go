package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/stonith"
)

// dummyRunner returns a Runner for Debian's fence-agents, skipping the test
// when fence_dummy is not installed.
func dummyRunner(t *testing.T) *Runner {
	t.Helper()
	r, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Path("fence_dummy"); err != nil {
		t.Skipf("Debian package fence-agents is not installed (%v): apt-get install fence-agents", err)
	}
	return r
}

// TestFenceDummy runs Debian's fence_dummy unmodified through every action
// it supports, with its status file in a temporary directory.
func TestFenceDummy(t *testing.T) {
	r := dummyRunner(t)
	status := filepath.Join(t.TempDir(), "status")
	ctx := context.Background()
	meta, err := r.Metadata(ctx, "fence_dummy", 10*time.Second)
	if err != nil || !strings.Contains(meta, `<resource-agent name="fence_dummy"`) {
		t.Fatalf("metadata: %v\n%.200s", err, meta)
	}
	steps := []struct {
		action string
		rc     int
		file   string // status file content after the step ("" = absent)
	}{
		{"status", stonith.RCOff, ""}, // no file: off
		{"on", 0, "on"},
		{"status", 0, "on"},
		{"monitor", 0, "on"},
		{"validate-all", 0, "on"},
		{"reboot", 0, "on"},
		{"off", 0, "off"},
		{"status", stonith.RCOff, "off"},
	}
	for _, s := range steps {
		res := r.Run(ctx, Request{Agent: "fence_dummy", Timeout: 10 * time.Second, Args: []stonith.Arg{
			{Name: "action", Value: s.action}, {Name: "nodename", Value: "n1"}, {Name: "status_file", Value: status}}})
		b, _ := os.ReadFile(status)
		if res.Status != StatusDone || res.RC != s.rc || string(b) != s.file {
			t.Fatalf("%s: status %s rc %d (want %d) file %q (want %q)\nstdout %s\nstderr %s", s.action, res.Status, res.RC, s.rc, b, s.file, res.Stdout, res.Stderr)
		}
	}
}

// TestFencerWithFenceDummy drives the stonith core with the real runner and
// Debian's fence_dummy: one target fenced, one whose agent fails.
func TestFencerWithFenceDummy(t *testing.T) {
	r := dummyRunner(t)
	status := filepath.Join(t.TempDir(), "status")
	cibXML := `<cib><configuration><resources>
  <primitive id="dummy" class="stonith" type="fence_dummy"><instance_attributes id="d-ia">
    <nvpair id="d1" name="status_file" value="` + status + `"/>
    <nvpair id="d2" name="pcmk_host_list" value="n1"/>
    <nvpair id="d3" name="pcmk_host_argument" value="none"/>
  </instance_attributes></primitive>
  <primitive id="broken" class="stonith" type="fence_dummy"><instance_attributes id="b-ia">
    <nvpair id="b1" name="type" value="fail"/>
    <nvpair id="b2" name="power_timeout" value="1"/>
    <nvpair id="b3" name="pcmk_host_list" value="n2"/>
    <nvpair id="b4" name="pcmk_host_argument" value="none"/>
    <nvpair id="b5" name="pcmk_reboot_retries" value="0"/>
  </instance_attributes></primitive>
</resources></configuration></cib>`
	topo, err := stonith.ParseCIB([]byte(cibXML))
	if err != nil {
		t.Fatal(err)
	}
	cfg := stonith.DefaultConfig()
	cfg.Node = "n3"
	f, err := stonith.NewFencer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.SetTopology(topo)
	run := func(target string) (stonith.Entry, time.Duration) {
		start := time.Now()
		if _, err := f.Request(start, stonith.Request{Target: target, Action: stonith.ActionReboot, Origin: "n3", Client: "test"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			rd := f.Ready()
			if len(rd.Completions) == 1 {
				return rd.Completions[0].Entry, time.Since(start)
			}
			for _, c := range rd.Commands {
				f.Complete(time.Now(), r.Exec(context.Background(), c))
			}
		}
		t.Fatalf("fencing %s did not complete", target)
		return stonith.Entry{}, 0
	}
	e, took := run("n1")
	if e.State != stonith.StateDone || strings.Join(e.Devices, ",") != "dummy" || e.Delegate != "n3" {
		t.Fatalf("n1: %+v", e)
	}
	t.Logf("fence_dummy reboot through the core took %v", took)
	if b, _ := os.ReadFile(status); string(b) != "on" {
		t.Errorf("status file after reboot %q, want on", b)
	}
	e, _ = run("n2")
	if e.State != stonith.StateFailed || !strings.Contains(e.Reason, "broken reboot: rc=1") || !strings.Contains(e.Reason, "Timed out waiting to power OFF") {
		t.Fatalf("n2: %+v", e)
	}
}
