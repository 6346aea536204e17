package ra

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/agents"
	"github.com/systole/systole/agents/metadata"
)

func TestMetadataValid(t *testing.T) {
	if len(All()) != len(agents.Names) {
		t.Fatalf("All() has %d agents, agents.Names %d", len(All()), len(agents.Names))
	}
	for i, a := range All() {
		if a.Name() != agents.Names[i] {
			t.Errorf("agent %d is %s, agents.Names says %s", i, a.Name(), agents.Names[i])
		}
		var out, errb bytes.Buffer
		if rc := Main(a.Name(), []string{"meta-data"}, nil, &out, &errb); rc != OK {
			t.Fatalf("%s meta-data rc %d", a.Name(), rc)
		}
		md, err := metadata.Validate(out.Bytes())
		if err != nil {
			t.Errorf("%s: %v", a.Name(), err)
			continue
		}
		if md.Name != a.Name() || len(md.Warnings) > 0 {
			t.Errorf("%s: name %q warnings %v", a.Name(), md.Name, md.Warnings)
		}
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := Main("Nope", []string{"start"}, nil, &out, &errb); rc != ErrInstalled {
		t.Fatalf("unknown agent rc %d", rc)
	}
	if rc := Main("Dummy", nil, nil, &out, &errb); rc != ErrArgs {
		t.Fatalf("no action rc %d", rc)
	}
	if rc := Main("Dummy", []string{"frobnicate"}, []string{"HA_RSCTMP=" + t.TempDir()}, &out, &errb); rc != ErrUnimplemented {
		t.Fatalf("unknown action rc %d", rc)
	}
}

// env returns an Env for action with params, state under dir.
func env(dir, action string, params map[string]string, meta map[string]string) (*Env, *bytes.Buffer) {
	vars := []string{"HA_RSCTMP=" + dir, "OCF_RESOURCE_INSTANCE=r1"}
	for k, v := range params {
		vars = append(vars, "OCF_RESKEY_"+k+"="+v)
	}
	for k, v := range meta {
		vars = append(vars, "OCF_RESKEY_CRM_meta_"+k+"="+v)
	}
	var errb bytes.Buffer
	return NewEnv(action, vars, &bytes.Buffer{}, &errb), &errb
}

func run(t *testing.T, a Agent, dir, action string, params map[string]string, want int) {
	t.Helper()
	e, errb := env(dir, action, params, map[string]string{"interval": "0"})
	if rc := a.Run(e); rc != want {
		t.Fatalf("%s %s rc %d, want %d; stderr %s", a.Name(), action, rc, want, errb)
	}
}

func TestDummyAndStatefulLifecycle(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		a      Agent
		action string
		want   int
	}{
		{Dummy{}, "monitor", NotRunning}, {Dummy{}, "stop", OK}, {Dummy{}, "start", OK}, {Dummy{}, "start", OK},
		{Dummy{}, "monitor", OK}, {Dummy{}, "migrate_to", OK}, {Dummy{}, "monitor", NotRunning},
		{Dummy{}, "migrate_from", OK}, {Dummy{}, "reload-agent", OK}, {Dummy{}, "stop", OK}, {Dummy{}, "monitor", NotRunning},
		{Stateful{}, "promote", NotRunning}, {Stateful{}, "start", OK}, {Stateful{}, "monitor", OK},
		{Stateful{}, "promote", OK}, {Stateful{}, "monitor", RunningPromoted}, {Stateful{}, "demote", OK},
		{Stateful{}, "monitor", OK}, {Stateful{}, "notify", OK}, {Stateful{}, "stop", OK}, {Stateful{}, "monitor", NotRunning},
	}
	for _, s := range steps {
		run(t, s.a, dir, s.action, nil, s.want)
	}
	run(t, Dummy{}, dir, "start", map[string]string{"state": "relative"}, ErrConfigured)
	run(t, Dummy{}, dir, "start", map[string]string{"op_sleep": "x"}, ErrConfigured)
}

func TestAnything(t *testing.T) {
	dir := t.TempDir()
	p := map[string]string{"binfile": "sleep", "cmdline_options": "600", "logfile": filepath.Join(dir, "log")}
	run(t, Anything{}, dir, "validate-all", nil, ErrConfigured)
	run(t, Anything{}, dir, "monitor", p, NotRunning)
	run(t, Anything{}, dir, "start", p, OK)
	run(t, Anything{}, dir, "monitor", p, OK)
	run(t, Anything{}, dir, "stop", p, OK)
	run(t, Anything{}, dir, "monitor", p, NotRunning)
	run(t, Anything{}, dir, "start", map[string]string{"binfile": "/nonexistent/bin"}, ErrInstalled)
	run(t, Anything{}, dir, "start", map[string]string{"binfile": "false"}, ErrGeneric)
	// A daemon that ignores SIGTERM is killed after stop_timeout.
	q := map[string]string{"binfile": "sh", "cmdline_options": `-c "trap '' TERM; while :; do sleep 1; done"`, "stop_timeout": "0"}
	run(t, Anything{}, dir, "start", q, OK)
	run(t, Anything{}, dir, "stop", q, OK)
	run(t, Anything{}, dir, "monitor", q, NotRunning)
}

func TestIPaddrValidate(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		params map[string]string
		want   int
	}{
		{map[string]string{}, ErrConfigured},
		{map[string]string{"ip": "300.1.1.1"}, ErrConfigured},
		{map[string]string{"ip": "192.0.2.5", "cidr_netmask": "33"}, ErrConfigured},
		{map[string]string{"ip": "fd00::5", "cidr_netmask": "64"}, OK},
		{map[string]string{"ip": "192.0.2.5", "arp_count": "-1"}, ErrConfigured},
		{map[string]string{"ip": "192.0.2.5", "cidr_netmask": "24", "nic": "eth9"}, OK},
	}
	for _, c := range cases {
		run(t, IPaddr{}, dir, "validate-all", c.params, c.want)
	}
	// A broken configuration is never "running" and always stoppable.
	run(t, IPaddr{}, dir, "stop", map[string]string{"ip": "bad"}, OK)
	run(t, IPaddr{}, dir, "monitor", map[string]string{"ip": "bad"}, NotRunning)
}

// TestPingDampening drives the dampening state machine with a fake clock
// and loopback hosts.
func TestPingDampening(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Hosts named "up" answer; the real ICMP path is covered end to end
	// in a namespace (cmd/systole).
	p := Ping{probe: func(hosts []string, _ int, _ time.Duration) int {
		n := 0
		for _, h := range hosts {
			if strings.HasPrefix(h, "up") {
				n++
			}
		}
		return n
	}}
	step := func(action, hosts string, want int, wantAttr string) {
		t.Helper()
		e, errb := env(dir, action, map[string]string{"host_list": hosts, "multiplier": "100", "dampen": "10s",
			"attempts": "1", "timeout": "1", "attr_updater": "none"}, map[string]string{"interval": "5000"})
		e.Now = func() time.Time { return now }
		if rc := p.Run(e); rc != want {
			t.Fatalf("%s rc %d want %d: %s", action, rc, want, errb)
		}
		b, _ := os.ReadFile(p.AttrPath(e))
		if strings.TrimSpace(string(b)) != wantAttr {
			t.Fatalf("%s at %v: attr %q, want %q", action, now, b, wantAttr)
		}
	}
	two := "up1 up2"
	step("monitor", two, NotRunning, "")
	step("start", two, OK, "pingd=200")
	step("monitor", two, OK, "pingd=200")
	one := "up1 down2"
	now = now.Add(5 * time.Second)
	step("monitor", one, OK, "pingd=200") // changed, pending
	now = now.Add(5 * time.Second)
	step("monitor", one, OK, "pingd=200") // 5 s < dampen
	now = now.Add(6 * time.Second)
	step("monitor", one, OK, "pingd=100") // stable for 11 s: published
	now = now.Add(time.Second)
	step("monitor", two, OK, "pingd=100") // flap back: pending again
	now = now.Add(time.Second)
	step("monitor", one, OK, "pingd=100") // back to the published value: nothing pending
	now = now.Add(30 * time.Second)
	step("monitor", one, OK, "pingd=100")
	step("stop", one, OK, "")
	step("monitor", one, NotRunning, "")
}

// TestPingLoopback pings the loopback address for real.
func TestPingLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ICMP sockets need root here")
	}
	if n := reachable([]string{"127.0.0.1", "::1", "255.255.255.255", "ff02::1"}, 2, 2*time.Second); n != 2 {
		t.Fatalf("reachable = %d, want 2 (loopback only; broadcast and multicast are refused)", n)
	}
}
