package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/systole/systole/supervisor"
)

// The test binary doubles as a fake daemon: with FAKE_DAEMON=NAME it
// appends "start NAME" to FAKE_EVENTS, listens on FAKE_SOCKET, and on
// SIGTERM appends "stop NAME" and exits.
func TestMain(m *testing.M) {
	if name := os.Getenv("FAKE_DAEMON"); name != "" {
		fakeDaemon(name)
		return
	}
	os.Exit(m.Run())
}

func appendEvent(line string) {
	f, err := os.OpenFile(os.Getenv("FAKE_EVENTS"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(f, line)
	f.Close()
}

func fakeDaemon(name string) {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	appendEvent("start " + name)
	time.Sleep(20 * time.Millisecond) // the next one must wait for this socket
	os.Remove(os.Getenv("FAKE_SOCKET"))
	l, err := net.Listen("unix", os.Getenv("FAKE_SOCKET"))
	if err != nil {
		panic(err)
	}
	fmt.Println("listening") // goes to the log file
	<-term
	appendEvent("stop " + name)
	l.Close()
	os.Exit(0)
}

func events(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealProcesses: start order waits for sockets, a SIGKILLed stack
// daemon restarts the stack in order, a SIGKILLed alone daemon restarts
// alone, and the stop is in reverse order.
func TestRealProcesses(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	evf := filepath.Join(dir, "events")
	var children []Child
	for _, d := range []supervisor.Daemon{{Name: "a", Restart: supervisor.RestartStack}, {Name: "b", Restart: supervisor.RestartStack},
		{Name: "p", Restart: supervisor.RestartAlone}, {Name: "c", Restart: supervisor.RestartStack}} {
		sock := filepath.Join(dir, d.Name+".sock")
		children = append(children, Child{Name: d.Name, Restart: d.Restart, Path: self, Args: []string{"-test.run=^$"},
			Env: []string{"FAKE_DAEMON=" + d.Name, "FAKE_EVENTS=" + evf, "FAKE_SOCKET=" + sock}, Socket: sock})
	}
	cfg := supervisor.DefaultConfig()
	cfg.RejoinDelay = 100 * time.Millisecond
	cfg.StopGrace = 2 * time.Second
	statusFile := filepath.Join(dir, "status")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan struct{}, 10)
	done := make(chan error, 1)
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		done <- Run(ctx, Options{Node: "n1", Children: children, Core: cfg, LogDir: filepath.Join(dir, "logs"),
			StatusFile: statusFile, Tick: 10 * time.Millisecond, OnRunning: func() { running <- struct{}{} }})
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not running after 10 s")
	}
	if got := strings.Join(events(t, evf), ","); got != "start a,start b,start p,start c" {
		t.Fatalf("start events %q", got)
	}
	pidOf := func(name string) int {
		st, err := ReadStatus(statusFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range st.Daemons {
			if d.Name == name {
				return d.Pid
			}
		}
		return 0
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "logs", "a.log")); !strings.Contains(string(b), "listening") {
		t.Fatalf("a.log: %q", b)
	}
	// an alone daemon restarts alone
	os.Remove(evf)
	oldP := pidOf("p")
	if err := syscall.Kill(oldP, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "p restarted", func() bool { return slices.Contains(events(t, evf), "start p") })
	waitFor(t, "p up", func() bool { st, _ := ReadStatus(statusFile); return st.Daemons[2].State == "up" })
	if got := strings.Join(events(t, evf), ","); got != "start p" {
		t.Fatalf("after killing p: %q", got)
	}
	// a stack daemon restarts the stack: c, p, a stop in reverse, then all
	// start in order
	os.Remove(evf)
	if err := syscall.Kill(pidOf("b"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stack restarted", func() bool { return len(events(t, evf)) == 7 })
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("not running again")
	}
	if got := strings.Join(events(t, evf), ","); got != "stop c,stop p,stop a,start a,start b,start p,start c" {
		t.Fatalf("after killing b: %q", got)
	}
	st, _ := ReadStatus(statusFile)
	if st.Phase != "running" || st.Daemons[1].Restarts != 1 || st.Daemons[2].Restarts != 1 || st.Daemons[0].Restarts != 0 {
		t.Fatalf("status %+v", st)
	}
	// stop in reverse
	os.Remove(evf)
	cancel()
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := strings.Join(events(t, evf), ","); got != "stop c,stop p,stop b,stop a" {
		t.Fatalf("stop events %q", got)
	}
}

// TestGiveUp: a daemon that dies at once every time stops the node with
// ErrGaveUp.
func TestGiveUp(t *testing.T) {
	dir := t.TempDir()
	cfg := supervisor.DefaultConfig()
	cfg.BackoffInitial, cfg.BackoffMax, cfg.MaxCrashes, cfg.RejoinDelay = 10*time.Millisecond, 20*time.Millisecond, 3, 0
	err := Run(context.Background(), Options{Children: []Child{{Name: "x", Path: "/bin/false", Socket: filepath.Join(dir, "none")}},
		Core: cfg, LogDir: dir, Tick: 10 * time.Millisecond})
	if !errors.Is(err, supervisor.ErrGaveUp) {
		t.Fatalf("err %v", err)
	}
}
