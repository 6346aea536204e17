package executor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/systole/systole/lrm"
)

// newRoot makes an OCF root with provider "test" holding the given shell
// agents, and an LSB dir.
func newRoot(t *testing.T, agents map[string]string) (*Process, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lsb := filepath.Join(root, "init.d")
	os.MkdirAll(lsb, 0o755)
	for name, body := range agents {
		d := dir
		if strings.HasPrefix(name, "lsb/") {
			d, name = lsb, strings.TrimPrefix(name, "lsb/")
		}
		if err := os.WriteFile(filepath.Join(d, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.OCFRoot = root
	cfg.LSBRoot = lsb
	cfg.KillGrace = 300 * time.Millisecond
	cfg.StateFile = filepath.Join(root, "groups")
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, root
}

func cmdFor(typ, action string) lrm.Command {
	return lrm.Command{CallID: 1, Rsc: lrm.Resource{ID: "r1", Class: "ocf", Provider: "test", Type: typ},
		Action: action, Timeout: 5 * time.Second, Params: map[string]string{"state": "/x y"}}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// a zombie is dead for our purpose
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

func TestExecBasics(t *testing.T) {
	p, _ := newRoot(t, map[string]string{
		"Env":     `env | grep -E '^OCF_' | sort; exit 3`,
		"Reason":  `echo "ocf-exit-reason:it broke" >&2; exit 6`,
		"Big":     `head -c 1000000 /dev/zero; exit 0`,
		"Daemon":  `sleep 30 & echo $! > "$OCF_RESKEY_pidfile"; echo started; exit 0`,
		"NoExec":  ``,
		"lsb/svc": `case "$1" in status) exit 3;; start) exit 0;; *) exit 9;; esac`,
	})
	os.Chmod(filepath.Join(p.cfg.OCFRoot, "resource.d/test/NoExec"), 0o644)
	t.Run("env and rc", func(t *testing.T) {
		r := p.Exec(context.Background(), cmdFor("Env", "monitor"))
		if r.RC != 3 || r.Status != lrm.StatusDone {
			t.Fatalf("rc %d status %v", r.RC, r.Status)
		}
		for _, want := range []string{"OCF_RESKEY_state=/x y", "OCF_ROOT=" + p.cfg.OCFRoot, "OCF_RESOURCE_INSTANCE=r1",
			"OCF_RESKEY_CRM_meta_timeout=5000", "OCF_RESOURCE_PROVIDER=test", "OCF_RA_VERSION_MAJOR=1"} {
			if !strings.Contains(r.Stdout, want+"\n") {
				t.Errorf("missing %q in\n%s", want, r.Stdout)
			}
		}
	})
	t.Run("exit reason", func(t *testing.T) {
		r := p.Exec(context.Background(), cmdFor("Reason", "start"))
		if r.RC != 6 || r.ExitReason != "it broke" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("bounded output", func(t *testing.T) {
		r := p.Exec(context.Background(), cmdFor("Big", "start"))
		if r.RC != 0 || len(r.Stdout) != p.cfg.MaxOutput {
			t.Fatalf("rc %d, %d bytes", r.RC, len(r.Stdout))
		}
	})
	t.Run("daemon holding stdout", func(t *testing.T) {
		start := time.Now()
		c := cmdFor("Daemon", "start")
		c.Params = map[string]string{"pidfile": filepath.Join(p.cfg.OCFRoot, "daemon.pid")}
		r := p.Exec(context.Background(), c)
		if b, err := os.ReadFile(c.Params["pidfile"]); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL) // the test's own daemon
			}
		}
		if r.RC != 0 || r.Status != lrm.StatusDone || !strings.Contains(r.Stdout, "started") {
			t.Fatalf("%+v", r)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("held back by the daemon's pipe")
		}
	})
	t.Run("missing agent", func(t *testing.T) {
		r := p.Exec(context.Background(), cmdFor("Nope", "start"))
		if r.RC != lrm.RCErrInstalled || r.Status != lrm.StatusNotInstalled || !strings.Contains(r.ExitReason, "Nope") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		r := p.Exec(context.Background(), cmdFor("NoExec", "start"))
		if r.RC != lrm.RCErrInstalled {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		c := cmdFor("Env", "start")
		c.Rsc.Provider = "nobody"
		if err := p.Check(c.Rsc); !errors.Is(err, lrm.ErrUnknownProvider) {
			t.Fatalf("check: %v", err)
		}
		if r := p.Exec(context.Background(), c); r.Status != lrm.StatusError {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("path escape", func(t *testing.T) {
		c := cmdFor("../test/Env", "start")
		if err := p.Check(c.Rsc); err == nil {
			t.Fatal("accepted ../")
		}
	})
	t.Run("lsb", func(t *testing.T) {
		c := lrm.Command{Rsc: lrm.Resource{ID: "s", Class: "lsb", Type: "svc"}, Action: "monitor", Timeout: time.Second}
		if r := p.Exec(context.Background(), c); r.RC != lrm.RCNotRunning {
			t.Fatalf("status -> %+v", r)
		}
		c.Action = "stop"
		if r := p.Exec(context.Background(), c); r.RC != lrm.RCErrGeneric {
			t.Fatalf("stop 9 -> %+v", r)
		}
		c.Action = "promote"
		if r := p.Exec(context.Background(), c); r.Status != lrm.StatusNotSupported {
			t.Fatalf("promote -> %+v", r)
		}
		c.Action = "meta-data"
		if r := p.Exec(context.Background(), c); r.RC != 0 || !strings.Contains(r.Stdout, `<resource-agent name="svc"`) {
			t.Fatalf("meta-data -> %+v", r)
		}
	})
	t.Run("listing", func(t *testing.T) {
		as, err := p.Agents("ocf", "test")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range as {
			names = append(names, a.Type)
		}
		if strings.Join(names, ",") != "Big,Daemon,Env,Reason" {
			t.Fatalf("agents %v", names)
		}
	})
}

// TestTimeoutKillsGroup: an agent that ignores SIGTERM and has a child is
// killed entirely, and reported as a timeout.
func TestTimeoutKillsGroup(t *testing.T) {
	p, root := newRoot(t, map[string]string{
		"Hang": `trap '' TERM; sleep 60 & echo $! > "$OCF_RESKEY_pidfile"; while :; do sleep 1; done`,
	})
	pidfile := filepath.Join(root, "child.pid")
	c := cmdFor("Hang", "start")
	c.Timeout = 300 * time.Millisecond
	c.Params = map[string]string{"pidfile": pidfile}
	r := p.Exec(context.Background(), c)
	if r.Status != lrm.StatusTimeout || r.RC != lrm.RCErrGeneric || !strings.Contains(r.ExitReason, "timed out") {
		t.Fatalf("%+v", r)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(child) {
		t.Fatalf("child %d survived the timeout", child)
	}
	if b, _ := os.ReadFile(p.cfg.StateFile); len(b) != 0 {
		t.Fatalf("state file still lists %q", b)
	}
}

// TestReapOrphans: groups recorded by a dead lrmd are killed on restart.
func TestReapOrphans(t *testing.T) {
	dir := t.TempDir()
	c := exec.Command("/bin/sh", "-c", "sleep 60 & wait")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() })
	g := newGroupFile(filepath.Join(dir, "groups"))
	g.add(c.Process.Pid)
	killed, err := ReapOrphans(g.path)
	if err != nil || len(killed) != 1 || killed[0] != c.Process.Pid {
		t.Fatalf("killed %v err %v", killed, err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("orphan survived")
	}
	if _, err := os.Stat(g.path); !os.IsNotExist(err) {
		t.Fatalf("state file not removed: %v", err)
	}
	if k, err := ReapOrphans(g.path); err != nil || len(k) != 0 {
		t.Fatalf("second reap %v %v", k, err)
	}
}

func TestParseStartTime(t *testing.T) {
	st, err := parseStartTime([]byte("123 (a b) c) S 1 123 123 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10"))
	if err != nil || st != 98765 {
		t.Fatalf("%d %v", st, err)
	}
	if _, err := parseStartTime([]byte("garbage")); err == nil {
		t.Fatal("accepted garbage")
	}
}

func TestGroupLog(t *testing.T) {
	in := "+ 100 5\n+ 200 6\n- 100\ngarbage\n+ 1 9\n+ 300 7\n- 300\n"
	got := readGroups(strings.NewReader(in))
	if len(got) != 1 || got[200] != 6 {
		t.Fatalf("groups %v", got)
	}
}

func FuzzReadGroups(f *testing.F) {
	f.Add([]byte("+ 100 5\n- 100\n+ 7 1\n"))
	f.Add([]byte("+ -5 x\n- \n+\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for pgid := range readGroups(strings.NewReader(string(b))) {
			if pgid <= 1 {
				t.Fatalf("pgid %d accepted: a kill(-pgid) would hit init or everything", pgid)
			}
		}
	})
}
