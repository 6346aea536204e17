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
	ak := filepath.Join(dir, "authkeys")
	os.WriteFile(cf, []byte("node a b\nbcast eth0\nkeepalive 100ms\ndeadtime 500ms\n"), 0o644)
	os.WriteFile(ak, []byte("auth 1\n1 sha256 s3cret\n"), 0o600)
	var out bytes.Buffer
	cmd := NewRootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check", "--config", cf, "--authkeys", ak})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "medium bcast eth0") {
		t.Fatalf("output %q", out.String())
	}
	os.Chmod(ak, 0o644)
	cmd = NewRootCommand()
	cmd.SetArgs([]string{"check", "--config", cf, "--authkeys", ak})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("world-readable authkeys accepted: %v", err)
	}
}
