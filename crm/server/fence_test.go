package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/lrm/executor"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// fakeStonith is a StonithService answering Fence with a scripted state.
type fakeStonith struct {
	stonithv1.UnimplementedStonithServiceServer
	mu      sync.Mutex
	state   stonithv1.State
	reason  string
	history []*stonithv1.Entry
	calls   []*stonithv1.FenceRequest
	queries int
}

func (f *fakeStonith) Fence(_ context.Context, req *stonithv1.FenceRequest) (*stonithv1.FenceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	now := time.Now().UnixMilli()
	e := &stonithv1.Entry{Id: uint64(len(f.calls)), Target: req.GetTarget(), Action: req.GetAction(), State: f.state,
		Origin: req.GetOrigin(), Clients: []string{req.GetClient()}, Delegate: req.GetOrigin(), Devices: []string{"fake"},
		Reason: f.reason, RequestedMs: now, CompletedMs: now}
	f.history = append(f.history, e)
	return &stonithv1.FenceResponse{Id: e.GetId(), Entry: e}, nil
}

func (f *fakeStonith) History(_ context.Context, req *stonithv1.HistoryRequest) (*stonithv1.HistoryResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &stonithv1.HistoryResponse{Entries: append([]*stonithv1.Entry(nil), f.history...)}, nil
}

func (f *fakeStonith) QueryDevice(_ context.Context, req *stonithv1.QueryDeviceRequest) (*stonithv1.QueryDeviceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if req.GetDevice() == "broken" {
		return &stonithv1.QueryDeviceResponse{Rc: 1, Error: "agent says no"}, nil
	}
	if f.queries == 1 {
		return nil, status.Error(codes.NotFound, "no such device yet")
	}
	return &stonithv1.QueryDeviceResponse{}, nil
}

func (f *fakeStonith) requests() []*stonithv1.FenceRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*stonithv1.FenceRequest(nil), f.calls...)
}

func TestFenceAction(t *testing.T) {
	fakes := map[string]*fakeStonith{}
	pc := newPipeClusterWith(t, false, func(name string, _ *executor.Fake, _ *testPE, cfg *Config) {
		f := &fakeStonith{state: stonithv1.State_STATE_DONE}
		fakes[name] = f
		cfg.Stonith = stonithv1.NewStonithServiceClient(bufClient(t, func(g *grpc.Server) { stonithv1.RegisterStonithServiceServer(g, f) }))
	}, "n1", "n2")
	dc := pc.waitDC()
	target := "n1"
	if dc == "n1" {
		target = "n2"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc.write(dc, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true,
		XML: []byte(`<node_state id="` + target + `"><lrm id="` + target + `"><lrm_resources><lrm_resource id="x" class="ocf" provider="heartbeat" type="Dummy"/></lrm_resources></lrm></node_state>`)})
	req := func(key string, attrs map[string]string) *crmv1.ExecuteActionRequest {
		a := map[string]string{"CRM_meta_on_node": target, "CRM_meta_stonith_action": "reboot", "CRM_meta_timeout": "60000"}
		for k, v := range attrs {
			a[k] = v
		}
		return &crmv1.ExecuteActionRequest{Node: target, Operation: "stonith", OperationKey: "stonith-" + target + "-reboot",
			TransitionKey: key, Attributes: a}
	}

	t.Run("done", func(t *testing.T) {
		if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, req("1:1:0:uuid", map[string]string{"CRM_meta_priority_fencing_delay": "5"})); err != nil {
			t.Fatalf("stonith: %v", err)
		}
		calls := fakes[dc].requests()
		if len(calls) != 1 {
			t.Fatalf("the DC's stonithd got %d requests, want 1", len(calls))
		}
		c := calls[0]
		if c.GetTarget() != target || c.GetAction() != "reboot" || !c.GetWait() || c.GetOrigin() != dc || c.GetClient() != "crmd" ||
			c.GetTimeoutMs() != 60000 || c.PriorityDelayMs == nil || c.GetPriorityDelayMs() != 5000 {
			t.Errorf("fence request %v", c)
		}
		if n := len(fakes[target].requests()); n != 0 {
			t.Errorf("the target's own stonithd got %d requests", n)
		}
		for _, n := range pc.names {
			ns := pc.query(n, "/cib/status/node_state[@id='"+target+"']")
			if len(ns) != 1 {
				t.Fatalf("%s: node_state %v", n, ns)
			}
			for k, want := range map[string]string{"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"} {
				if v := ns[0].SelectAttrValue(k, ""); v != want {
					t.Errorf("%s: node_state %s=%q, want %q", n, k, v, want)
				}
			}
			if ns[0].SelectElement("lrm") != nil {
				t.Errorf("%s: the fenced node's lrm section is still there", n)
			}
		}
	})

	t.Run("failed", func(t *testing.T) {
		fakes[dc].mu.Lock()
		fakes[dc].state, fakes[dc].reason = stonithv1.State_STATE_FAILED, "fence_x: rc 1"
		fakes[dc].mu.Unlock()
		pc.write(dc, cib.Request{Op: cib.OpModify, Scope: "status", XML: []byte(`<node_state id="` + target + `" expected="member"/>`)})
		_, err := pc.nodes[dc].crm.ExecuteAction(ctx, req("2:2:0:uuid", nil))
		if err == nil || grpcCode(err) != "Aborted" {
			t.Fatalf("failed fencing answered %v, want an Aborted error", err)
		}
		if ns := pc.query(dc, "/cib/status/node_state[@id='"+target+"']"); len(ns) != 1 || ns[0].SelectAttrValue("expected", "") != "member" {
			t.Errorf("a failed fencing changed the target's node_state: %v", ns)
		}
		if c := fakes[dc].requests(); len(c) != 2 || c[1].PriorityDelayMs != nil {
			t.Errorf("requests %v: want a second one without a priority delay", c)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			req   *crmv1.ExecuteActionRequest
			code  string
			calls int
		}{
			{"self", &crmv1.ExecuteActionRequest{Node: dc, Operation: "stonith", TransitionKey: "3:3:0:uuid", Attributes: map[string]string{"CRM_meta_on_node": dc}}, "FailedPrecondition", 2},
			{"bad action", req("4:3:0:uuid", map[string]string{"CRM_meta_stonith_action": "explode"}), "InvalidArgument", 2},
			{"bad delay", req("5:3:0:uuid", map[string]string{"CRM_meta_priority_fencing_delay": "soon"}), "InvalidArgument", 2},
		} {
			if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, tt.req); grpcCode(err) != tt.code {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			}
			if n := len(fakes[dc].requests()); n != tt.calls {
				t.Errorf("%s: stonithd got %d requests, want %d", tt.name, n, tt.calls)
			}
		}
	})
}

func TestFenceBackoff(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	at := func(ms int64, st stonithv1.State) *stonithv1.Entry {
		return &stonithv1.Entry{Target: "n2", State: st, CompletedMs: now.UnixMilli() + ms}
	}
	failed, done := stonithv1.State_STATE_FAILED, stonithv1.State_STATE_DONE
	for _, tt := range []struct {
		name    string
		entries []*stonithv1.Entry
		want    time.Duration
	}{
		{"no history", nil, 0},
		{"last done", []*stonithv1.Entry{at(-100, failed), at(-50, done)}, 0},
		{"one failure just now", []*stonithv1.Entry{at(0, failed)}, time.Second},
		{"one failure 400 ms ago", []*stonithv1.Entry{at(-400, failed)}, 600 * time.Millisecond},
		{"three failures", []*stonithv1.Entry{at(-30, failed), at(-20, failed), at(0, failed)}, 4 * time.Second},
		{"failures before a success do not count", []*stonithv1.Entry{at(-30, failed), at(-20, done), at(0, failed)}, time.Second},
		{"capped", []*stonithv1.Entry{at(-9, failed), at(-8, failed), at(-7, failed), at(-6, failed), at(-5, failed), at(-4, failed), at(0, failed)}, fenceBackoffMax},
		{"long ago", []*stonithv1.Entry{at(-60_000, failed)}, 0},
		{"other target", []*stonithv1.Entry{{Target: "n3", State: failed, CompletedMs: now.UnixMilli()}}, 0},
		{"pending ignored", []*stonithv1.Entry{{Target: "n2", State: stonithv1.State_STATE_PENDING}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fenceBackoff(tt.entries, "n2", now); got != tt.want {
				t.Errorf("fenceBackoff = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFenceArgs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		node   string
		attrs  map[string]string
		target string
		action string
		delay  string // "" = none
		bad    bool
	}{
		{"defaults", "n2", nil, "n2", "reboot", "", false},
		{"on_node wins", "n9", map[string]string{"CRM_meta_on_node": "n2", "CRM_meta_stonith_action": "off"}, "n2", "off", "", false},
		{"seconds", "n2", map[string]string{"CRM_meta_priority_fencing_delay": "10"}, "n2", "reboot", "10s", false},
		{"zero", "n2", map[string]string{"CRM_meta_priority_fencing_delay": "0"}, "n2", "reboot", "0s", false},
		{"unit", "n2", map[string]string{"CRM_meta_priority_fencing_delay": "1500ms"}, "n2", "reboot", "1.5s", false},
		{"negative", "n2", map[string]string{"CRM_meta_priority_fencing_delay": "-1"}, "", "", "", true},
		{"no target", "", nil, "", "", "", true},
		{"bad target", "a b", nil, "", "", "", true},
		{"bad action", "n2", map[string]string{"CRM_meta_stonith_action": "status"}, "", "", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseFenceArgs(&crmv1.ExecuteActionRequest{Node: tt.node, Operation: "stonith", Attributes: tt.attrs})
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			delay := ""
			if a.priorityDelay != nil {
				delay = a.priorityDelay.String()
			}
			if a.target != tt.target || a.action != tt.action || delay != tt.delay {
				t.Errorf("got %s %s delay %q", a.target, a.action, delay)
			}
		})
	}
}

func TestFenceDeviceOperations(t *testing.T) {
	fakes := map[string]*fakeStonith{}
	pc := newPipeClusterWith(t, false, func(name string, _ *executor.Fake, _ *testPE, cfg *Config) {
		f := &fakeStonith{}
		fakes[name] = f
		cfg.Stonith = stonithv1.NewStonithServiceClient(bufClient(t, func(g *grpc.Server) { stonithv1.RegisterStonithServiceServer(g, f) }))
	}, "n1", "n2")
	dc := pc.waitDC()
	target := "n1"
	if dc == "n1" {
		target = "n2"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, tt := range []struct {
		rsc, op string
		rc      int32
	}{
		{"fence-x", "monitor", 7}, // probe: not started
		{"fence-x", "start", 0},   // stonithd does not know it at first: asked again
		{"fence-x", "monitor", 0}, // probe: started
		{"fence-x", "stop", 0},
		{"fence-x", "monitor", 7},
		{"broken", "start", 1},
	} {
		key := fmt.Sprintf("%d:1:0:uuid", i+1)
		req := &crmv1.ExecuteActionRequest{Node: target, Operation: tt.op, OperationKey: tt.rsc + "_" + tt.op + "_0", RscId: tt.rsc,
			RscClass: "stonith", RscType: "fence_systole_lab", TransitionKey: key, Attributes: map[string]string{"CRM_meta_timeout": "20000"}}
		resp, err := pc.nodes[dc].crm.ExecuteAction(ctx, req)
		if err != nil || resp.GetRc() != tt.rc {
			t.Fatalf("%s %s: rc %d err %v, want rc %d", tt.rsc, tt.op, resp.GetRc(), err, tt.rc)
		}
		var r *etree.Element
		if els := pc.query(dc, rscXPath(target, tt.rsc)+"/lrm_rsc_op[@id='"+tt.rsc+"_last_0']"); len(els) == 1 {
			r = els[0]
		}
		if r == nil || r.SelectAttrValue("operation", "") != tt.op || r.SelectAttrValue("rc-code", "") != fmt.Sprint(tt.rc) || r.SelectAttrValue("transition-key", "") != key {
			t.Errorf("%s %s: record %v", tt.rsc, tt.op, r)
		}
	}
	if q := fakes[target].queries; q != 3 {
		t.Errorf("the target's stonithd was asked %d times, want 3 (a retried start, a broken device)", q)
	}
	if len(pc.nodes[target].fake.Calls()) != 0 {
		t.Errorf("lrmd ran a fence device operation: %v", pc.nodes[target].fake.Calls())
	}
}

func TestParseFenceTimeout(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"90", 90 * time.Second, false},
		{"60s", time.Minute, false},
		{"2min", 2 * time.Minute, false},
		{"1500ms", 1500 * time.Millisecond, false},
		{"", 0, true},
		{"soon", 0, true},
	} {
		got, err := parseFenceTimeout(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseFenceTimeout(%q) = %v, %v", tt.in, got, err)
		}
	}
}
