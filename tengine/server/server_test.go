package server

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	crmv1 "github.com/systole/systole/proto/crm/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
	"github.com/systole/systole/tengine"
)

// fakeCRM is a CRMService whose ExecuteAction answers with the target rc
// unless a rule for the operation key says otherwise.
type fakeCRM struct {
	crmv1.UnimplementedCRMServiceServer
	mu    sync.Mutex
	reqs  []*crmv1.ExecuteActionRequest
	left  []time.Duration // time left to the deadline at each call
	rules map[string]func(ctx context.Context) (*crmv1.ExecuteActionResponse, error)
	calls chan string
}

func (f *fakeCRM) ExecuteAction(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	dl, _ := ctx.Deadline()
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.left = append(f.left, time.Until(dl))
	rule := f.rules[req.OperationKey+"@"+req.Node]
	f.mu.Unlock()
	if f.calls != nil {
		f.calls <- req.OperationKey
	}
	if rule != nil {
		return rule(ctx)
	}
	return &crmv1.ExecuteActionResponse{Rc: req.TargetRc, CallId: int64(req.ActionId)}, nil
}

func (f *fakeCRM) requests() []*crmv1.ExecuteActionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*crmv1.ExecuteActionRequest(nil), f.reqs...)
}

type harness struct {
	crm    *fakeCRM
	srv    *Server
	client tenginev1.TransitionServiceClient
}

func listen(t *testing.T, dir, name string) net.Listener {
	t.Helper()
	lis, err := net.Listen("unix", filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

func dial(t *testing.T, path string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// start serves a fake CRMService and a tengine Server on real unix sockets.
func start(t *testing.T) *harness {
	t.Helper()
	dir, err := os.MkdirTemp("", "te")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &harness{crm: &fakeCRM{rules: map[string]func(context.Context) (*crmv1.ExecuteActionResponse, error){}}}
	cg := grpc.NewServer()
	crmv1.RegisterCRMServiceServer(cg, h.crm)
	go cg.Serve(listen(t, dir, "cib.sock"))
	t.Cleanup(cg.Stop)
	cfg := DefaultConfig()
	cfg.UUID = "test-uuid"
	h.srv, err = New(cfg, crmv1.NewCRMServiceClient(dial(t, filepath.Join(dir, "cib.sock"))))
	if err != nil {
		t.Fatal(err)
	}
	tg := grpc.NewServer()
	Register(tg, h.srv)
	go tg.Serve(listen(t, dir, "tengine.sock"))
	t.Cleanup(tg.Stop)
	h.client = tenginev1.NewTransitionServiceClient(dial(t, filepath.Join(dir, "tengine.sock")))
	return h
}

func readGraph(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "graphs", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collect reads a Run stream to its end.
func collect(t *testing.T, stream grpc.ServerStreamingClient[tenginev1.RunEvent]) ([]*tenginev1.ActionEvent, *tenginev1.Finished, error) {
	t.Helper()
	var evs []*tenginev1.ActionEvent
	var fin *tenginev1.Finished
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return evs, fin, nil
		}
		if err != nil {
			return evs, fin, err
		}
		if a := ev.GetAction(); a != nil {
			evs = append(evs, a)
		}
		if f := ev.GetFinished(); f != nil {
			if fin != nil {
				t.Fatal("two Finished events")
			}
			fin = f
		}
	}
}

func run(t *testing.T, h *harness, graph []byte) ([]*tenginev1.ActionEvent, *tenginev1.Finished) {
	t.Helper()
	stream, err := h.client.Run(context.Background(), &tenginev1.RunRequest{GraphXml: graph})
	if err != nil {
		t.Fatal(err)
	}
	evs, fin, err := collect(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	if fin == nil {
		t.Fatal("no Finished")
	}
	return evs, fin
}

// TestRunComplete runs a real graph: every rsc_op becomes one call with the
// graph's fields, and the stream reports each action and the outcome.
func TestRunComplete(t *testing.T) {
	h := start(t)
	data := readGraph(t, "group-move")
	g, err := tengine.ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	evs, fin := run(t, h, data)
	if fin.Outcome != tenginev1.Outcome_OUTCOME_COMPLETE || fin.Completed != int64(g.NumActions()) || fin.Failed != 0 || fin.Skipped != 0 {
		t.Fatalf("finished %v", fin)
	}
	reqs := h.crm.requests()
	if len(reqs) != g.NumActions() {
		t.Fatalf("%d calls, want %d", len(reqs), g.NumActions())
	}
	if len(evs) != 2*g.NumActions() {
		t.Errorf("%d events, want %d", len(evs), 2*g.NumActions())
	}
	for i, r := range reqs {
		a := g.Actions[int(r.ActionId)]
		if a == nil || a.Kind == tengine.Pseudo {
			t.Fatalf("call for action %d", r.ActionId)
		}
		want := fmt.Sprintf("%d:%d:%d:test-uuid", a.ID, g.TransitionID, a.TargetRC)
		if r.TransitionKey != want || r.TransitionId != int64(g.TransitionID) || r.Node != a.Node || r.Operation != a.Operation ||
			r.OperationKey != a.OperationKey || r.RscId != a.Rsc.ID || r.RscClass != a.Rsc.Class || r.RscProvider != a.Rsc.Provider ||
			r.RscType != a.Rsc.Type || r.TargetRc != int32(a.TargetRC) || !maps.Equal(r.Attributes, a.Attributes) {
			t.Errorf("request %v does not match action %+v (key want %s)", r, a, want)
		}
		// deadline: CRM_meta_timeout (20 s) + cluster-delay (60 s)
		if left := h.crm.left[i]; left > 80*time.Second || left < 70*time.Second {
			t.Errorf("deadline %v away, want about 80s", left)
		}
	}
	// Orderings: each action's call comes after its inputs' calls.
	pos := map[int64]int{}
	for i, r := range reqs {
		pos[r.ActionId] = i
	}
	for _, syn := range g.Synapses {
		for _, a := range syn.Actions {
			for _, in := range syn.Inputs {
				if a.Kind != tengine.Pseudo && g.Actions[in].Kind != tengine.Pseudo && pos[int64(in)] > pos[int64(a.ID)] {
					t.Errorf("%s ran before its input %s", a.OperationKey, g.Actions[in].OperationKey)
				}
			}
		}
	}
}

func TestRunFailureAborts(t *testing.T) {
	h := start(t)
	h.crm.rules["g2_stop_0@node1"] = func(context.Context) (*crmv1.ExecuteActionResponse, error) {
		return &crmv1.ExecuteActionResponse{Rc: 1, ExitReason: "boom"}, nil
	}
	evs, fin := run(t, h, readGraph(t, "group-move"))
	if fin.Outcome != tenginev1.Outcome_OUTCOME_ABORTED || fin.Failed != 1 || fin.Completed != 0 || fin.Skipped != 5 {
		t.Fatalf("finished %v", fin)
	}
	if !strings.Contains(fin.Reason, "g2_stop_0") || !strings.Contains(fin.Reason, "boom") {
		t.Errorf("reason %q", fin.Reason)
	}
	if n := len(h.crm.requests()); n != 1 {
		t.Errorf("%d calls after a failure, want 1", n)
	}
	last := evs[len(evs)-1]
	if !last.Failed || last.Rc != 1 || last.ExitReason != "boom" {
		t.Errorf("event %v", last)
	}
}

func TestRunUnavailableTarget(t *testing.T) {
	h := start(t)
	h.crm.rules["g2_stop_0@node1"] = func(context.Context) (*crmv1.ExecuteActionResponse, error) {
		return nil, status.Error(codes.Unavailable, "node1 left the view")
	}
	_, fin := run(t, h, readGraph(t, "group-move"))
	if fin.Outcome != tenginev1.Outcome_OUTCOME_ABORTED || fin.Failed != 1 || !strings.Contains(fin.Reason, "node1 left the view") {
		t.Fatalf("finished %v", fin)
	}
}

// block makes an action wait until release is closed.
func block(h *harness, key string) chan struct{} {
	release := make(chan struct{})
	h.crm.rules[key] = func(ctx context.Context) (*crmv1.ExecuteActionResponse, error) {
		select {
		case <-release:
			return &crmv1.ExecuteActionResponse{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.crm.calls = make(chan string, 100)
	return release
}

func waitCall(t *testing.T, h *harness, key string) {
	t.Helper()
	for {
		select {
		case k := <-h.crm.calls:
			if k == key {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no call for %s", key)
		}
	}
}

// TestBusyAndAbort: a second Run is refused while one runs; Abort lets the
// running action finish and ends the stream ABORTED.
func TestBusyAndAbort(t *testing.T) {
	h := start(t)
	release := block(h, "g2_stop_0@node1")
	stream, err := h.client.Run(context.Background(), &tenginev1.RunRequest{TransitionId: 1, GraphXml: readGraph(t, "group-move")})
	if err != nil {
		t.Fatal(err)
	}
	waitCall(t, h, "g2_stop_0")
	s2, err := h.client.Run(context.Background(), &tenginev1.RunRequest{GraphXml: readGraph(t, "start-basic")})
	if err == nil {
		_, err = s2.Recv()
	}
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second Run: %v", err)
	}
	if r, err := h.client.Abort(context.Background(), &tenginev1.AbortRequest{TransitionId: 99}); err != nil || r.Running {
		t.Fatalf("Abort of another transition: %v %v", r, err)
	}
	if r, err := h.client.Abort(context.Background(), &tenginev1.AbortRequest{Reason: "cib changed"}); err != nil || !r.Running {
		t.Fatalf("Abort: %v %v", r, err)
	}
	close(release)
	_, fin, err := collect(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	if fin.Outcome != tenginev1.Outcome_OUTCOME_ABORTED || fin.Reason != "cib changed" || fin.Completed != 1 || fin.Skipped != 5 {
		t.Fatalf("finished %v", fin)
	}
	if r, _ := h.client.Abort(context.Background(), &tenginev1.AbortRequest{}); r.Running {
		t.Error("running after the end")
	}
	if h.srv.Busy() {
		t.Error("busy after the end")
	}
}

// TestCancelAborts: cancelling the Run call aborts; the slot frees only
// when the running action has finished.
func TestCancelAborts(t *testing.T) {
	h := start(t)
	release := block(h, "g2_stop_0@node1")
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := h.client.Run(ctx, &tenginev1.RunRequest{GraphXml: readGraph(t, "group-move")})
	if err != nil {
		t.Fatal(err)
	}
	waitCall(t, h, "g2_stop_0")
	cancel()
	if _, _, err := collect(t, stream); status.Code(err) != codes.Canceled {
		t.Fatalf("stream: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if !h.srv.Busy() {
		t.Fatal("slot free while an action runs")
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for h.srv.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("still busy")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(h.crm.requests()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	h.crm.rules = map[string]func(context.Context) (*crmv1.ExecuteActionResponse, error){}
	if _, fin := run(t, h, readGraph(t, "start-basic")); fin.Outcome != tenginev1.Outcome_OUTCOME_COMPLETE {
		t.Fatalf("next run: %v", fin)
	}
}

// TestTimeout: an action that never answers fails at timeout + cluster-delay.
func TestTimeout(t *testing.T) {
	h := start(t)
	block(h, "a_start_0@n1")
	graph := []byte(`<transition_graph cluster-delay="100ms" transition_id="5"><synapse id="0"><action_set>
<rsc_op id="1" operation="start" operation_key="a_start_0" on_node="n1"><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/><attributes CRM_meta_timeout="100"/></rsc_op>
</action_set><inputs/></synapse></transition_graph>`)
	start := time.Now()
	evs, fin := run(t, h, graph)
	if fin.Outcome != tenginev1.Outcome_OUTCOME_ABORTED || fin.Failed != 1 {
		t.Fatalf("finished %v", fin)
	}
	last := evs[len(evs)-1]
	if !last.Failed || last.OpStatus != tengine.StatusTimeout {
		t.Errorf("event %v", last)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("failed after %v, before the deadline", el)
	}
}

func TestBadRequests(t *testing.T) {
	h := start(t)
	for _, req := range []*tenginev1.RunRequest{
		{GraphXml: []byte("<nope/>")},
		{GraphXml: []byte("")},
		{TransitionId: 3, GraphXml: readGraph(t, "start-basic")}, // the graph says 1
	} {
		stream, err := h.client.Run(context.Background(), req)
		if err == nil {
			_, _, err = collect(t, stream)
		}
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%q: %v", req.GraphXml, err)
		}
	}
	// An empty graph completes at once.
	_, fin := run(t, h, []byte(`<transition_graph transition_id="4"/>`))
	if fin.Outcome != tenginev1.Outcome_OUTCOME_COMPLETE || fin.Completed != 0 {
		t.Fatalf("finished %v", fin)
	}
}
