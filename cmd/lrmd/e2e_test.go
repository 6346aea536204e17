package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/agents/agenttest"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

func TestMain(m *testing.M) { agenttest.Main(m) }

type daemon struct {
	cmd    *exec.Cmd
	runDir string
	client lrmv1.LRMServiceClient
	conn   *grpc.ClientConn
	log    *strings.Builder
}

// startLRMD runs the real lrmd binary (inside ns when not nil) and
// connects to its socket.
func startLRMD(t *testing.T, ns *agenttest.NetNS, runDir string, args ...string) *daemon {
	t.Helper()
	bin := agenttest.Build(t, "./cmd/lrmd")
	args = append([]string{"--run-dir", runDir}, args...)
	var c *exec.Cmd
	if ns != nil {
		c = ns.Command(bin, args...)
	} else {
		c = exec.Command(bin, args...)
	}
	d := &daemon{cmd: c, runDir: runDir, log: &strings.Builder{}}
	c.Stderr = d.log
	c.Env = append(os.Environ(), "HA_RSCTMP="+filepath.Join(runDir, "rsctmp"))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("lrmd log:\n%s", d.log.String())
		}
	})
	sock := filepath.Join(runDir, "lrmd.sock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lrmd did not create %s:\n%s", sock, d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn = conn
	d.client = lrmv1.NewLRMServiceClient(conn)
	return d
}

func execWait(t *testing.T, c lrmv1.LRMServiceClient, rsc *lrmv1.Resource, action string, interval time.Duration, params map[string]string) *lrmv1.OperationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := c.Exec(ctx, &lrmv1.ExecRequest{Rsc: rsc, Action: action, IntervalMs: interval.Milliseconds(),
		TimeoutMs: 30000, Params: params, Wait: true})
	if err != nil {
		t.Fatalf("%s %s: %v", rsc.Id, action, err)
	}
	return r.Result
}

func wantRC(t *testing.T, r *lrmv1.OperationResult, rc int32) {
	t.Helper()
	if r.Rc != rc || (r.Status != lrmv1.ExecStatus_EXEC_STATUS_DONE && rc < 5) {
		t.Fatalf("%s: rc %d status %v reason %q, want rc %d\nstderr: %s", r.OpKey, r.Rc, r.Status, r.ExitReason, rc, r.Stderr)
	}
}

// TestDebianAgentsInNamespace runs Debian's ocf:heartbeat:Dummy and
// ocf:heartbeat:IPaddr2, unmodified, through the lrmd binary inside a
// network namespace; the address must really appear and disappear.
func TestDebianAgentsInNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	agenttest.NeedRoot(t)
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"); err != nil {
		t.Skip("resource-agents not installed")
	}
	ns := agenttest.NewNetNS(t)
	d := startLRMD(t, ns, t.TempDir(), "--ocf-root", "/usr/lib/ocf")
	c := d.client
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	watch, err := c.WatchResults(ctx, &lrmv1.WatchResultsRequest{})
	if err != nil {
		t.Fatal(err)
	}

	dummy := &lrmv1.Resource{Id: "d1", Class: "ocf", Provider: "heartbeat", Type: "Dummy"}
	dp := map[string]string{"state": filepath.Join(d.runDir, "d1.state")}
	wantRC(t, execWait(t, c, dummy, "monitor", 0, dp), 7) // probe
	wantRC(t, execWait(t, c, dummy, "start", 0, dp), 0)
	wantRC(t, execWait(t, c, dummy, "monitor", 0, dp), 0)
	first := execWait(t, c, dummy, "monitor", time.Second, dp)
	wantRC(t, first, 0)

	vip := &lrmv1.Resource{Id: "vip", Class: "ocf", Provider: "heartbeat", Type: "IPaddr2"}
	vp := map[string]string{"ip": "192.0.2.50", "cidr_netmask": "24", "nic": ns.Dev}
	wantRC(t, execWait(t, c, vip, "monitor", 0, vp), 7)
	if strings.Contains(ns.Addrs(t), "192.0.2.50/24") {
		t.Fatal("address present before start")
	}
	wantRC(t, execWait(t, c, vip, "start", 0, vp), 0)
	if !strings.Contains(ns.Addrs(t), "192.0.2.50/24") {
		t.Fatalf("address missing after start:\n%s", ns.Addrs(t))
	}
	wantRC(t, execWait(t, c, vip, "monitor", 10*time.Second, vp), 0)
	// The address is only in the namespace, never in the test's own.
	if out, _ := exec.Command("ip", "-o", "addr").CombinedOutput(); strings.Contains(string(out), "192.0.2.50") {
		t.Fatal("address leaked out of the namespace")
	}
	// Take the address away behind the agent's back: the recurring monitor
	// must see it (rc 7) and lrmd must push the change.
	exec.Command("ip", "-n", ns.Name, "addr", "del", "192.0.2.50/24", "dev", ns.Dev).Run()
	if _, err := c.Cancel(ctx, &lrmv1.CancelRequest{RscId: "vip", Action: "monitor", IntervalMs: 10000}); err != nil {
		t.Fatal(err)
	}
	wantRC(t, execWait(t, c, vip, "monitor", 500*time.Millisecond, vp), 7)
	wantRC(t, execWait(t, c, vip, "start", 0, vp), 0)
	wantRC(t, execWait(t, c, vip, "stop", 0, vp), 0) // also cancels the recurring monitor
	if strings.Contains(ns.Addrs(t), "192.0.2.50") {
		t.Fatalf("address still present after stop:\n%s", ns.Addrs(t))
	}
	wantRC(t, execWait(t, c, vip, "monitor", 0, vp), 7)

	// Recurring Dummy monitor: a state file removed behind its back turns
	// into a pushed rc 7 result.
	os.Remove(dp["state"])
	deadline := time.After(30 * time.Second)
	for seen := false; !seen; {
		msgs := make(chan *lrmv1.WatchResultsResponse, 1)
		errs := make(chan error, 1)
		go func() {
			m, err := watch.Recv()
			if err != nil {
				errs <- err
				return
			}
			msgs <- m
		}()
		select {
		case m := <-msgs:
			seen = m.Result.OpKey == "d1_monitor_1000" && m.Result.Rc == 7
		case err := <-errs:
			t.Fatal(err)
		case <-deadline:
			t.Fatal("no rc 7 pushed for d1_monitor_1000")
		}
	}
	wantRC(t, execWait(t, c, dummy, "stop", 0, dp), 0)

	h, err := c.ListHistory(ctx, &lrmv1.ListHistoryRequest{RscId: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]*lrmv1.OperationRecord{}
	for _, op := range h.Resources[0].Ops {
		keys[op.Last.OpKey] = op
	}
	mon := keys["d1_monitor_1000"]
	if mon == nil || mon.Runs < 2 || mon.Last.CallId != first.CallId {
		t.Fatalf("history of d1_monitor_1000: %v", mon)
	}
	if h.Resources[0].LastFailure == nil || h.Resources[0].LastFailure.OpKey != "d1_monitor_1000" {
		t.Fatalf("last failure %v", h.Resources[0].LastFailure)
	}

	// Missing agent: rc 5 with the reason. Unknown provider, class and
	// stonith: an error, nothing runs.
	missing := execWait(t, c, &lrmv1.Resource{Id: "m", Class: "ocf", Provider: "heartbeat", Type: "NoSuchAgent"}, "start", 0, nil)
	if missing.Rc != 5 || missing.Status != lrmv1.ExecStatus_EXEC_STATUS_NOT_INSTALLED || !strings.Contains(missing.ExitReason, "NoSuchAgent") {
		t.Fatalf("missing agent: %v", missing)
	}
	for _, bad := range []struct {
		rsc  *lrmv1.Resource
		code codes.Code
	}{
		{&lrmv1.Resource{Id: "x", Class: "ocf", Provider: "nosuchprovider", Type: "Dummy"}, codes.InvalidArgument},
		{&lrmv1.Resource{Id: "x", Class: "upstart", Type: "Dummy"}, codes.InvalidArgument},
		{&lrmv1.Resource{Id: "x", Class: "stonith", Type: "fence_dummy"}, codes.FailedPrecondition},
	} {
		_, err := c.Exec(ctx, &lrmv1.ExecRequest{Rsc: bad.rsc, Action: "start", Wait: true})
		if status.Code(err) != bad.code {
			t.Errorf("%v: %v, want %v", bad.rsc, err, bad.code)
		}
	}
	agents, err := c.ListAgents(ctx, &lrmv1.ListAgentsRequest{Class: "ocf", Provider: "heartbeat"})
	if err != nil || len(agents.Agents) < 50 {
		t.Fatalf("list agents: %d %v", len(agents.GetAgents()), err)
	}
	md, err := c.AgentMetadata(ctx, &lrmv1.AgentMetadataRequest{Agent: vip})
	if err != nil || !strings.Contains(md.Xml, `<resource-agent name="IPaddr2"`) {
		t.Fatalf("metadata: %v", err)
	}
}

// TestSystoleAgentsThroughLRMD runs Systole's own IPaddr (IPv4 and IPv6)
// and Dummy through lrmd in a namespace.
func TestSystoleAgentsThroughLRMD(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	ns := agenttest.NewNetNS(t)
	root := agenttest.OCFRoot(t)
	d := startLRMD(t, ns, t.TempDir(), "--ocf-root", root)
	for _, ip := range []struct{ addr, want string }{
		{"192.0.2.60", "192.0.2.60/24"},
		{"fd00:5157::60", "fd00:5157::60/64"},
	} {
		vip := &lrmv1.Resource{Id: "vip-" + ip.addr, Class: "ocf", Provider: "systole", Type: "IPaddr"}
		p := map[string]string{"ip": ip.addr, "arp_count": "2", "arp_interval": "10"} // nic and prefix from the routing table
		wantRC(t, execWait(t, d.client, vip, "monitor", 0, p), 7)
		wantRC(t, execWait(t, d.client, vip, "start", 0, p), 0)
		if !strings.Contains(ns.Addrs(t), ip.want) || !strings.Contains(ns.Addrs(t), ns.Dev) {
			t.Fatalf("%s missing after start:\n%s", ip.want, ns.Addrs(t))
		}
		wantRC(t, execWait(t, d.client, vip, "monitor", 0, p), 0)
		wantRC(t, execWait(t, d.client, vip, "stop", 0, p), 0)
		if strings.Contains(ns.Addrs(t), ip.addr+"/") {
			t.Fatalf("%s still present after stop", ip.addr)
		}
	}
	// ping: two of three hosts answer (192.0.2.99 is on the link but
	// nobody has it; all traffic stays in the namespace).
	ping := &lrmv1.Resource{Id: "ping", Class: "ocf", Provider: "systole", Type: "ping"}
	pp := map[string]string{"host_list": "192.0.2.1 192.0.2.99 fd00:5157::1", "multiplier": "10",
		"attempts": "1", "timeout": "1", "dampen": "0", "attr_updater": "none"}
	wantRC(t, execWait(t, d.client, ping, "start", 0, pp), 0)
	attr, err := os.ReadFile(filepath.Join(d.runDir, "rsctmp", "ping-ping.attr"))
	if err != nil || strings.TrimSpace(string(attr)) != "pingd=20" {
		t.Fatalf("ping attribute %q %v", attr, err)
	}
	wantRC(t, execWait(t, d.client, ping, "stop", 0, pp), 0)

	dummy := &lrmv1.Resource{Id: "d", Class: "ocf", Provider: "systole", Type: "Dummy"}
	wantRC(t, execWait(t, d.client, dummy, "start", 0, nil), 0)
	wantRC(t, execWait(t, d.client, dummy, "monitor", 0, nil), 0)
	wantRC(t, execWait(t, d.client, dummy, "stop", 0, nil), 0)
}

// TestRestartLeavesNoOrphans: lrmd is killed (SIGKILL) while an agent and
// its child run; the agent dies with lrmd (parent-death signal) and the
// restarted lrmd kills what is left of its process group.
func TestRestartLeavesNoOrphans(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "resource.d", "test"), 0o755)
	pids := filepath.Join(root, "pids")
	agent := `#!/bin/sh
[ "$1" = meta-data ] && exit 0
sleep 600 &
echo "$$ $!" > ` + pids + `
wait
`
	os.WriteFile(filepath.Join(root, "resource.d", "test", "Hang"), []byte(agent), 0o755)
	runDir := t.TempDir()
	d := startLRMD(t, nil, runDir, "--ocf-root", root)
	ctx := context.Background()
	_, err := d.client.Exec(ctx, &lrmv1.ExecRequest{Rsc: &lrmv1.Resource{Id: "h", Class: "ocf", Provider: "test", Type: "Hang"},
		Action: "start", TimeoutMs: 600000})
	if err != nil {
		t.Fatal(err)
	}
	var agentPID, childPID int
	deadline := time.Now().Add(10 * time.Second)
	for agentPID == 0 {
		if b, err := os.ReadFile(pids); err == nil {
			f := strings.Fields(string(b))
			if len(f) == 2 {
				agentPID, _ = strconv.Atoi(f[0])
				childPID, _ = strconv.Atoi(f[1])
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("agent did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { syscall.Kill(childPID, syscall.SIGKILL) })
	if b, _ := os.ReadFile(filepath.Join(runDir, "lrmd.pgids")); !strings.Contains(string(b), "+ "+strconv.Itoa(agentPID)+" ") {
		t.Fatalf("state file %q does not record pgid %d", b, agentPID)
	}
	d.cmd.Process.Kill() // crash
	d.cmd.Wait()
	waitDead(t, agentPID) // parent-death signal
	if !alive(childPID) {
		t.Fatal("test premise: the agent's child should outlive a crashed lrmd until the restart")
	}
	startLRMD(t, nil, runDir, "--ocf-root", root)
	waitDead(t, childPID)
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
