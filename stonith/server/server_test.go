package server

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/systole/systole/stonith"
	"github.com/systole/systole/stonith/agent"
)

const cibXML = `<cib><configuration><resources>
  <primitive id="d1" class="stonith" type="fence_x"><instance_attributes id="d1-ia">
    <nvpair id="d1-hl" name="pcmk_host_list" value="n1 n2 n3"/>
    <nvpair id="d1-r" name="pcmk_off_retries" value="0"/>
  </instance_attributes></primitive>
</resources></configuration></cib>`

// fakeExec answers by target port: "fail" targets get rc 1, "hang"
// targets block until the context ends, others succeed after gate opens.
type fakeExec struct {
	gate chan struct{}
	mu   sync.Mutex
	runs int
}

func (f *fakeExec) Exec(ctx context.Context, c stonith.Command) stonith.Result {
	f.mu.Lock()
	f.runs++
	f.mu.Unlock()
	port := ""
	for _, a := range c.Args {
		if a.Name == "port" {
			port = a.Value
		}
	}
	switch port {
	case "n2":
		return stonith.Result{Command: c.ID, RC: 1, Output: "no power"}
	case "n3":
		<-ctx.Done()
		return stonith.Result{Command: c.ID, RC: 1, Error: "interrupted"}
	}
	select {
	case <-f.gate:
	case <-ctx.Done():
	}
	return stonith.Result{Command: c.ID}
}

func start(t *testing.T, cfg stonith.Config, exec Executor, cib string) (*Server, context.CancelFunc, chan error) {
	t.Helper()
	s, err := New(cfg, nil, exec, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	topo, err := stonith.ParseCIB([]byte(cib))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTopology(context.Background(), topo); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return s, cancel, done
}

func TestFenceJoinFailAndHistory(t *testing.T) {
	fe := &fakeExec{gate: make(chan struct{})}
	cfg := stonith.DefaultConfig()
	cfg.Node = "n9"
	s, _, _ := start(t, cfg, fe, cibXML)
	ctx := context.Background()

	var wg sync.WaitGroup
	entries := make([]stonith.Entry, 2)
	for i := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.Fence(ctx, stonith.Request{Target: "n1", Action: stonith.ActionOff, Client: "c" + string(rune('0'+i))})
			if err != nil {
				t.Error(err)
			}
			entries[i] = e
		}()
	}
	// Both requests are in before the agent answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := s.History(ctx, "n1")
		if len(h) == 1 && len(h[0].Clients) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests did not join: %+v", h)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(fe.gate)
	wg.Wait()
	if entries[0].ID != entries[1].ID || entries[0].State != stonith.StateDone || entries[0].Delegate != "n9" {
		t.Fatalf("entries %+v", entries)
	}
	if fe.runs != 1 {
		t.Errorf("agent ran %d times for a joined request, want 1", fe.runs)
	}

	e, err := s.Fence(ctx, stonith.Request{Target: "n2", Action: stonith.ActionOff, Client: "c"})
	if err != nil || e.State != stonith.StateFailed || !strings.Contains(e.Reason, "rc=1: no power") {
		t.Fatalf("failing agent: %+v, %v", e, err)
	}
	if _, err := s.Fence(ctx, stonith.Request{Target: "n1", Action: "dance"}); !errors.Is(err, stonith.ErrBadRequest) {
		t.Fatalf("bad request: %v", err)
	}
	if err := s.Confirm(ctx, "n4", "admin"); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, "")
	if err != nil || len(h) != 3 || h[2].Target != "n4" {
		t.Fatalf("history %+v %v", h, err)
	}
	if err := s.CleanupHistory(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(ctx, ""); len(h) != 0 {
		t.Fatalf("history after cleanup %+v", h)
	}
}

// TestTimeoutWithRealClock: the loop's timer fails an operation whose
// agent hangs, and stopping the server interrupts the agent.
func TestTimeoutWithRealClock(t *testing.T) {
	fe := &fakeExec{gate: make(chan struct{})}
	s, cancel, done := start(t, stonith.DefaultConfig(), fe, cibXML)
	e, err := s.Fence(context.Background(), stonith.Request{Target: "n3", Action: stonith.ActionOff, Timeout: 200 * time.Millisecond})
	if err != nil || e.State != stonith.StateFailed || !strings.Contains(e.Reason, "timed out after 200ms") {
		t.Fatalf("%+v, %v", e, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	done <- nil // for the cleanup
	if _, err := s.History(context.Background(), ""); !errors.Is(err, ErrStopped) {
		t.Fatalf("call after stop: %v", err)
	}
}

// TestStopFailsWaiters: a Fence waiting when the server stops never gets
// "done": the interrupted agent fails the operation (or the server is
// gone first: ErrStopped), and Run waits for the agent to end.
func TestStopFailsWaiters(t *testing.T) {
	fe := &fakeExec{gate: make(chan struct{})}
	s, cancel, done := start(t, stonith.DefaultConfig(), fe, cibXML)
	type res struct {
		e   stonith.Entry
		err error
	}
	resc := make(chan res, 1)
	go func() {
		e, err := s.Fence(context.Background(), stonith.Request{Target: "n3", Action: stonith.ActionOff})
		resc <- res{e, err}
	}()
	for {
		if h, _ := s.History(context.Background(), "n3"); len(h) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	r := <-resc
	if !errors.Is(r.err, ErrStopped) && (r.err != nil || r.e.State != stonith.StateFailed || !strings.Contains(r.e.Reason, "interrupted")) {
		t.Fatalf("waiting Fence: %+v, %v", r.e, r.err)
	}
	<-done
	done <- nil
}

// TestFenceDummy: the server with the real Runner and Debian's fence_dummy.
func TestFenceDummy(t *testing.T) {
	r, err := agent.New(agent.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Path("fence_dummy"); err != nil {
		t.Skipf("Debian package fence-agents is not installed (%v): apt-get install fence-agents", err)
	}
	status := filepath.Join(t.TempDir(), "status")
	s, _, _ := start(t, stonith.DefaultConfig(), r, `<cib><configuration><resources>
  <primitive id="dummy" class="stonith" type="fence_dummy"><instance_attributes id="ia">
    <nvpair id="a" name="status_file" value="`+status+`"/>
    <nvpair id="b" name="pcmk_host_check" value="none"/>
    <nvpair id="c" name="pcmk_host_argument" value="none"/>
  </instance_attributes></primitive></resources></configuration></cib>`)
	for _, target := range []string{"n7", "n8", "n9"} {
		begin := time.Now()
		e, err := s.Fence(context.Background(), stonith.Request{Target: target, Action: stonith.ActionReboot, Client: "test"})
		if err != nil || e.State != stonith.StateDone || strings.Join(e.Devices, ",") != "dummy" {
			t.Fatalf("%+v, %v", e, err)
		}
		t.Logf("fence_dummy reboot of %s through the server took %v", target, time.Since(begin))
	}
}
