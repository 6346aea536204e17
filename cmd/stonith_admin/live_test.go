package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cibclient "github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source/sourcetest"
	"github.com/systole/systole/stonith"
	"github.com/systole/systole/stonith/agent"
	"github.com/systole/systole/stonith/server"
)

// startStonithd serves a stonith server (the daemon's code in process,
// with the real agent runner) beside a fake crmd's CIB socket, where
// stonith_admin looks for it when CIB_socket is set.
func startStonithd(t *testing.T, cibXML string) *sourcetest.Fake {
	t.Helper()
	f := sourcetest.Start(t, []byte(cibXML), nil)
	r, err := agent.New(agent.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stonith.DefaultConfig()
	cfg.Node = "n9"
	cfg.FirstID = server.FirstID("n9", time.Now())
	s, err := server.New(cfg, nil, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetAgents(r)
	cc, err := cibclient.DialUnix(f.Socket)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", filepath.Join(filepath.Dir(f.Socket), "stonithd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { s.Run(ctx); done <- struct{}{} }()
	ready := make(chan struct{})
	go func() { server.WatchCIB(ctx, s, cc, ready); done <- struct{}{} }()
	go func() { server.Serve(ctx, s, lis, server.DefaultAccessPolicy()); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; <-done; cc.Close() })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no CIB")
	}
	return f
}

// TestLive: every daemon command against stonithd (in process) with
// Debian's fence_dummy, and the CIB writes of -R/-D/-r/-d.
func TestLive(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/fence_dummy"); err != nil {
		t.Skip("Debian package fence-agents is not installed (no /usr/sbin/fence_dummy): apt-get install fence-agents")
	}
	status := filepath.Join(t.TempDir(), "status")
	f := startStonithd(t, `<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.9"><configuration><crm_config/><nodes/><resources>
  <primitive id="dummy" class="stonith" type="fence_dummy"><instance_attributes id="d-ia">
    <nvpair id="d1" name="status_file" value="`+status+`"/>
    <nvpair id="d2" name="pcmk_host_list" value="n1 n2"/>
    <nvpair id="d3" name="pcmk_host_argument" value="none"/>
  </instance_attributes></primitive>
  <primitive id="broken" class="stonith" type="fence_dummy"><instance_attributes id="b-ia">
    <nvpair id="b1" name="type" value="fail"/>
    <nvpair id="b2" name="power_timeout" value="1"/>
    <nvpair id="b3" name="pcmk_host_list" value="n3"/>
    <nvpair id="b4" name="pcmk_host_argument" value="none"/>
    <nvpair id="b5" name="pcmk_off_retries" value="0"/>
  </instance_attributes></primitive>
  <primitive id="slow" class="stonith" type="fence_dummy"><instance_attributes id="s-ia">
    <nvpair id="s1" name="status_file" value="`+status+`.slow"/>
    <nvpair id="s2" name="power_wait" value="10"/>
    <nvpair id="s3" name="pcmk_host_list" value="n4"/>
    <nvpair id="s4" name="pcmk_host_argument" value="none"/>
  </instance_attributes></primitive>
</resources><constraints/></configuration><status/></cib>`)
	bin := sourcetest.Tool(t, "stonith_admin")
	env := f.Live()
	sh := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			code, out, errs := sourcetest.Sh(t, bin, env, s.line)
			okOut := strings.Contains(out, s.out) && (s.out != "" || out == "")
			okErr := strings.Contains(errs, s.errs) && (s.errs != "" || errs == "")
			if code != s.code || !okOut || !okErr {
				t.Errorf("%s:\n exit %d, want %d\n stdout %.300q, want %q\n stderr %q, want %q", s.line, code, s.code, out, s.out, errs, s.errs)
			}
		}
	}
	sh([]step{
		{"stonith_admin -L", 0, "broken\ndummy\nslow\n3 fence devices found\n", ""},
		{"stonith_admin -l n1", 0, "dummy\n1 fence devices found\n", ""},
		{"stonith_admin -B n1 -V", 0, "reboot of n1 successful: delegate=n9, client=stonith_admin.", ""},
		{"stonith_admin -F n3", 1, "", "stonith_admin: Couldn't fence n3: every fencing level failed: broken off: rc=1"},
		{"stonith_admin -F n7", 105, "", "Couldn't fence n7: no fence device can fence n7"},
		{"stonith_admin -B n4 -t 1", 124, "", "Couldn't reboot n4: timed out after 1s"},
		{"stonith_admin -B n1 --tolerance 60 -V", 0, "reboot of n1 successful", ""},
		{"stonith_admin -H n1", 0, "reboot of n1 successful: delegate=n9, client=stonith_admin.", ""},
		{"stonith_admin -H n3", 0, "off of n3 failed: delegate=n9, client=stonith_admin.", ""},
		{"stonith_admin -h n1", 0, "Node n1 last fenced at: ", ""},
		{"stonith_admin -h n5", 0, "Node n5 has never been fenced\n", ""},
		{"stonith_admin -Q dummy -V", 0, "dummy is active\nlast monitor: ok\n", ""},
		{"stonith_admin -Q nosuch", 105, "", "no such device"},
		{"stonith_admin -C n5", 0, "Node n5 confirmed safely down", ""},
		{"stonith_admin -H n5", 0, "off of n5 successful: delegate=n9, client=, origin=n9, completed='", ""},
		{"stonith_admin -H '*' -c", 0, "cleaning up fencing-history\n", ""},
		{"stonith_admin -H '*'", 0, "", ""},
		{"stonith_admin -R extra -a fence_dummy -o pcmk_host_list=n6 -o status_file=" + status, 0, "", ""},
		{"stonith_admin -R extra -a fence_dummy", 108, "", "Couldn't register extra"},
		{"stonith_admin -r n6 -i 1 -v extra", 0, "", ""},
		{"stonith_admin -r n6 -i 1 -v extra", 108, "", "already exists"},
		{"stonith_admin -r /n[78]/ -i 2 -v extra -v dummy", 0, "", ""},
	})
	waitFor := func(line, want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, out, _ := sourcetest.Sh(t, bin, env, line)
			if out == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q, want %q", line, out, want)
			}
		}
	}
	waitFor("stonith_admin -l n6", "extra\n1 fence devices found\n")
	waitFor("stonith_admin -l n8", "extra\ndummy\n2 fence devices found\n")
	sh([]step{
		{"stonith_admin -d n6 -i 1", 0, "", ""},
		{"stonith_admin -d /n[78]/ -i 2", 0, "", ""},
		{"stonith_admin -D extra", 0, "", ""},
		{"stonith_admin -D extra", 105, "", "Couldn't deregister extra"},
	})
	waitFor("stonith_admin -L", "broken\ndummy\nslow\n3 fence devices found\n")
}
