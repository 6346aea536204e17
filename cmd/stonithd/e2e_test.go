package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	cibserver "github.com/systole/systole/cib/server"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// TestMain: linked as "stonithd", the test binary is the daemon.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "stonithd" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the child's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func devicesXML(status string) string {
	return `<resources>
  <primitive id="dummy" class="stonith" type="fence_dummy"><instance_attributes id="d-ia">
    <nvpair id="d1" name="status_file" value="` + status + `"/>
    <nvpair id="d2" name="pcmk_host_list" value="n1 n2"/>
    <nvpair id="d3" name="pcmk_host_argument" value="none"/>
  </instance_attributes></primitive>
  <primitive id="broken" class="stonith" type="fence_dummy"><instance_attributes id="b-ia">
    <nvpair id="b1" name="type" value="fail"/>
    <nvpair id="b2" name="power_timeout" value="1"/>
    <nvpair id="b3" name="pcmk_host_list" value="n3"/>
    <nvpair id="b4" name="pcmk_host_argument" value="none"/>
    <nvpair id="b5" name="pcmk_reboot_retries" value="0"/>
  </instance_attributes></primitive>
  <primitive id="unf" class="stonith" type="fence_dummy"><instance_attributes id="u-ia">
    <nvpair id="u1" name="status_file" value="` + status + `.unf"/>
    <nvpair id="u2" name="pcmk_host_list" value="n9"/>
    <nvpair id="u3" name="pcmk_host_argument" value="none"/>
    <nvpair id="u4" name="pcmk_monitor_interval" value="1s"/>
  </instance_attributes><meta_attributes id="u-ma"><nvpair id="u5" name="provides" value="unfencing"/></meta_attributes></primitive>
</resources>`
}

// daemon is a running stonithd over a real CIB service.
type daemon struct {
	cib    *cibserver.Server
	api    stonithv1.StonithServiceClient
	out    *syncBuffer
	cmd    *exec.Cmd
	done   chan error
	socket string
}

func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/fence_dummy"); err != nil {
		t.Skip("Debian package fence-agents is not installed: apt-get install fence-agents")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(self, filepath.Join(bin, "stonithd")); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	cs, err := cibserver.New(cib.NewMemStore(10), cibserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cs.Close)
	lis, err := net.Listen("unix", filepath.Join(run, "cib.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- cs.Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-served })
	if _, err := cs.Apply(cib.Request{Op: cib.OpReplace, Scope: "resources", XML: []byte(devicesXML(filepath.Join(dir, "status")))}); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cib: cs, out: &syncBuffer{}, done: make(chan error, 1), socket: filepath.Join(run, "stonithd.sock")}
	args := append([]string{"--node", "n9", "--run-dir", run, "--standalone", "--agent-dir", "/usr/sbin",
		"--watchdog-device", filepath.Join(dir, "watchdog")}, extra...)
	d.cmd = exec.Command(filepath.Join(bin, "stonithd"), args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("stonithd output:\n%s", d.out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", d.socket); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stonithd socket never answered:\n%s", d.out.String())
		}
	}
	conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.api = stonithv1.NewStonithServiceClient(conn)
	return d
}

func (d *daemon) devices(t *testing.T, target string) []string {
	t.Helper()
	resp, err := d.api.ListDevices(context.Background(), &stonithv1.ListDevicesRequest{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, dev := range resp.Devices {
		ids = append(ids, dev.Id)
	}
	return ids
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
	}
}

// TestDaemon runs the stonithd binary over a real CIB service and Debian's
// fence_dummy: devices from the CIB watch, fencing done and failed,
// history, events, a CIB change applied, a bad one refused with the
// previous configuration kept, watchdog fencing unavailable, and SIGTERM.
func TestDaemon(t *testing.T) {
	d := startDaemon(t, "--monitor-interval", "0")
	ctx := context.Background()
	events, err := d.api.WatchEvents(ctx, &stonithv1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Header(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "devices from the CIB", func() bool { return strings.Join(d.devices(t, ""), ",") == "broken,dummy,unf" })
	// This node was unfenced at start through device unf (provides=unfencing).
	waitFor(t, "unfencing", func() bool {
		h, err := d.api.History(ctx, &stonithv1.HistoryRequest{Target: "n9"})
		return err == nil && len(h.Entries) == 1 && h.Entries[0].State == stonithv1.State_STATE_DONE &&
			h.Entries[0].Action == "on" && strings.Join(h.Entries[0].Devices, ",") == "unf"
	})
	if got := strings.Join(d.devices(t, "n1"), ","); got != "dummy" {
		t.Errorf("devices for n1: %s", got)
	}
	if ev, err := events.Recv(); err != nil || ev.Entry.Target != "n9" || ev.Entry.Action != "on" {
		t.Fatalf("unfencing event: %v %v", ev, err)
	}

	start := time.Now()
	resp, err := d.api.Fence(ctx, &stonithv1.FenceRequest{Target: "n1", Action: "reboot", Client: "crmd", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if e := resp.Entry; e.State != stonithv1.State_STATE_DONE || e.Delegate != "n9" || e.Origin != "n9" || strings.Join(e.Devices, ",") != "dummy" || resp.Id == 0 {
		t.Fatalf("fence n1: %v", resp)
	}
	t.Logf("fence_dummy reboot through stonithd (gRPC, wait): %v", took)
	ev, err := events.Recv()
	if err != nil || ev.Entry.Target != "n1" || ev.Entry.State != stonithv1.State_STATE_DONE {
		t.Fatalf("event: %v %v", ev, err)
	}

	resp, err = d.api.Fence(ctx, &stonithv1.FenceRequest{Target: "n3", Action: "reboot", Client: "crmd", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Entry; e.State != stonithv1.State_STATE_FAILED || !strings.Contains(e.Reason, "broken reboot: rc=1") {
		t.Fatalf("fence n3: %v", resp)
	}
	// not waiting: the pending entry at once
	resp, err = d.api.Fence(ctx, &stonithv1.FenceRequest{Target: "n2", Action: "off", Client: "stonith_admin.1"})
	if err != nil || resp.Entry.State != stonithv1.State_STATE_PENDING || resp.Id == 0 {
		t.Fatalf("fence n2 without wait: %v %v", resp, err)
	}
	waitFor(t, "n2 fenced", func() bool {
		h, err := d.api.History(ctx, &stonithv1.HistoryRequest{Target: "n2"})
		return err == nil && len(h.Entries) == 1 && h.Entries[0].State == stonithv1.State_STATE_DONE
	})
	h, err := d.api.History(ctx, &stonithv1.HistoryRequest{Target: "*"})
	if err != nil || len(h.Entries) != 4 {
		t.Fatalf("history: %v %v", h, err)
	}

	// errors
	for _, tc := range []struct {
		req  *stonithv1.FenceRequest
		code codes.Code
	}{
		{&stonithv1.FenceRequest{Target: "n1", Action: "status"}, codes.InvalidArgument},
		{&stonithv1.FenceRequest{Action: "off"}, codes.InvalidArgument},
	} {
		if _, err := d.api.Fence(ctx, tc.req); status.Code(err) != tc.code {
			t.Errorf("Fence(%v): %v, want %v", tc.req, err, tc.code)
		}
	}
	if _, err := d.api.QueryDevice(ctx, &stonithv1.QueryDeviceRequest{Device: "nosuch"}); status.Code(err) != codes.NotFound {
		t.Errorf("QueryDevice(nosuch): %v", err)
	}
	q, err := d.api.QueryDevice(ctx, &stonithv1.QueryDeviceRequest{Device: "dummy"})
	if err != nil || q.Rc != 0 {
		t.Errorf("QueryDevice(dummy): %v %v", q, err)
	}
	if l, err := d.api.ListDevices(ctx, &stonithv1.ListDevicesRequest{}); err != nil || l.Devices[1].Status != "ok" {
		t.Errorf("status after -Q: %v %v", l, err)
	}
	// unf has pcmk_monitor_interval=1s: its recurring monitor ran.
	waitFor(t, "unf's recurring monitor", func() bool {
		l, err := d.api.ListDevices(ctx, &stonithv1.ListDevicesRequest{})
		return err == nil && len(l.Devices) == 3 && l.Devices[2].Status == "ok"
	})
	if md, err := d.api.AgentMetadata(ctx, &stonithv1.AgentMetadataRequest{Agent: "fence_dummy"}); err != nil || !strings.Contains(md.Metadata, "fence_dummy") {
		t.Errorf("metadata: %v", err)
	}
	if _, err := d.api.AgentMetadata(ctx, &stonithv1.AgentMetadataRequest{Agent: "fence_nosuch"}); status.Code(err) != codes.NotFound {
		t.Errorf("metadata of a missing agent: %v", err)
	}

	// A CIB change is applied; a bad one is refused and the previous
	// configuration kept.
	if _, err := d.cib.Apply(cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(
		`<primitive id="extra" class="stonith" type="fence_dummy"><instance_attributes id="e-ia"><nvpair id="e1" name="pcmk_host_list" value="n5"/></instance_attributes></primitive>`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "device extra", func() bool { return strings.Join(d.devices(t, ""), ",") == "broken,dummy,extra,unf" })
	if _, err := d.cib.Apply(cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(
		`<primitive id="bad" class="stonith" type="fence_dummy"><instance_attributes id="x-ia"><nvpair id="x1" name="pcmk_host_check" value="sometimes"/></instance_attributes></primitive>`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bad configuration logged", func() bool {
		return strings.Contains(d.out.String(), "bad fencing configuration; keeping the previous one")
	})
	if got := strings.Join(d.devices(t, ""), ","); got != "broken,dummy,extra,unf" {
		t.Errorf("devices after a bad change: %s", got)
	}
	if _, err := d.cib.Apply(cib.Request{Op: cib.OpDelete, Scope: "resources", XML: []byte(`<primitive id="bad"/>`)}); err != nil {
		t.Fatal(err)
	}

	// stonith-timeout and stonith-watchdog-timeout from crm_config; this
	// node has no watchdog device (a missing path here).
	if _, err := d.cib.Apply(cib.Request{Op: cib.OpCreate, Scope: "crm_config", XML: []byte(
		`<cluster_property_set id="opts"><nvpair id="o1" name="stonith-watchdog-timeout" value="2s"/><nvpair id="o2" name="stonith-timeout" value="30s"/></cluster_property_set>`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watchdog message", func() bool { return strings.Contains(d.out.String(), "watchdog fencing unavailable") })
	resp, err = d.api.Fence(ctx, &stonithv1.FenceRequest{Target: "n7", Action: "reboot", Client: "crmd", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Entry; e.State != stonithv1.State_STATE_FAILED || !strings.Contains(e.Reason, "watchdog fencing unavailable: ") || !strings.Contains(e.Reason, "watchdog: no such device") {
		t.Fatalf("fence n7 (watchdog only): %v", resp)
	}

	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stonithd did not stop on SIGTERM")
	}
	if _, err := os.Stat(d.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}
