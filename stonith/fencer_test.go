package stonith

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// answer scripts an agent: it returns the result for a command, or
// ok=false for an agent that never answers.
type answer func(c Command) (rc int, out string, ok bool)

// rcs answers by "device action port" (or "device action" without port),
// with 0 by default.
func rcs(m map[string]int, lists map[string]string) answer {
	return func(c Command) (int, string, bool) {
		key := c.Device + " " + c.Args[0].Value
		for _, a := range c.Args {
			if a.Name == "port" || a.Name == "plug" {
				key += " " + a.Value
			}
		}
		if l, ok := lists[c.Device]; ok && c.Kind == KindListQuery {
			return 0, l, true
		}
		if rc, ok := m[key]; ok {
			if rc < 0 {
				return 0, "", false
			}
			return rc, "agent said no", true
		}
		return 0, "", true
	}
}

// drive runs the Fencer until nothing is pending, answering commands at
// once and jumping the clock to NextDeadline when idle. It returns the
// trace: "+D cmd DEVICE LINE" and "+D done|failed ID TARGET ACTION devices=... clients=... reason".
func drive(t *testing.T, f *Fencer, now time.Time, ans answer, limit int) []string {
	t.Helper()
	var trace []string
	at := func(n time.Time) string { return "+" + n.Sub(t0).String() }
	for i := 0; i < limit; i++ {
		rd := f.Ready()
		for _, c := range rd.Commands {
			b, err := Encode(c.Args)
			if err != nil {
				t.Fatal(err)
			}
			trace = append(trace, fmt.Sprintf("%s cmd %s %s", at(now), c.Device, strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", " ")))
		}
		for _, c := range rd.Completions {
			trace = append(trace, fmt.Sprintf("%s %s %d %s %s devices=%s clients=%s %s", at(now), c.State, c.ID, c.Target, c.Action,
				strings.Join(c.Devices, ","), strings.Join(c.Clients, ","), c.Reason))
		}
		answered := false
		for _, c := range rd.Commands {
			if rc, out, ok := ans(c); ok {
				f.Complete(now, Result{Command: c.ID, RC: rc, Output: out})
				answered = true
			}
		}
		if answered || len(rd.Completions) > 0 {
			continue
		}
		next := f.NextDeadline()
		if next.IsZero() {
			return trace
		}
		if next.After(now) {
			now = next
		}
		f.Tick(now)
	}
	t.Fatalf("not quiet after %d rounds; trace:\n%s", limit, strings.Join(trace, "\n"))
	return nil
}

func newFencer(t *testing.T, seed uint64) *Fencer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Node = "n9"
	f, err := NewFencer(cfg, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		t.Fatal(err)
	}
	f.SetTopology(fixture(t))
	return f
}

func TestFencerScenarios(t *testing.T) {
	req := func(target string, a Action) Request {
		return Request{Target: target, Action: a, Origin: "n9", Client: "crmd"}
	}
	tests := []struct {
		name string
		reqs []Request
		ans  answer
		want []string
	}{
		{
			name: "level 1 succeeds after pcmk_delay_base, reboot mapped to off",
			reqs: []Request{req("n1", ActionReboot)},
			ans:  rcs(nil, nil),
			want: []string{
				"+2s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+2s done 1 n1 reboot devices=ipmi-n1 clients=crmd ",
			},
		},
		{
			name: "level 1 fails (1 retry), level 2 reboots two devices: all off then all on",
			reqs: []Request{req("n1", ActionReboot)},
			ans:  rcs(map[string]int{"ipmi-n1 off n1": 1}, nil),
			want: []string{
				"+2s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+2s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+2s cmd psu-a action=off nodename=n1 port=1 ip=192.0.2.21",
				"+2s cmd psu-b action=off nodename=n1 plug=11 ip=192.0.2.22",
				"+2s cmd psu-a action=on nodename=n1 port=1 ip=192.0.2.21",
				"+2s cmd psu-b action=on nodename=n1 plug=11 ip=192.0.2.22",
				"+2s done 1 n1 reboot devices=psu-a,psu-b clients=crmd ",
			},
		},
		{
			name: "a level fails when one of its devices fails; unknown device fails its level; all failed",
			reqs: []Request{{Target: "n3", Action: ActionOff, Origin: "n9", Client: "crmd", Delay: -1}},
			ans:  rcs(map[string]int{"psu-b off 13": 1}, nil),
			want: []string{
				"+0s cmd psu-a action=off nodename=n3 port=3 ip=192.0.2.21",
				"+0s cmd psu-b action=off nodename=n3 plug=13 ip=192.0.2.22",
				"+0s cmd psu-b action=off nodename=n3 plug=13 ip=192.0.2.22",
				"+0s cmd psu-b action=off nodename=n3 plug=13 ip=192.0.2.22",
				"+0s failed 1 n3 off devices=psu-a,psu-b clients=crmd every fencing level failed: psu-b off: rc=1: agent said no; psu-b off: rc=1: agent said no; psu-b off: rc=1: agent said no; ghost: no such device",
			},
		},
		{
			name: "no topology: status and dynamic-list queries, priority first, fall back to the next device",
			reqs: []Request{req("n4", ActionOff)},
			ans: rcs(map[string]int{"stat status": 2, "stat off": 1},
				map[string]string{"virsh": "n4,n4.example\nn5\n"}),
			want: []string{
				"+0s cmd stat action=status nodename=n4",
				"+0s cmd virsh action=list ip=192.0.2.30",
				"+0s cmd stat action=off nodename=n4",
				"+0s cmd stat action=off nodename=n4",
				"+0s cmd stat action=off nodename=n4",
				"+0s cmd virsh action=off nodename=n4 port=n4 ip=192.0.2.30",
				"+0s done 1 n4 off devices=virsh clients=crmd ",
			},
		},
		{
			name: "no device can fence the target",
			reqs: []Request{req("n5", ActionOff)},
			ans:  rcs(map[string]int{"stat status": 1}, map[string]string{"virsh": "n4\n"}),
			want: []string{
				"+0s cmd stat action=status nodename=n5",
				"+0s cmd virsh action=list ip=192.0.2.30",
				"+0s failed 1 n5 off devices= clients=crmd no fence device can fence n5",
			},
		},
		{
			name: "same target and action join; another action queues behind",
			reqs: []Request{req("n3", ActionOff), {Target: "n3", Action: ActionOff, Client: "stonith_admin.7"}, req("n3", ActionOn)},
			ans:  rcs(nil, nil),
			want: []string{
				"+0s cmd psu-a action=off nodename=n3 port=3 ip=192.0.2.21",
				"+0s cmd psu-b action=off nodename=n3 plug=13 ip=192.0.2.22",
				"+0s cmd psu-a action=on nodename=n3 port=3 ip=192.0.2.21",
				"+0s done 1 n3 off devices=psu-a,psu-b clients=crmd,stonith_admin.7 ",
				"+0s cmd psu-b action=on nodename=n3 plug=13 ip=192.0.2.22",
				"+0s done 2 n3 on devices=psu-a,psu-b clients=crmd ",
			},
		},
		{
			name: "an agent that never answers: the operation times out and fails",
			reqs: []Request{{Target: "n3", Action: ActionOff, Client: "crmd", Timeout: 30 * time.Second}},
			ans:  rcs(map[string]int{"psu-a off 3": -1}, nil),
			want: []string{
				"+0s cmd psu-a action=off nodename=n3 port=3 ip=192.0.2.21",
				"+30s failed 1 n3 off devices=psu-a clients=crmd timed out after 30s",
			},
		},
		{
			name: "stonith_admin -y adds to the device delay",
			reqs: []Request{{Target: "n1", Action: ActionOff, Client: "a", Delay: 5 * time.Second}},
			ans:  rcs(nil, nil),
			want: []string{
				"+7s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+7s done 1 n1 off devices=ipmi-n1 clients=a ",
			},
		},
		{
			name: "a priority delay replaces the device delay (pcmk_delay_base 2s)",
			reqs: []Request{{Target: "n1", Action: ActionOff, Client: "crmd", PriorityDelay: ptr(10 * time.Second)}},
			ans:  rcs(nil, nil),
			want: []string{
				"+10s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+10s done 1 n1 off devices=ipmi-n1 clients=crmd ",
			},
		},
		{
			name: "delays do not eat the timeout (Pacemaker adds them to it)",
			reqs: []Request{{Target: "n3", Action: ActionOff, Client: "crmd", Timeout: 5 * time.Second, PriorityDelay: ptr(10 * time.Second), Delay: time.Second}},
			ans:  rcs(map[string]int{"psu-a off 3": -1}, nil),
			want: []string{
				"+11s cmd psu-a action=off nodename=n3 port=3 ip=192.0.2.21",
				"+16s failed 1 n3 off devices=psu-a clients=crmd timed out after 16s",
			},
		},
		{
			name: "a priority delay of 0 disables the device delay",
			reqs: []Request{{Target: "n1", Action: ActionOff, Client: "crmd", PriorityDelay: ptr(time.Duration(0))}},
			ans:  rcs(nil, nil),
			want: []string{
				"+0s cmd ipmi-n1 action=off nodename=n1 port=n1 ip=192.0.2.11 username=admin",
				"+0s done 1 n1 off devices=ipmi-n1 clients=crmd ",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFencer(t, 1)
			for _, r := range tc.reqs {
				if _, err := f.Request(t0, r); err != nil {
					t.Fatal(err)
				}
			}
			got := drive(t, f, t0, tc.ans, 100)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if p := f.Pending(); len(p) != 0 {
				t.Errorf("pending after the end: %v", p)
			}
			if h := f.History(""); len(h) == 0 || h[len(h)-1].State == StatePending {
				t.Errorf("history %v", h)
			}
		})
	}
}

func TestFencerRequestErrors(t *testing.T) {
	f := newFencer(t, 1)
	for _, r := range []Request{{Target: "n1", Action: ActionStatus}, {Target: "n1"}, {Action: ActionOff}} {
		if _, err := f.Request(t0, r); !errors.Is(err, ErrBadRequest) {
			t.Errorf("Request(%+v): err %v, want ErrBadRequest", r, err)
		}
	}
	if rd := f.Ready(); len(rd.Commands)+len(rd.Completions) != 0 || len(f.History("")) != 0 {
		t.Errorf("a bad request changed something: %+v", rd)
	}
}

// TestRandomDelay: pcmk_delay_max draws from the seeded source, within
// [base, max], the same for the same seed.
func TestRandomDelay(t *testing.T) {
	first := func(seed uint64) time.Duration {
		f := newFencer(t, seed)
		if _, err := f.Request(t0, Request{Target: "n2", Action: ActionReboot, Client: "crmd"}); err != nil {
			t.Fatal(err)
		}
		// n2 has no topology: the status and list queries come first.
		rd := f.Ready()
		if len(rd.Commands) != 2 {
			t.Fatalf("seed %d: queries %+v", seed, rd.Commands)
		}
		f.Complete(t0, Result{Command: rd.Commands[0].ID, RC: 1})
		f.Complete(t0, Result{Command: rd.Commands[1].ID, RC: 0, Output: "n7\n"})
		if rd := f.Ready(); len(rd.Commands) != 0 {
			t.Fatalf("seed %d: a delayed command ran at once: %+v", seed, rd.Commands)
		}
		next := f.NextDeadline()
		f.Tick(next)
		rd = f.Ready()
		if len(rd.Commands) != 1 || rd.Commands[0].Device != "ipmi-n2" || rd.Commands[0].Timeout != 30*time.Second {
			t.Fatalf("seed %d: commands %+v", seed, rd.Commands)
		}
		return next.Sub(t0)
	}
	seen := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		d := first(seed)
		if d < 0 || d > 10*time.Second {
			t.Fatalf("seed %d: delay %v outside [0, 10s]", seed, d)
		}
		if d2 := first(seed); d2 != d {
			t.Fatalf("seed %d: delay %v then %v", seed, d, d2)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 20 seeds", len(seen))
	}
}

func TestConfirmAndHistory(t *testing.T) {
	f := newFencer(t, 1)
	id, _ := f.Request(t0, Request{Target: "n3", Action: ActionOff, Origin: "n1", Client: "crmd"})
	cmds := f.Ready().Commands
	if len(cmds) != 1 {
		t.Fatalf("commands %+v", cmds)
	}
	f.Confirm(t0.Add(time.Second), "n3", "n2")
	rd := f.Ready()
	if len(rd.Completions) != 1 || rd.Completions[0].ID != id || rd.Completions[0].State != StateDone ||
		rd.Completions[0].Reason != "manually confirmed" || rd.Completions[0].Delegate != "n2" {
		t.Fatalf("completions %+v", rd.Completions)
	}
	// The late agent result is ignored.
	f.Complete(t0.Add(2*time.Second), Result{Command: cmds[0].ID, RC: 1})
	f.Complete(t0, Result{Command: 999})
	if rd := f.Ready(); len(rd.Commands)+len(rd.Completions) != 0 {
		t.Fatalf("stale result had effects: %+v", rd)
	}
	f.Confirm(t0.Add(3*time.Second), "n4", "n2")
	h := f.History("")
	if len(h) != 2 || h[1].Target != "n4" || h[1].State != StateDone || !h[1].Completed.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("history %+v", h)
	}
	if h := f.History("n3"); len(h) != 1 || h[0].Origin != "n1" || h[0].Delegate != "n2" {
		t.Fatalf("history n3 %+v", h)
	}
	f.CleanupHistory("n3")
	if h := f.History(""); len(h) != 1 || h[0].Target != "n4" {
		t.Fatalf("after cleanup %+v", h)
	}
}

func TestHistoryBound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHistory = 3
	f, err := NewFencer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.Confirm(t0, fmt.Sprintf("n%d", i), "me")
	}
	h := f.History("")
	if len(h) != 3 || h[0].Target != "n2" || h[2].Target != "n4" {
		t.Fatalf("history %+v", h)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Config){
		func(c *Config) { c.DefaultTimeout = 0 },
		func(c *Config) { c.ActionTimeout = -1 },
		func(c *Config) { c.ListCacheTTL = -1 },
		func(c *Config) { c.MaxHistory = 0 },
		func(c *Config) { c.MaxOutput = -1 },
	} {
		c := DefaultConfig()
		mut(&c)
		if _, err := NewFencer(c, nil); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestTolerance(t *testing.T) {
	f := newFencer(t, 1)
	f.Confirm(t0, "n3", "admin") // a done off at t0
	f.Ready()
	tests := []struct {
		name   string
		at     time.Duration
		action Action
		tol    time.Duration
		reuse  bool
	}{
		{"within tolerance", 5 * time.Second, ActionOff, 10 * time.Second, true},
		{"at the edge", 10 * time.Second, ActionOff, 10 * time.Second, true},
		{"too old", 11 * time.Second, ActionOff, 10 * time.Second, false},
		{"other action", time.Second, ActionOn, 10 * time.Second, false},
		{"no tolerance", time.Second, ActionOff, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.Request(t0.Add(tc.at), Request{Target: "n3", Action: tc.action, Client: "a", Tolerance: tc.tol, Delay: -1})
			if err != nil {
				t.Fatal(err)
			}
			rd := f.Ready()
			reused := id == 1 && len(rd.Commands) == 0 && len(rd.Completions) == 1 && rd.Completions[0].ID == 1
			if reused != tc.reuse {
				t.Fatalf("id %d ready %+v, want reuse %v", id, rd, tc.reuse)
			}
			if !reused {
				f.Confirm(t0, "n3", "cleanup") // end the operation without touching the history order much
				f.Ready()
				f.CleanupHistory("")
				f.Confirm(t0, "n3", "admin")
				f.Ready()
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
