package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	cf := filepath.Join(dir, "ha.cf")
	if err := os.WriteFile(cf, []byte("node a b c\nbcast eth0\nkeepalive 100ms\ndeadtime 500ms\nquorum_votes a=3\nexpected_votes 6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := NewRootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check", "--config", cf, "--node", "b"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"node b\n", "nodes a=3 b=1 c=1", "expected_votes 6 two_node no", "hold-down 500ms"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("check output lacks %q:\n%s", want, out.String())
		}
	}
	cmd = NewRootCommand()
	cmd.SetArgs([]string{"check", "--config", cf, "--node", "z"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "not among the configured nodes") {
		t.Fatalf("unknown node accepted: %v", err)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	cmd := NewRootCommand()
	cmd.SetArgs([]string{"status", "--run-dir", t.TempDir()})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Fatal("status without a daemon succeeded")
	}
}
