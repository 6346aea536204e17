package server

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

func startServer(t *testing.T, ex lrm.Executor) lrmv1.LRMServiceClient {
	t.Helper()
	srv, err := New(lrm.DefaultConfig(), ex, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	Register(g, srv)
	go g.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///buf", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		g.Stop()
	})
	return lrmv1.NewLRMServiceClient(conn)
}

var rscA = &lrmv1.Resource{Id: "a", Class: "ocf", Provider: "heartbeat", Type: "Dummy"}

func TestExecWaitAndHistory(t *testing.T) {
	f := executor.NewFake()
	f.Script("a", "start", 0, lrm.ExecResult{RC: 0, Status: lrm.StatusDone, Stdout: "ok"})
	c := startServer(t, f)
	ctx := context.Background()
	resp, err := c.Exec(ctx, &lrmv1.ExecRequest{Rsc: rscA, Action: "start", Wait: true, Params: map[string]string{"state": "/tmp/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result.GetRc() != 0 || resp.Result.GetStatus() != lrmv1.ExecStatus_EXEC_STATUS_DONE || resp.Result.GetOpKey() != "a_start_0" {
		t.Fatalf("result %v", resp.Result)
	}
	if calls := f.Calls(); len(calls) != 1 || calls[0].Params["state"] != "/tmp/x" || calls[0].Timeout != 20*time.Second {
		t.Fatalf("calls %+v", calls)
	}
	h, err := c.ListHistory(ctx, &lrmv1.ListHistoryRequest{})
	if err != nil || len(h.Resources) != 1 || len(h.Resources[0].Ops) != 1 {
		t.Fatalf("history %v %v", h, err)
	}
}

func TestErrorsMapToCodes(t *testing.T) {
	f := executor.NewFake()
	f.Providers = map[string]bool{"heartbeat": true}
	c := startServer(t, f)
	ctx := context.Background()
	cases := []struct {
		rsc    *lrmv1.Resource
		action string
		want   codes.Code
	}{
		{&lrmv1.Resource{Id: "x", Class: "stonith", Type: "fence_dummy"}, "start", codes.FailedPrecondition},
		{&lrmv1.Resource{Id: "x", Class: "upstart", Type: "foo"}, "start", codes.InvalidArgument},
		{&lrmv1.Resource{Id: "x", Class: "ocf", Provider: "acme", Type: "Dummy"}, "start", codes.InvalidArgument},
		{rscA, "frobnicate", codes.InvalidArgument},
	}
	for _, cs := range cases {
		_, err := c.Exec(ctx, &lrmv1.ExecRequest{Rsc: cs.rsc, Action: cs.action})
		if status.Code(err) != cs.want {
			t.Errorf("%v %s: %v, want %v", cs.rsc, cs.action, err, cs.want)
		}
	}
	if len(f.Calls()) != 0 {
		t.Fatalf("rejected requests ran something: %v", f.Calls())
	}
	_, err := c.Cancel(ctx, &lrmv1.CancelRequest{RscId: "nope", Action: "monitor", IntervalMs: 1000})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("cancel: %v", err)
	}
}

func TestWatchRecurringChanges(t *testing.T) {
	f := executor.NewFake()
	ok := lrm.ExecResult{RC: 0, Status: lrm.StatusDone}
	failed := lrm.ExecResult{RC: 7, Status: lrm.StatusDone}
	f.Script("a", "monitor", 20*time.Millisecond, ok, ok, ok, failed)
	c := startServer(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := c.WatchResults(ctx, &lrmv1.WatchResultsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Make sure the subscription is registered before the first result.
	if _, err := c.ListHistory(ctx, &lrmv1.ListHistoryRequest{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Exec(ctx, &lrmv1.ExecRequest{Rsc: rscA, Action: "monitor", IntervalMs: 20}); err != nil {
		t.Fatal(err)
	}
	var rcs []int32
	for len(rcs) < 2 {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		rcs = append(rcs, m.Result.Rc)
	}
	if rcs[0] != 0 || rcs[1] != 7 {
		t.Fatalf("published rcs %v, want [0 7]", rcs)
	}
	if n := len(f.Calls()); n < 4 {
		t.Fatalf("only %d runs", n)
	}
	if _, err := c.Cancel(ctx, &lrmv1.CancelRequest{RscId: "a", Action: "monitor", IntervalMs: 20}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.Result.Status == lrmv1.ExecStatus_EXEC_STATUS_CANCELLED {
			break
		}
	}
}

func TestReplayAndShutdown(t *testing.T) {
	f := executor.NewFake()
	srv, err := New(lrm.DefaultConfig(), f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	bg := context.Background()
	rsc := lrm.Resource{ID: "a", Class: "ocf", Provider: "heartbeat", Type: "Dummy"}
	if _, r, err := srv.Exec(bg, lrm.Request{Rsc: rsc, Action: "start"}, true); err != nil || r.RC != 0 {
		t.Fatalf("start: %v %v", r, err)
	}
	ch, unsub, err := srv.Subscribe(bg, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Action != "start" {
		t.Fatalf("replay sent %+v", r)
	}
	unsub()
	// An agent still running at shutdown is interrupted; Run returns.
	f.Delay = time.Hour
	waitErr := make(chan error, 1)
	go func() {
		_, _, err := srv.Exec(bg, lrm.Request{Rsc: rsc, Action: "stop"}, true)
		waitErr <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return at shutdown")
	}
	if err := <-waitErr; err != nil && err != ErrStopped {
		t.Fatalf("waiting exec: %v", err)
	}
	if _, _, err := srv.Exec(bg, lrm.Request{Rsc: rsc, Action: "start"}, false); err != ErrStopped {
		t.Fatalf("exec after stop: %v", err)
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	f := executor.NewFake()
	srv, err := New(lrm.DefaultConfig(), f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	ch, unsub, err := srv.Subscribe(ctx, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	for i := range 3 {
		rsc := lrm.Resource{ID: fmt.Sprintf("r%d", i), Class: "ocf", Provider: "heartbeat", Type: "Dummy"}
		if _, _, err := srv.Exec(ctx, lrm.Request{Rsc: rsc, Action: "start"}, true); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range ch {
		n++
	}
	if n != 1 {
		t.Fatalf("slow subscriber got %d results before being dropped, want 1 (its buffer)", n)
	}
}
