package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
	lrmserver "github.com/systole/systole/lrm/server"
	"github.com/systole/systole/pengine"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

const (
	stonithOff = `<cluster_property_set id="cib-bootstrap-options"><nvpair id="opt-stonith" name="stonith-enabled" value="false"/></cluster_property_set>`
	dummy      = `<primitive id="d1" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="d1-ia"><nvpair id="d1-state" name="state" value="/run/d1.state"/></instance_attributes><operations><op id="d1-mon" name="monitor" interval="1s" timeout="20s"/></operations></primitive>`
)

// records returns d1's lrm_rsc_op entries of node on in n's replica, by id.
func (pc *pipeCluster) records(n, on string) map[string]*etree.Element {
	out := map[string]*etree.Element{}
	for _, e := range pc.query(n, rscXPath(on, "d1")+"/lrm_rsc_op") {
		out[e.SelectAttrValue("id", "")] = e
	}
	return out
}

// runningOn returns the nodes whose d1_last_0 is a successful start in
// every replica (only when all replicas agree).
func (pc *pipeCluster) runningOn() []string {
	var on []string
	for _, target := range pc.names {
		all := true
		for _, n := range pc.names {
			r := pc.records(n, target)["d1_last_0"]
			if r == nil || r.SelectAttrValue("operation", "") != "start" || r.SelectAttrValue("rc-code", "") != "0" {
				all = false
			}
		}
		if all {
			on = append(on, target)
		}
	}
	return on
}

func (pc *pipeCluster) starts() int {
	n := 0
	for _, name := range pc.names {
		for _, c := range pc.nodes[name].fake.Calls() {
			if c.Rsc.ID == "d1" && c.Action == lrm.ActionStart {
				n++
			}
		}
	}
	return n
}

// idle reports that the DC computed an empty graph last and is idle.
func (pc *pipeCluster) idle(dc string) bool {
	st := pc.nodes[dc].s.Status()
	h := pc.nodes[dc].pe.history()
	return st.Transition == crmv1.TransitionState_TRANSITION_STATE_IDLE && len(h) > 0 && h[len(h)-1] == 0
}

func TestPipelineStartsMonitorsAndRecovers(t *testing.T) {
	pc := newPipeCluster(t, true, "n1", "n2", "n3")
	dc := pc.waitDC()
	pc.write(dc, cib.Request{Op: cib.OpCreate, Scope: "crm_config", XML: []byte(stonithOff)})
	pc.write("n2", cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(dummy)})

	// d1 ends Started on one node, with its records in every replica
	var on string
	pc.eventually("d1 started and the DC idle", 20*time.Second, func() bool {
		r := pc.runningOn()
		if len(r) == 1 && pc.idle(dc) {
			on = r[0]
			return true
		}
		return false
	})
	if n := pc.starts(); n != 1 {
		t.Errorf("d1 started %d times, want once", n)
	}
	ia := map[string]string{"state": "/run/d1.state"}
	for _, n := range pc.names {
		for _, target := range pc.names {
			recs := pc.records(n, target)
			last := recs["d1_last_0"]
			if last == nil {
				t.Fatalf("%s: no d1_last_0 for %s", n, target)
			}
			if target != on {
				if last.SelectAttrValue("operation", "") != "monitor" || last.SelectAttrValue("rc-code", "") != "7" {
					t.Errorf("%s: probe of d1 on %s recorded as %s rc %s", n, target, last.SelectAttrValue("operation", ""), last.SelectAttrValue("rc-code", ""))
				}
				continue
			}
			mon := recs["d1_monitor_1000"]
			if mon == nil || mon.SelectAttrValue("rc-code", "") != "0" || mon.SelectAttrValue("interval", "") != "1000" {
				t.Fatalf("%s: monitor record of d1 on %s: %v", n, target, mon)
			}
			for k, want := range map[string]string{"operation_key": "d1_start_0", "on_node": on, "op-status": "0", "interval": "0", "crm-feature-set": featureSet} {
				if got := last.SelectAttrValue(k, ""); got != want {
					t.Errorf("%s: d1_last_0 %s=%q, want %q", n, k, got, want)
				}
			}
			tk := last.SelectAttrValue("transition-key", "")
			if !strings.HasSuffix(last.SelectAttrValue("transition-magic", ""), ";"+tk) || !strings.HasPrefix(last.SelectAttrValue("transition-magic", ""), "0:0;") {
				t.Errorf("%s: transition key %q, magic %q", n, tk, last.SelectAttrValue("transition-magic", ""))
			}
			if got, want := last.SelectAttrValue("op-digest", ""), pengine.OpDigest(ia, 0); got != want {
				t.Errorf("%s: start op-digest %s, want %s", n, got, want)
			}
			monAttrs := map[string]string{"state": "/run/d1.state", "CRM_meta_timeout": "20000"}
			if got, want := mon.SelectAttrValue("op-digest", ""), pengine.OpDigest(monAttrs, 1000); got != want {
				t.Errorf("%s: monitor op-digest %s, want %s", n, got, want)
			}
		}
	}
	if st := pc.nodes[dc].s.Status(); st.TransitionID < 2 {
		t.Errorf("DC status: transition %d, want at least 2 (the start, then an empty graph)", st.TransitionID)
	}

	// GetStatus over gRPC
	gs, err := pc.nodes[dc].crm.GetStatus(context.Background(), &crmv1.GetStatusRequest{})
	if err != nil || !gs.GetIsDc() || gs.GetDc() != dc || len(gs.GetMembers()) != 3 || gs.GetTransitionState() != crmv1.TransitionState_TRANSITION_STATE_IDLE || gs.GetTransitionId() == 0 {
		t.Errorf("GetStatus on the DC: %v, %v", gs, err)
	}

	// a monitor failure reported by lrmd: fail count, then recovery
	pc.nodes[on].fake.Script("d1", "monitor", time.Second,
		lrm.ExecResult{RC: lrm.RCNotRunning, Status: lrm.StatusDone},
		lrm.ExecResult{RC: lrm.RCOK, Status: lrm.StatusDone})
	name := "fail-count-d1#monitor_1000"
	pc.eventually("a fail count and a second start", 20*time.Second, func() bool {
		v, ok := pc.nodes[dc].s.attr(on, name)
		return ok && v == "1" && pc.starts() == 2 && len(pc.runningOn()) == 1 && pc.idle(dc)
	})
	for _, n := range pc.names {
		recs := pc.records(n, on)
		if f := recs["d1_last_failure_0"]; f == nil || f.SelectAttrValue("operation_key", "") != "d1_monitor_1000" || f.SelectAttrValue("rc-code", "") != "7" {
			t.Errorf("%s: last failure record %v", n, f)
		}
		if m := recs["d1_monitor_1000"]; m == nil || m.SelectAttrValue("rc-code", "") != "0" {
			t.Errorf("%s: monitor after recovery: %v", n, m)
		}
	}

	// Cleanup forgets the history and the fail count; the DC probes again
	// (the fake reports d1 stopped: lrmd forgot it) and starts it again
	probes := func() int {
		n := 0
		for _, c := range pc.nodes[on].fake.Calls() {
			if c.Action == lrm.ActionMonitor && c.Interval == 0 {
				n++
			}
		}
		return n
	}
	before := probes()
	cr, err := pc.nodes["n2"].crm.Cleanup(context.Background(), &crmv1.CleanupRequest{RscId: "d1", OnlyFailed: true})
	if err != nil || len(cr.GetCleaned()) != 1 || cr.GetCleaned()[0] != "d1 on "+on {
		t.Fatalf("Cleanup: %v, %v", cr, err)
	}
	pc.eventually("the fail count gone, d1 re-probed and running", 20*time.Second, func() bool {
		_, ok := pc.nodes[dc].s.attr(on, name)
		recs := pc.records(dc, on)
		return !ok && recs["d1_last_failure_0"] == nil && probes() == before+1 && len(pc.runningOn()) == 1 && pc.idle(dc)
	})
}

// attr reads a transient attribute from the replica.
func (s *Server) attr(node, name string) (string, bool) {
	var v string
	var ok bool
	_ = s.do(context.Background(), func() { v, ok = s.node.GetAttr(node, name, "reboot") })
	return v, ok
}

func TestExecuteActionTargetLeaves(t *testing.T) {
	pc := newPipeCluster(t, false, "n1", "n2", "n3")
	dc := pc.waitDC()
	var target, other string
	for _, n := range pc.names {
		if n != dc {
			if target == "" {
				target = n
			} else {
				other = n
			}
		}
	}
	pc.nodes[target].fake.Delay = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := &crmv1.ExecuteActionRequest{Node: target, Operation: "start", OperationKey: "d1_start_0", RscId: "d1",
		RscClass: "ocf", RscProvider: "heartbeat", RscType: "Dummy", TransitionKey: "1:1:0:uuid",
		Attributes: map[string]string{"CRM_meta_timeout": "60000"}}
	errc := make(chan error, 1)
	go func() {
		_, err := pc.nodes[dc].crm.ExecuteAction(ctx, req)
		errc <- err
	}()
	pc.eventually("the action running on "+target, 10*time.Second, func() bool { return len(pc.nodes[target].fake.Calls()) == 1 })

	// only the DC accepts actions
	if _, err := pc.nodes[other].crm.ExecuteAction(ctx, req); grpcCode(err) != "FailedPrecondition" {
		t.Errorf("ExecuteAction on a replica: %v, want FailedPrecondition", err)
	}
	// the target leaves the view
	pc.net.mu.Lock()
	pc.net.cut[target] = true
	pc.net.mu.Unlock()
	v := pc.nodes[dc].s.Status().View
	var rest []string
	for _, m := range v.Members {
		if m != target {
			rest = append(rest, m)
		}
	}
	for _, n := range rest {
		if err := pc.nodes[n].s.SetView(ctx, viewOf(v.Number+1, rest)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-errc:
		if grpcCode(err) != "Unavailable" {
			t.Errorf("pending ExecuteAction: %v, want Unavailable", err)
		}
	case <-ctx.Done():
		t.Fatal("the pending ExecuteAction did not fail when its target left")
	}
}

func TestExecuteActionOnceAndErrors(t *testing.T) {
	pc := newPipeCluster(t, false, "n1", "n2")
	dc := pc.waitDC()
	target := "n1"
	if dc == "n1" {
		target = "n2"
	}
	pc.nodes[target].fake.Delay = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := &crmv1.ExecuteActionRequest{Node: target, Operation: "start", OperationKey: "d1_start_0", RscId: "d1",
		RscClass: "ocf", RscProvider: "heartbeat", RscType: "Dummy", TransitionKey: "3:1:0:uuid",
		Attributes: map[string]string{"CRM_meta_timeout": "20000", "state": "x"}}
	// the same action three times at once (a retried call): it runs once
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			resp, err := pc.nodes[dc].crm.ExecuteAction(ctx, req)
			if err == nil && (resp.GetRc() != 0 || resp.GetCallId() == 0) {
				err = fmt.Errorf("answer %v", resp)
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("ExecuteAction: %v", err)
		}
	}
	if n := len(pc.nodes[target].fake.Calls()); n != 1 {
		t.Errorf("the action ran %d times, want once", n)
	}
	// its record is in every replica once answered
	for _, n := range pc.names {
		if r := pc.records(n, target)["d1_last_0"]; r == nil || r.SelectAttrValue("transition-key", "") != "3:1:0:uuid" {
			t.Errorf("%s: record %v", n, r)
		}
	}
	for _, tt := range []struct {
		op, want string
	}{
		{"stonith", "no stonithd configured"},
		{"frobnicate", "unknown operation"},
	} {
		r := &crmv1.ExecuteActionRequest{Node: target, Operation: tt.op, RscId: "d1", TransitionKey: "9:1:0:" + tt.op}
		if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, r); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.op, err, tt.want)
		}
	}
	if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, &crmv1.ExecuteActionRequest{Node: "bad node", Operation: "start", RscId: "d1"}); grpcCode(err) != "InvalidArgument" {
		t.Errorf("bad node name: %v", err)
	}
	// a recurring monitor, then its cancel deletes its entry
	mon := &crmv1.ExecuteActionRequest{Node: target, Operation: "monitor", OperationKey: "d1_monitor_5000", RscId: "d1",
		RscClass: "ocf", RscProvider: "heartbeat", RscType: "Dummy", TransitionKey: "4:1:0:uuid",
		Attributes: map[string]string{"CRM_meta_timeout": "20000", "CRM_meta_interval": "5000", "state": "x"}}
	if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, mon); err != nil {
		t.Fatal(err)
	}
	if r := pc.records(dc, target)["d1_monitor_5000"]; r == nil || r.SelectAttrValue("op-digest", "") != pengine.OpDigest(mon.Attributes, 5000) {
		t.Errorf("monitor record %v", r)
	}
	cancelReq := &crmv1.ExecuteActionRequest{Node: target, Operation: "cancel", OperationKey: "d1_monitor_5000", RscId: "d1", TransitionKey: "5:1:0:uuid",
		Attributes: map[string]string{"CRM_meta_operation": "monitor", "CRM_meta_interval": "5000"}}
	if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, cancelReq); err != nil {
		t.Fatal(err)
	}
	if r := pc.records(dc, target)["d1_monitor_5000"]; r != nil {
		t.Errorf("the cancelled monitor's entry is still there")
	}
	// delete forgets the resource
	del := &crmv1.ExecuteActionRequest{Node: target, Operation: "delete", RscId: "d1", TransitionKey: "6:1:0:uuid"}
	if _, err := pc.nodes[dc].crm.ExecuteAction(ctx, del); err != nil {
		t.Fatal(err)
	}
	if els := pc.query(dc, rscXPath(target, "d1")); len(els) != 0 {
		t.Errorf("lrm_resource d1 still recorded after delete")
	}
}

func TestAttrsAndRemoveNode(t *testing.T) {
	pc := newPipeCluster(t, false, "n1", "n2", "n3")
	pc.waitDC()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := pc.nodes["n3"].crm
	if _, err := c.SetAttr(ctx, &crmv1.SetAttrRequest{Node: "n2", Name: "standby", Value: "on", Lifetime: crmv1.Lifetime_LIFETIME_FOREVER}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetAttr(ctx, &crmv1.GetAttrRequest{Node: "n2", Name: "standby", Lifetime: crmv1.Lifetime_LIFETIME_FOREVER})
	if err != nil || !got.GetFound() || got.GetValue() != "on" {
		t.Errorf("GetAttr standby: %v, %v", got, err)
	}
	if _, err := c.SetAttr(ctx, &crmv1.SetAttrRequest{Name: "pingd", Value: "100"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetAttr(ctx, &crmv1.GetAttrRequest{Name: "pingd"}); got.GetValue() != "100" {
		t.Errorf("transient attribute of this node: %v", got)
	}
	if _, err := c.SetAttr(ctx, &crmv1.SetAttrRequest{Name: "pingd", Delete: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetAttr(ctx, &crmv1.GetAttrRequest{Name: "pingd"}); got.GetFound() {
		t.Errorf("deleted attribute still found")
	}
	if _, err := c.SetAttr(ctx, &crmv1.SetAttrRequest{Name: "bad name"}); grpcCode(err) != "InvalidArgument" {
		t.Errorf("bad name: %v", err)
	}
	// RemoveNode: refused for a member, removes a departed node
	if _, err := c.RemoveNode(ctx, &crmv1.RemoveNodeRequest{Node: "n1"}); grpcCode(err) != "FailedPrecondition" {
		t.Errorf("RemoveNode of a member: %v", err)
	}
	pc.write("n1", cib.Request{Op: cib.OpCreate, Scope: "nodes", XML: []byte(`<node id="old" uname="old"/>`)})
	pc.write("n1", cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: []byte(`<node_state id="old" uname="old" in_ccm="false" crmd="offline"/>`)})
	if _, err := c.RemoveNode(ctx, &crmv1.RemoveNodeRequest{Node: "old"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range pc.names {
		if els := pc.query(n, "//*[@id='old']"); len(els) != 0 {
			t.Errorf("%s: node old still in the CIB", n)
		}
	}
}

func grpcCode(err error) string {
	if err == nil {
		return "OK"
	}
	return statusCode(err).String()
}

func TestPipelineAbortsOnChangeAndRetriesPEngine(t *testing.T) {
	pc := newPipeClusterWith(t, true, func(name string, f *executor.Fake, pe *testPE, cfg *Config) {
		f.Script("d2", "monitor", 0, lrm.ExecResult{RC: lrm.RCNotRunning, Status: lrm.StatusDone})
		f.Delay = 150 * time.Millisecond
		pe.failNext = 3 // pengine unreachable at first: back-off, then compute
	}, "n1", "n2")
	dc := pc.waitDC()
	pc.write(dc, cib.Request{Op: cib.OpCreate, Scope: "crm_config", XML: []byte(stonithOff)})
	pc.write(dc, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(dummy)})
	// a configuration change while the graph runs aborts it
	pc.eventually("a transition running", 20*time.Second, func() bool {
		return pc.nodes[dc].s.Status().Transition == crmv1.TransitionState_TRANSITION_STATE_EXECUTING
	})
	pc.write(dc, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(strings.ReplaceAll(dummy, "d1", "d2"))})
	pc.eventually("d1 and d2 running, the DC idle", 30*time.Second, func() bool {
		n := 0
		for _, target := range pc.names {
			for _, r := range []string{"d1", "d2"} {
				if e := pc.query(dc, rscXPath(target, r)+"/lrm_rsc_op[@id='"+r+"_last_0']"); len(e) == 1 && e[0].SelectAttrValue("operation", "") == "start" {
					n++
				}
			}
		}
		return n == 2 && pc.idle(dc)
	})
	te := pc.nodes[dc].te
	te.mu.Lock()
	aborts := te.aborts
	te.mu.Unlock()
	if aborts == 0 {
		t.Errorf("the running transition was never aborted")
	}
	pe := pc.nodes[dc].pe
	pe.mu.Lock()
	refused, computed := pe.refused, len(pe.actions)
	pe.mu.Unlock()
	if refused != 3 || computed > 20 {
		t.Errorf("pengine refused %d calls, computed %d times", refused, computed)
	}
}

func TestNoQuorumPolicyFromCIB(t *testing.T) {
	for _, tt := range []struct {
		name     string
		override crm.NoQuorumPolicy
		wantDC   bool
	}{
		{"crm_config says ignore", "", true},
		{"the flag says stop", crm.NoQuorumStop, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pc := newPipeClusterWith(t, false, func(_ string, _ *executor.Fake, _ *testPE, cfg *Config) {
				cfg.NoQuorumPolicy = tt.override
			}, "n1", "n2", "n3")
			dc := pc.waitDC()
			pc.write(dc, cib.Request{Op: cib.OpCreate, Scope: "crm_config", XML: []byte(`<cluster_property_set id="opts"><nvpair id="opts-nqp" name="no-quorum-policy" value="ignore"/></cluster_property_set>`)})
			pc.eventually("the property on n3", 10*time.Second, func() bool { return len(pc.query("n3", "//nvpair[@name='no-quorum-policy']")) == 1 })
			ctx := context.Background()
			if err := pc.nodes["n3"].s.SetView(ctx, crm.View{Number: 2, Members: []string{"n3"}, Quorum: false}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if st := pc.nodes["n3"].s.Status(); st.IsDC != tt.wantDC {
				t.Errorf("n3 alone without quorum: DC=%v, want %v", st.IsDC, tt.wantDC)
			}
		})
	}
}

// serveLRMAt serves a fresh lrmd (fake executor) on the unix socket sock
// until the returned function stops it.
func serveLRMAt(t *testing.T, sock string) (*executor.Fake, func()) {
	t.Helper()
	f := executor.NewFake()
	srv, err := lrmserver.New(lrm.DefaultConfig(), f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	g := grpc.NewServer()
	lrmserver.Register(g, srv)
	go g.Serve(lis)
	var once sync.Once
	stop := func() { once.Do(func() { g.Stop(); cancel(); <-done; os.Remove(sock) }) }
	t.Cleanup(stop)
	return f, stop
}

func TestLRMFollowerReconnectsAndRecordsUnsolicited(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "lrmd.sock")
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lc := lrmv1.NewLRMServiceClient(conn)
	pc := newPipeClusterWith(t, false, func(_ string, _ *executor.Fake, _ *testPE, cfg *Config) { cfg.LRM = lc }, "solo")
	pc.waitDC()
	time.Sleep(300 * time.Millisecond) // lrmd is away: the follower retries
	_, stop := serveLRMAt(t, sock)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rsc := &lrmv1.Resource{Id: "d1", Class: "ocf", Provider: "heartbeat", Type: "Dummy"}
	run := func() int64 {
		var r *lrmv1.ExecResponse
		pc.eventually("lrmd reachable", 10*time.Second, func() bool {
			r, err = lc.Exec(ctx, &lrmv1.ExecRequest{Rsc: rsc, Action: "start", Wait: true})
			return err == nil
		})
		return r.GetCallId()
	}
	// a result nobody asked crmd for (crm_resource --force-start) is
	// recorded as unsolicited
	id := run()
	pc.eventually("the unsolicited start recorded", 10*time.Second, func() bool {
		r := pc.records("solo", "solo")["d1_last_0"]
		return r != nil && r.SelectAttrValue("call-id", "") == fmt.Sprint(id) && r.SelectAttrValue("operation", "") == "start"
	})
	// lrmd restarts (history lost): crmd follows the new one
	stop()
	_, _ = serveLRMAt(t, sock)
	pc.eventually("the follower back", 10*time.Second, func() bool {
		pc.nodes["solo"].s.lrm.mu.Lock()
		defer pc.nodes["solo"].s.lrm.mu.Unlock()
		return pc.nodes["solo"].s.lrm.synced && len(pc.nodes["solo"].s.lrm.rscs) == 0
	})
	if _, err := lc.Exec(ctx, &lrmv1.ExecRequest{Rsc: rsc, Action: "stop", Wait: true}); err != nil {
		t.Fatal(err)
	}
	pc.eventually("the stop recorded", 10*time.Second, func() bool {
		r := pc.records("solo", "solo")["d1_last_0"]
		return r != nil && r.SelectAttrValue("operation", "") == "stop"
	})
	// the join's view of the history is the new lrmd's
	var x []byte
	_ = pc.nodes["solo"].s.do(ctx, func() { x = pc.nodes["solo"].s.lrm.lrmXML("solo", nil) })
	if !strings.Contains(string(x), `operation="stop"`) || strings.Contains(string(x), `operation="start"`) {
		t.Errorf("lrm history for the join: %s", x)
	}
}
