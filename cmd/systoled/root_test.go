package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/systole/systole/supervisor/server"
)

var fakeSockets = map[string]string{"messagingd": "messaging.sock", "membershipd": "membership.sock", "lrmd": "lrmd.sock",
	"pengine": "pengine.sock", "tengine": "tengine.sock", "crmd": "cib.sock", "stonithd": "stonithd.sock"}

// TestMain: linked as messagingd, lrmd, ... the test binary is a fake
// daemon that listens on its socket under --run-dir (or --socket) until
// SIGTERM.
func TestMain(m *testing.M) {
	name := filepath.Base(os.Args[0])
	if name == "systoled" {
		main()
		os.Exit(0)
	}
	if sock, ok := fakeSockets[name]; ok {
		var runDir, socket string
		for i, a := range os.Args {
			if i+1 < len(os.Args) && a == "--run-dir" {
				runDir = os.Args[i+1]
			}
			if i+1 < len(os.Args) && a == "--socket" {
				socket = os.Args[i+1]
			}
		}
		if socket == "" {
			socket = filepath.Join(runDir, sock)
		}
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		os.Remove(socket)
		l, err := net.Listen("unix", socket)
		if err != nil {
			os.Exit(2)
		}
		<-term
		l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func execute(args ...string) (string, error) {
	cmd := NewRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "systoled.conf")
	if err := os.WriteFile(conf, []byte("# node settings\nnode alpha\nrun-dir /x/run   # comment\n--state-dir=/x/state\nrealtime 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &options{}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--config", conf, "--run-dir", "/cli/run"}); err != nil {
		t.Fatal(err)
	}
	if err := o.loadConfig(fs); err != nil {
		t.Fatal(err)
	}
	if o.node != "alpha" || o.runDir != "/cli/run" || o.stateDir != "/x/state" || o.realtime != 0 {
		t.Fatalf("options %+v", o)
	}
	if err := os.WriteFile(conf, []byte("node a\nfrobnicate 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.loadConfig(fs); err == nil || !strings.Contains(err.Error(), "systoled.conf:2: unknown setting") {
		t.Fatalf("err %v", err)
	}
}

// TestStartStatusStop runs `systoled start` over fake daemons: all come
// up in order, status lists them, a SIGKILLed pengine or stonithd is restarted alone,
// stop ends everything; status then exits "not running".
func TestStartStatusStop(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	for name := range fakeSockets {
		if err := os.Symlink(self, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	hacf := filepath.Join(dir, "ha.cf")
	os.WriteFile(hacf, []byte("node n1\nucast lo 127.0.0.1\n"), 0o644)
	run := filepath.Join(dir, "run")
	common := []string{"--node", "n1", "--run-dir", run, "--state-dir", filepath.Join(dir, "state"), "--ha-cf", hacf,
		"--bin-dir", bin, "--config", filepath.Join(dir, "none.conf")}
	os.WriteFile(filepath.Join(dir, "none.conf"), nil, 0o644)
	if err := os.Symlink(self, filepath.Join(bin, "systoled")); err != nil {
		t.Fatal(err)
	}
	var startOut bytes.Buffer
	start := exec.Command(filepath.Join(bin, "systoled"), append([]string{"start"}, common...)...)
	start.Stdout, start.Stderr = &startOut, &startOut
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- start.Wait() }()
	t.Cleanup(func() { start.Process.Kill() })
	status := func() server.Status {
		st, _ := server.ReadStatus(filepath.Join(run, "systoled.status"))
		return st
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timeout waiting for %s; status %+v", what, status())
			}
		}
	}
	wait("running", func() bool { return status().Phase == "running" })
	out, err := execute(append([]string{"status"}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(out, "\n")[2:] {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	if got := strings.Join(names, " "); got != "messagingd membershipd lrmd pengine tengine crmd stonithd" {
		t.Fatalf("status order %q:\n%s", got, out)
	}
	var pengine int
	for _, d := range status().Daemons {
		if d.Name == "pengine" {
			pengine = d.Pid
		}
	}
	syscall.Kill(pengine, syscall.SIGKILL)
	wait("pengine restarted", func() bool {
		st := status()
		return st.Phase == "running" && st.Daemons[3].Restarts == 1 && st.Daemons[3].State == "up"
	})
	// stonithd (after crmd) restarts alone too.
	stonithd := status().Daemons[6]
	if stonithd.Name != "stonithd" {
		t.Fatalf("daemon 6 is %s", stonithd.Name)
	}
	syscall.Kill(stonithd.Pid, syscall.SIGKILL)
	wait("stonithd restarted alone", func() bool {
		st := status()
		return st.Phase == "running" && st.Daemons[6].Restarts == 1 && st.Daemons[6].State == "up" && st.Daemons[5].Restarts == 0
	})
	out, err = execute(append([]string{"stop"}, common...)...)
	if err != nil || !strings.Contains(out, "stopped") {
		t.Fatalf("stop: %v %s", err, out)
	}
	if err := <-done; err != nil {
		t.Fatalf("start: %v\n%s", err, startOut.String())
	}
	if _, err := execute(append([]string{"status"}, common...)...); !errors.Is(err, errNotRunning) || exitCode(err) != 3 {
		t.Fatalf("status after stop: %v", err)
	}
	logs, _ := filepath.Glob(filepath.Join(run, "logs", "*.log"))
	if len(logs) != 7 {
		t.Fatalf("logs %v", logs)
	}
}
