package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/systole/systole/stonith"
)

// scripts are fake fence agents in shell.
var scripts = map[string]string{
	// echoes its stdin and exits with the rc= argument.
	"fence_echo": `#!/bin/sh
rc=0
while IFS= read -r line; do
  echo "$line"
  case "$line" in rc=*) rc=${line#rc=};; esac
done
echo "to stderr" >&2
exit $rc`,
	// ignores SIGTERM and leaves a child in its group; writes the child's pid.
	"fence_hang": `#!/bin/sh
trap '' TERM
read -r pidfile
pidfile=${pidfile#pidfile=}
sleep 300 &
echo $! > "$pidfile"
while :; do sleep 1; done`,
	// writes far more than MaxOutput.
	"fence_big": `#!/bin/sh
head -c 1000000 /dev/zero | tr '\0' x
exit 0`,
	// kills itself.
	"fence_suicide": `#!/bin/sh
kill -9 $$`,
}

func testRunner(t *testing.T) (*Runner, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fence_noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other_tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.MaxOutput = 1000
	cfg.KillGrace = 200 * time.Millisecond
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestRunProtocol(t *testing.T) {
	r, _ := testRunner(t)
	args := []stonith.Arg{{Name: "action", Value: "off"}, {Name: "port", Value: "n1"}, {Name: "rc", Value: "2"}}
	res := r.Run(context.Background(), Request{Agent: "fence_echo", Args: args, Timeout: 5 * time.Second})
	if res.Status != StatusDone || res.RC != 2 || res.Stdout != "action=off\nport=n1\nrc=2\n" || res.Stderr != "to stderr\n" {
		t.Fatalf("result %+v", res)
	}
	sr := r.Exec(context.Background(), stonith.Command{ID: 7, Agent: "fence_echo", Args: args[:2]})
	if sr.Command != 7 || sr.RC != 0 || sr.Error != "" || sr.Output != "action=off\nport=n1\nto stderr\n" {
		t.Fatalf("Exec %+v", sr)
	}
}

func TestRunErrors(t *testing.T) {
	r, _ := testRunner(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		req    Request
		status Status
		reason string
	}{
		{"missing", Request{Agent: "fence_nosuch"}, StatusNotInstalled, "does not exist"},
		{"not executable", Request{Agent: "fence_noexec"}, StatusNotInstalled, "not an executable file"},
		{"not fence_", Request{Agent: "other_tool"}, StatusError, "fence_*"},
		{"path escape", Request{Agent: "fence_../other_tool"}, StatusError, "fence_*"},
		{"newline in an argument", Request{Agent: "fence_echo", Args: []stonith.Arg{{Name: "action", Value: "off\nport=evil"}}}, StatusError, "bad agent argument"},
		{"killed by a signal", Request{Agent: "fence_suicide"}, StatusError, "killed by signal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := r.Run(ctx, tc.req)
			if res.Status != tc.status || res.RC != 1 || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("result %+v, want status %q rc 1 reason containing %q", res, tc.status, tc.reason)
			}
			if tc.status != StatusDone {
				if sr := r.Exec(ctx, stonith.Command{Agent: tc.req.Agent, Args: tc.req.Args}); sr.Error == "" {
					t.Errorf("Exec gave no Error: %+v", sr)
				}
			}
		})
	}
}

func TestRunBoundedOutput(t *testing.T) {
	r, _ := testRunner(t)
	res := r.Run(context.Background(), Request{Agent: "fence_big", Args: []stonith.Arg{{Name: "action", Value: "list"}}})
	if res.Status != StatusDone || res.RC != 0 || len(res.Stdout) != 1000 || !res.Truncated {
		t.Fatalf("status %s rc %d len %d truncated %v", res.Status, res.RC, len(res.Stdout), res.Truncated)
	}
}

// TestTimeoutKillsGroup: an agent that ignores SIGTERM and has a child is
// killed, child included, after the timeout and the grace time.
func TestTimeoutKillsGroup(t *testing.T) {
	r, dir := testRunner(t)
	pidfile := filepath.Join(dir, "child.pid")
	res := r.Run(context.Background(), Request{Agent: "fence_hang", Args: []stonith.Arg{{Name: "pidfile", Value: pidfile}}, Timeout: 300 * time.Millisecond})
	if res.Status != StatusTimeout || res.RC != 1 || !strings.Contains(res.Reason, "timed out after 300ms") {
		t.Fatalf("result %+v", res)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancel(t *testing.T) {
	r, dir := testRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := r.Run(ctx, Request{Agent: "fence_hang", Args: []stonith.Arg{{Name: "pidfile", Value: filepath.Join(dir, "p")}}})
	if res.Status != StatusCancelled || res.RC != 1 {
		t.Fatalf("result %+v", res)
	}
}

func TestList(t *testing.T) {
	r, _ := testRunner(t)
	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "fence_big fence_echo fence_hang fence_suicide" {
		t.Errorf("List = %v", got)
	}
	if _, err := r.Metadata(context.Background(), "fence_nosuch", time.Second); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Metadata of a missing agent: %v", err)
	}
	if _, err := r.Metadata(context.Background(), "fence_echo", time.Second); err == nil || !strings.Contains(err.Error(), "no <resource-agent>") {
		t.Errorf("Metadata of a non-agent: %v", err)
	}
}

// TestListDirs: agents of the extra directories are found after Dir's,
// the first directory wins, a missing extra directory is skipped.
func TestListDirs(t *testing.T) {
	r, dir := testRunner(t)
	extra := t.TempDir()
	for _, n := range []string{"fence_extra", "fence_echo"} {
		if err := os.WriteFile(filepath.Join(extra, n), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := r.Config()
	cfg.Dirs = []string{filepath.Join(extra, "missing"), extra}
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "fence_big fence_echo fence_extra fence_hang fence_suicide" {
		t.Errorf("List = %v", got)
	}
	if p, err := r.Path("fence_echo"); err != nil || p != filepath.Join(dir, "fence_echo") {
		t.Errorf("Path(fence_echo) = %q, %v: Dir must win", p, err)
	}
	if p, err := r.Path("fence_extra"); err != nil || p != filepath.Join(extra, "fence_extra") {
		t.Errorf("Path(fence_extra) = %q, %v", p, err)
	}
}

// alive reports whether pid exists and is not a zombie (a killed child
// waits for its new parent to reap it).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
