package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
	crmstatus "github.com/systole/systole/crm/status"
	cibv1 "github.com/systole/systole/proto/cib/v1"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// fakeCIB serves CIBService from a cib/server.Server over a MemStore, as
// crmd does on its socket.
type fakeCIB struct {
	cibv1.UnimplementedCIBServiceServer
	s *server.Server
}

func (f *fakeCIB) Query(_ context.Context, req *cibv1.QueryRequest) (*cibv1.QueryResponse, error) {
	out, v, err := f.s.Query(cib.Request{Op: cib.OpQuery, Scope: req.Scope, XPath: req.Xpath, NoChildren: req.NoChildren})
	if err != nil {
		return nil, server.ToStatus(err)
	}
	resp := &cibv1.QueryResponse{Version: server.PBVersion(v)}
	for _, e := range out {
		resp.Elements = append(resp.Elements, server.ElementBytes(e))
	}
	return resp, nil
}

func (f *fakeCIB) Apply(_ context.Context, req *cibv1.ApplyRequest) (*cibv1.ApplyResponse, error) {
	r, err := server.RequestFromPB(req)
	if err != nil {
		return nil, err
	}
	res, err := f.s.Apply(r)
	if err != nil {
		return nil, server.ToStatus(err)
	}
	resp := &cibv1.ApplyResponse{Version: server.PBVersion(res.Version)}
	if res.Patch != nil {
		resp.Patch = res.Patch.Bytes()
	}
	return resp, nil
}

// fakeCRM records the CRMService calls and answers from a script.
type fakeCRM struct {
	crmv1.UnimplementedCRMServiceServer
	mu       sync.Mutex
	cleanups []*crmv1.CleanupRequest
	cleanErr error
	statuses int
	busy     int // GetStatus answers EXECUTING this many times
}

func (f *fakeCRM) Cleanup(_ context.Context, req *crmv1.CleanupRequest) (*crmv1.CleanupResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, req)
	if f.cleanErr != nil {
		return nil, f.cleanErr
	}
	return &crmv1.CleanupResponse{Cleaned: []string{req.RscId + " on n1"}}, nil
}

func (f *fakeCRM) GetStatus(context.Context, *crmv1.GetStatusRequest) (*crmv1.GetStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses++
	st := crmv1.TransitionState_TRANSITION_STATE_IDLE
	if f.statuses <= f.busy {
		st = crmv1.TransitionState_TRANSITION_STATE_EXECUTING
	}
	return &crmv1.GetStatusResponse{Node: "n1", Dc: "n1", IsDc: true, Quorum: true, Members: []string{"n1", "n2", "n3"}, TransitionState: st}, nil
}

// fakeCluster is a CIB service and a CRM service on a temporary unix
// socket, loaded with a fixture.
type fakeCluster struct {
	sock string
	cib  *server.Server
	crm  *fakeCRM
}

func startFake(t *testing.T, name string) *fakeCluster {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cib.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	store := cib.NewMemStore(10)
	if err := store.Save(c, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := server.New(store, server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// unix socket paths are limited to 108 bytes: keep it short
	dir, err := os.MkdirTemp("", "crmr")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	f := &fakeCluster{sock: sock, cib: cs, crm: &fakeCRM{}}
	cibv1.RegisterCIBServiceServer(gs, &fakeCIB{s: cs})
	crmv1.RegisterCRMServiceServer(gs, f.crm)
	go gs.Serve(lis)
	t.Cleanup(func() {
		gs.Stop()
		cs.Close()
		os.RemoveAll(dir)
	})
	return f
}

// runLive runs crm_resource in-process against the fake cluster.
func (f *fakeCluster) run(t *testing.T, args ...string) result {
	t.Helper()
	t.Setenv("CIB_file", "")
	t.Setenv("CIB_socket", f.sock)
	o := newOptions()
	o.pollInterval = 20 * time.Millisecond
	var out, errb bytes.Buffer
	code := run(o, args, nil, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// TestLiveQueriesAndLocation: the same commands work over the socket.
func TestLiveQueriesAndLocation(t *testing.T) {
	f := startFake(t, "cluster.xml")
	if r := f.run(t, "-W", "-r", "d1"); r.code != 0 || r.out != "resource d1 is running on: n1\n" {
		t.Fatalf("-W: %+v", r)
	}
	if r := f.run(t, "-M", "-r", "d1", "-N", "n2"); r.code != 0 {
		t.Fatalf("-M: %+v", r)
	}
	out, _, err := f.cib.Query(cib.Request{Op: cib.OpQuery, XPath: "//rsc_location[@id='cli-prefer-d1']"})
	if err != nil || len(out) != 1 || out[0].SelectAttrValue("node", "") != "n2" {
		t.Fatalf("cli-prefer-d1 not written to the service: %v %v", out, err)
	}
	if r := f.run(t, "-U", "-r", "d1"); r.code != 0 || r.out != "Removing constraint: cli-prefer-d1\n" {
		t.Fatalf("-U: %+v", r)
	}
	if r := f.run(t, "-r", "d1", "-p", "fake", "-v", "live"); r.code != 0 {
		t.Fatalf("-p: %+v", r)
	}
	if r := f.run(t, "-r", "d1", "-g", "fake"); r.out != "live\n" {
		t.Fatalf("-g: %+v", r)
	}
}

// TestLiveCleanup: -C and -R go to CRMService.Cleanup with Pacemaker's
// meaning (only_failed for -C), one call per primitive.
func TestLiveCleanup(t *testing.T) {
	f := startFake(t, "cluster.xml")
	cases := []struct {
		args []string
		want []string // rsc/node/only_failed
		out  string
	}{
		{[]string{"-C", "-r", "bad", "-N", "n1"}, []string{"bad/n1/true"}, "Cleaned up bad on n1\n"},
		{[]string{"-R", "-r", "g1"}, []string{"d2//false", "d3//false"}, "Cleaned up d2 on n1\nCleaned up d2 on n2\nCleaned up d2 on n3\nCleaned up d3 on n1\nCleaned up d3 on n2\nCleaned up d3 on n3\n"},
		{[]string{"-C"}, []string{"//true"}, "Cleaned up all resources on all nodes\n"},
		{[]string{"--refresh", "--node", "n2"}, []string{"/n2/false"}, "Cleaned up all resources on n2\n"},
	}
	for _, tc := range cases {
		f.crm.mu.Lock()
		f.crm.cleanups = nil
		f.crm.mu.Unlock()
		r := f.run(t, tc.args...)
		if r.code != 0 || r.out != tc.out {
			t.Fatalf("%v: %+v", tc.args, r)
		}
		var got []string
		for _, c := range f.crm.cleanups {
			got = append(got, c.RscId+"/"+c.Node+"/"+map[bool]string{true: "true", false: "false"}[c.OnlyFailed])
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%v: calls %v, want %v", tc.args, got, tc.want)
		}
	}
	f.crm.cleanErr = status.Error(codes.FailedPrecondition, "no DC elected yet")
	if r := f.run(t, "-C", "-r", "d1"); r.code != 1 || r.errout != "crm_resource: Unable to clean up d1: no DC elected yet\n" {
		t.Errorf("refused cleanup: %+v", r)
	}
	f.crm.cleanErr = status.Error(codes.PermissionDenied, "not in group haclient")
	if r := f.run(t, "-C", "-r", "d1"); r.code != 4 {
		t.Errorf("permission denied: %+v", r)
	}
}

// TestLiveUnreachable: no service on the socket.
func TestLiveUnreachable(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "none.sock")
	r := runTool(t, []string{"CIB_socket=" + sock}, "-L")
	if r.code != 102 || !strings.Contains(r.errout, "cannot reach the CIB service at "+sock) {
		t.Errorf("%+v", r)
	}
}

// reactor plays the cluster for --restart: every few milliseconds it
// makes d1's recorded state follow its target-role, as crmd would after
// a transition. stuck keeps d1 running whatever happens.
func reactor(t *testing.T, f *fakeCluster, stuck bool) (roles func() []string, stop func()) {
	done := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := ""
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			c := f.cib.Snapshot()
			role := ""
			if nv := c.Doc().FindElement("//primitive[@id='d1']/meta_attributes/nvpair[@name='target-role']"); nv != nil {
				role = nv.SelectAttrValue("value", "")
			}
			if role != last {
				mu.Lock()
				seen = append(seen, role)
				mu.Unlock()
				last = role
			}
			cl, err := crmstatus.FromCIB(c, time.Now().Unix())
			if err != nil {
				continue
			}
			active := cl.Resource("d1").Active()
			want := role != "Stopped" || stuck
			if active == want {
				continue
			}
			op, rc := "start", "0"
			if !want {
				op = "stop"
			}
			x := `<lrm_rsc_op id="d1_last_0" operation_key="d1_` + op + `_0" operation="` + op + `" transition-key="9:2:0:uuid" transition-magic="0:` + rc + `;9:2:0:uuid" exit-reason="" on_node="n1" call-id="30" rc-code="` + rc + `" op-status="0" interval="0" last-rc-change="1795323000" exec-time="10" queue-time="0" op-digest="301dedb76fa1c8e789f71f4425079a9d"/>`
			if _, err := f.cib.Apply(cib.Request{Op: cib.OpModify, Scope: "status", XML: []byte(x)}); err != nil {
				t.Errorf("reactor: %v", err)
				return
			}
		}
	}()
	return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), seen...)
		}, func() {
			close(done)
			wg.Wait()
		}
}

// TestLiveRestart: --restart stops the resource through target-role,
// waits until the CIB shows it stopped, removes target-role again and
// waits until it runs.
func TestLiveRestart(t *testing.T) {
	f := startFake(t, "cluster.xml")
	roles, stop := reactor(t, f, false)
	r := f.run(t, "--restart", "-r", "d1")
	stop()
	if r.code != 0 || r.out != "Waiting for 1 resources to stop:\n * d1\nWaiting for 1 resources to start again:\n * d1\n" {
		t.Fatalf("--restart: %+v", r)
	}
	if got := strings.Join(roles(), ","); got != "Stopped," {
		t.Errorf("target-role went %q, want \"Stopped,\"", got)
	}
	c := f.cib.Snapshot()
	if c.Doc().FindElement("//primitive[@id='d1']/meta_attributes/nvpair[@name='target-role']") != nil {
		t.Error("target-role left behind")
	}
	cl, _ := crmstatus.FromCIB(c, time.Now().Unix())
	if !cl.Resource("d1").Active() {
		t.Error("d1 not running after the restart")
	}
	// a stopped resource cannot be restarted
	if r := f.run(t, "--restart", "-r", "d5"); r.code != 105 || r.errout != "crm_resource: d5 is not running on any node and so cannot be restarted\n" {
		t.Errorf("stopped: %+v", r)
	}
}

// TestLiveRestartTimeout: a resource that does not stop in time is put
// back (target-role restored) and the exit code is CRM_EX_TIMEOUT.
func TestLiveRestartTimeout(t *testing.T) {
	f := startFake(t, "cluster.xml")
	if r := f.run(t, "-r", "d1", "-m", "-p", "target-role", "-v", "Started"); r.code != 0 {
		t.Fatal(r)
	}
	_, stop := reactor(t, f, true)
	r := f.run(t, "--restart", "-r", "d1", "--timeout", "300ms")
	stop()
	if r.code != 124 || r.errout != "Could not complete shutdown of d1, 1 resources remaining\n * d1\n" {
		t.Fatalf("%+v", r)
	}
	nv := f.cib.Snapshot().Doc().FindElement("//primitive[@id='d1']/meta_attributes/nvpair[@name='target-role']")
	if nv == nil || nv.SelectAttrValue("value", "") != "Started" {
		t.Errorf("target-role not restored: %v", nv)
	}
}

// TestLiveWait: --wait returns once the scheduler has nothing to do and
// the DC's transition engine is idle.
func TestLiveWait(t *testing.T) {
	f := startFake(t, "stable.xml")
	f.crm.busy = 3
	if r := f.run(t, "--wait", "--timeout", "10s"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if f.crm.statuses != 4 {
		t.Errorf("GetStatus called %d times, want 4", f.crm.statuses)
	}
	f.crm.busy = 1 << 30
	if r := f.run(t, "--wait", "--timeout", "100ms"); r.code != 124 || r.errout != "crm_resource: Error performing operation: Timer expired\n" {
		t.Errorf("timeout: %+v", r)
	}
}
