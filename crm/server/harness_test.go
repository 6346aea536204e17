package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
	lrmserver "github.com/systole/systole/lrm/server"
	"github.com/systole/systole/pengine"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
)

// SendExec delivers crmd-exec messages like messagingd would (unicast).
func (t fakeTransport) SendExec(ctx context.Context, to string, data []byte) error {
	t.n.mu.Lock()
	s := t.n.servers[to]
	cut := t.n.cut[to] || t.n.cut[t.from]
	t.n.mu.Unlock()
	if s == nil || cut {
		return nil // lost, as on a real network
	}
	return s.DeliverExec(ctx, t.from, data)
}

// bufClient serves register on an in-memory listener and returns a
// client connection.
func bufClient(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	register(g)
	go g.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///buf", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop() })
	return conn
}

// startLRM runs an lrmd (lrm/server) over a fake executor.
func startLRM(t *testing.T, f *executor.Fake) lrmv1.LRMServiceClient {
	t.Helper()
	srv, err := lrmserver.New(lrm.DefaultConfig(), f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return lrmv1.NewLRMServiceClient(bufClient(t, func(g *grpc.Server) { lrmserver.Register(g, srv) }))
}

// testPE is PEngineService over pengine.Compute, counting computations.
type testPE struct {
	penginev1.UnimplementedPEngineServiceServer
	mu       sync.Mutex
	actions  []int64 // non-pseudo actions of each computation, in order
	failNext int     // calls to refuse with UNAVAILABLE (pengine away)
	refused  int
}

func (p *testPE) Compute(_ context.Context, req *penginev1.ComputeRequest) (*penginev1.ComputeResponse, error) {
	p.mu.Lock()
	if p.failNext > 0 {
		p.failNext--
		p.refused++
		p.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "pengine restarting")
	}
	p.mu.Unlock()
	c, err := cib.Parse(req.GetCibXml())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	res, err := pengine.Compute(c, pengine.Config{Now: req.GetNowUnix(), TransitionID: int(req.GetTransitionId())})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var n int64
	for _, syn := range res.Graph.Synapses {
		if syn.Action.Element != "pseudo_event" {
			n++
		}
	}
	p.mu.Lock()
	p.actions = append(p.actions, n)
	p.mu.Unlock()
	return &penginev1.ComputeResponse{GraphXml: res.Graph.XML(), Summary: res.Summary, Warnings: res.Warnings,
		RecheckByUnix: res.Graph.RecheckBy, Actions: n}, nil
}

func (p *testPE) history() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.actions...)
}

// testTE is a minimal transition engine: it runs a graph's ready actions
// one at a time through the local crmd's CRMService.ExecuteAction, and
// aborts on an unexpected result or on Abort.
type testTE struct {
	tenginev1.UnimplementedTransitionServiceServer
	crm     crmv1.CRMServiceClient
	mu      sync.Mutex
	running bool
	abort   bool
	aborts  int // Abort calls that found a graph running
}

type teAction struct {
	id     int
	el     *etree.Element
	inputs []int
}

func (te *testTE) Abort(_ context.Context, _ *tenginev1.AbortRequest) (*tenginev1.AbortResponse, error) {
	te.mu.Lock()
	defer te.mu.Unlock()
	te.abort = te.running
	if te.running {
		te.aborts++
	}
	return &tenginev1.AbortResponse{Running: te.running}, nil
}

func (te *testTE) Run(req *tenginev1.RunRequest, stream grpc.ServerStreamingServer[tenginev1.RunEvent]) error {
	te.mu.Lock()
	if te.running {
		te.mu.Unlock()
		return status.Error(codes.FailedPrecondition, "busy")
	}
	te.running, te.abort = true, false
	te.mu.Unlock()
	defer func() { te.mu.Lock(); te.running = false; te.mu.Unlock() }()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(req.GetGraphXml()); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	var acts []teAction
	for _, syn := range doc.Root().SelectElements("synapse") {
		set := syn.SelectElement("action_set")
		if set == nil || len(set.ChildElements()) == 0 {
			continue
		}
		a := teAction{el: set.ChildElements()[0]}
		a.id, _ = strconv.Atoi(a.el.SelectAttrValue("id", ""))
		if in := syn.SelectElement("inputs"); in != nil {
			for _, tr := range in.SelectElements("trigger") {
				for _, x := range tr.ChildElements() {
					id, _ := strconv.Atoi(x.SelectAttrValue("id", ""))
					a.inputs = append(a.inputs, id)
				}
			}
		}
		acts = append(acts, a)
	}
	done := map[int]bool{}
	var completed, failed int64
	finish := func(o tenginev1.Outcome, why string) error {
		return stream.Send(&tenginev1.RunEvent{Event: &tenginev1.RunEvent_Finished{Finished: &tenginev1.Finished{Outcome: o, Reason: why, Completed: completed, Failed: failed}}})
	}
	for {
		te.mu.Lock()
		ab := te.abort
		te.mu.Unlock()
		if ab {
			return finish(tenginev1.Outcome_OUTCOME_ABORTED, "aborted")
		}
		var next *teAction
		for i := range acts {
			a := &acts[i]
			if done[a.id] {
				continue
			}
			ready := true
			for _, in := range a.inputs {
				ready = ready && done[in]
			}
			if ready {
				next = a
				break
			}
		}
		if next == nil {
			if len(done) == len(acts) {
				return finish(tenginev1.Outcome_OUTCOME_COMPLETE, "")
			}
			return finish(tenginev1.Outcome_OUTCOME_ABORTED, "blocked")
		}
		if next.el.Tag == "pseudo_event" {
			done[next.id] = true
			continue
		}
		ex := &crmv1.ExecuteActionRequest{TransitionId: req.GetTransitionId(), ActionId: int64(next.id),
			Node: next.el.SelectAttrValue("on_node", ""), Operation: next.el.SelectAttrValue("operation", ""),
			OperationKey: next.el.SelectAttrValue("operation_key", ""), Attributes: map[string]string{}}
		if p := next.el.SelectElement("primitive"); p != nil {
			ex.RscId, ex.RscLongId = p.SelectAttrValue("id", ""), p.SelectAttrValue("long-id", "")
			ex.RscClass, ex.RscProvider, ex.RscType = p.SelectAttrValue("class", ""), p.SelectAttrValue("provider", ""), p.SelectAttrValue("type", "")
		}
		if at := next.el.SelectElement("attributes"); at != nil {
			for _, a := range at.Attr {
				ex.Attributes[a.Key] = a.Value
			}
		}
		target, _ := strconv.Atoi(ex.Attributes["CRM_meta_op_target_rc"])
		ex.TargetRc = int32(target)
		ex.TransitionKey = fmt.Sprintf("%d:%d:%d:test-te-uuid", next.id, req.GetTransitionId(), target)
		ctx, cancel := context.WithTimeout(stream.Context(), 20*time.Second)
		resp, err := te.crm.ExecuteAction(ctx, ex)
		cancel()
		ev := &tenginev1.ActionEvent{ActionId: int64(next.id), OperationKey: ex.OperationKey, Node: ex.Node}
		bad := err != nil || resp.GetOpStatus() != 0 || resp.GetRc() != int32(target)
		if err == nil {
			ev.Rc, ev.OpStatus, ev.ExitReason = resp.GetRc(), resp.GetOpStatus(), resp.GetExitReason()
		} else {
			ev.ExitReason = err.Error()
		}
		ev.Failed = bad
		if err := stream.Send(&tenginev1.RunEvent{Event: &tenginev1.RunEvent_Action{Action: ev}}); err != nil {
			return err
		}
		if bad {
			failed++
			return finish(tenginev1.Outcome_OUTCOME_ABORTED, fmt.Sprintf("%s on %s: rc %d status %d err %v", ex.OperationKey, ex.Node, resp.GetRc(), resp.GetOpStatus(), err))
		}
		completed++
		done[next.id] = true
	}
}

// pipeNode is one node of a pipeline cluster.
type pipeNode struct {
	s    *Server
	fake *executor.Fake
	crm  crmv1.CRMServiceClient
	pe   *testPE
	te   *testTE
}

type pipeCluster struct {
	t     *testing.T
	names []string
	net   *fakeNet
	nodes map[string]*pipeNode
}

// newPipeCluster starts servers with an lrmd each (fake executor, probes
// of d1 find it stopped), a policy engine and a minimal transition
// engine; withPE false leaves the DC pipeline off.
func newPipeCluster(t *testing.T, withPE bool, names ...string) *pipeCluster {
	return newPipeClusterWith(t, withPE, nil, names...)
}

// newPipeClusterWith lets prep adjust each node's fake executor, policy
// engine and configuration before the servers start.
func newPipeClusterWith(t *testing.T, withPE bool, prep func(name string, f *executor.Fake, pe *testPE, cfg *Config), names ...string) *pipeCluster {
	t.Helper()
	fn := &fakeNet{servers: map[string]*Server{}, cut: map[string]bool{}}
	pc := &pipeCluster{t: t, names: names, net: fn, nodes: map[string]*pipeNode{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, name := range names {
		f := executor.NewFake()
		f.Script("d1", "monitor", 0, lrm.ExecResult{RC: lrm.RCNotRunning, Status: lrm.StatusDone})
		te := &testTE{}
		pe := &testPE{}
		cfg := Config{Tick: 10 * time.Millisecond, LRM: startLRM(t, f), ExecRetry: 200 * time.Millisecond}
		if os.Getenv("CRMD_TEST_LOG") != "" {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("n", name)
		}
		if prep != nil {
			prep(name, f, pe, &cfg)
		}
		if withPE {
			cfg.PEngine = penginev1.NewPEngineServiceClient(bufClient(t, func(g *grpc.Server) { penginev1.RegisterPEngineServiceServer(g, pe) }))
			cfg.TEngine = tenginev1.NewTransitionServiceClient(bufClient(t, func(g *grpc.Server) { tenginev1.RegisterTransitionServiceServer(g, te) }))
		}
		core := crm.DefaultConfig(name)
		core.Retry = 50 * time.Millisecond
		core.WriteTimeout = 10 * time.Second
		s, err := New(core, cib.NewMemStore(10), fakeTransport{n: fn, from: name}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fn.servers[name] = s
		wg.Add(2)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
		go func() { defer wg.Done(); FollowLRM(ctx, s) }()
		c := serveCRM(t, s)
		te.crm = c
		pc.nodes[name] = &pipeNode{s: s, fake: f, crm: c, pe: pe, te: te}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	v := crm.View{Number: 1, Members: names, Quorum: true}
	for _, name := range names {
		if err := pc.nodes[name].s.SetView(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	return pc
}

// serveCRM serves s on a unix socket and returns a CRMService client.
func serveCRM(t *testing.T, s *Server) crmv1.CRMServiceClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); <-done })
	return crmv1.NewCRMServiceClient(conn)
}

func (pc *pipeCluster) waitDC() string {
	pc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		dc, agree, selves := "", true, 0
		for _, name := range pc.names {
			st := pc.nodes[name].s.Status()
			if st.IsDC && st.Active {
				selves++
			}
			if st.DC == "" || (dc != "" && st.DC != dc) {
				agree = false
			}
			dc = st.DC
		}
		if agree && selves == 1 {
			return dc
		}
		time.Sleep(10 * time.Millisecond)
	}
	pc.t.Fatal("no single DC agreed by every node")
	return ""
}

// write applies a CIB write through node n.
func (pc *pipeCluster) write(n string, req cib.Request) {
	pc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pc.nodes[n].s.Write(ctx, req); err != nil {
		pc.t.Fatalf("write on %s: %v", n, err)
	}
}

// query returns the elements matching xpath in n's replica.
func (pc *pipeCluster) query(n, xpath string) []*etree.Element {
	pc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _, err := pc.nodes[n].s.Query(ctx, cib.Request{XPath: xpath})
	if err != nil {
		return nil
	}
	var els []*etree.Element
	for _, b := range out {
		d := etree.NewDocument()
		if d.ReadFromBytes(b) == nil && d.Root() != nil {
			els = append(els, d.Root())
		}
	}
	return els
}

// eventually polls cond until it holds or the deadline passes.
func (pc *pipeCluster) eventually(what string, d time.Duration, cond func() bool) {
	pc.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	pc.t.Fatalf("timed out waiting for %s", what)
}
