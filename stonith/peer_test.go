package stonith

import (
	"strings"
	"testing"
	"time"
)

// TestObserve: peers' entries join the history in completion order, once
// each; pending, id-less and target-less ones are ignored; the bound holds.
func TestObserve(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node = "n9"
	cfg.MaxHistory = 3
	cfg.FirstID = 100
	f, err := NewFencer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Confirm(t0.Add(2*time.Second), "n1", "n9") // local entry 101 at +2s
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		e    Entry
		want bool
	}{
		{Entry{ID: 7, Target: "n2", Action: ActionReboot, State: StateDone, Delegate: "n5", Completed: at(1)}, true},
		{Entry{ID: 7, Target: "n2", Action: ActionReboot, State: StateDone, Delegate: "n5", Completed: at(1)}, false}, // duplicate
		{Entry{ID: 101, Target: "n1", Action: ActionOff, State: StateDone, Completed: at(2)}, false},                  // ours
		{Entry{ID: 8, Target: "n3", Action: ActionOff, State: StatePending}, false},
		{Entry{ID: 0, Target: "n3", Action: ActionOff, State: StateDone}, false},
		{Entry{ID: 9, Action: ActionOff, State: StateDone}, false},
		{Entry{ID: 10, Target: "n4", Action: ActionOff, State: StateFailed, Reason: "rc=1", Completed: at(3)}, true},
	}
	for i, c := range cases {
		if got := f.Observe(c.e); got != c.want {
			t.Errorf("case %d: Observe(%+v) = %v, want %v", i, c.e, got, c.want)
		}
	}
	var ids []string
	for _, e := range f.History("") {
		ids = append(ids, e.Target)
	}
	if strings.Join(ids, ",") != "n2,n1,n4" {
		t.Errorf("history order %v", ids)
	}
	f.Observe(Entry{ID: 11, Target: "n5", Action: ActionOff, State: StateDone, Completed: at(4)})
	if h := f.History(""); len(h) != 3 || h[0].Target != "n1" {
		t.Errorf("bounded history %+v", h)
	}
	// The next local operation gets FirstID-based ids.
	id, _ := f.Request(t0, Request{Target: "n1", Action: ActionOff, Client: "a", Delay: -1})
	if id != 102 {
		t.Errorf("next id %d, want 102", id)
	}
}

// TestWatchdogFencing: without a device for the target, a configured
// stonith-watchdog-timeout completes the operation after the timeout
// (device "watchdog"); an unavailable watchdog fails it with the reason;
// a priority delay does not shorten the wait.
func TestWatchdogFencing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node = "n9"
	f, err := NewFencer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.SetWatchdog(10*time.Second, "")
	zero := time.Duration(0)
	if _, err := f.Request(t0, Request{Target: "n1", Action: ActionReboot, Client: "crmd", PriorityDelay: &zero}); err != nil {
		t.Fatal(err)
	}
	got := drive(t, f, t0, rcs(nil, nil), 20)
	want := "+10s done 1 n1 reboot devices=watchdog clients=crmd "
	if len(got) != 1 || got[0] != want {
		t.Fatalf("trace %q, want %q", got, want)
	}
	f.SetWatchdog(10*time.Second, "watchdog fencing unavailable: /dev/watchdog: no such device")
	if _, err := f.Request(t0, Request{Target: "n2", Action: ActionReboot, Client: "crmd"}); err != nil {
		t.Fatal(err)
	}
	got = drive(t, f, t0, rcs(nil, nil), 20)
	want = "+0s failed 2 n2 reboot devices= clients=crmd no fence device can fence n2 and watchdog fencing unavailable: /dev/watchdog: no such device"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("trace %q, want %q", got, want)
	}
	// A device failure is not replaced by the watchdog.
	f.SetWatchdog(0, "")
	if _, err := f.Request(t0, Request{Target: "n3", Action: ActionOff, Client: "crmd"}); err != nil {
		t.Fatal(err)
	}
	got = drive(t, f, t0, rcs(nil, nil), 20)
	if len(got) != 1 || !strings.Contains(got[0], "failed 3 n3 off devices= clients=crmd no fence device can fence n3") {
		t.Fatalf("trace %q", got)
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		nv       string
		timeout  time.Duration
		wd       time.Duration
		warnings string
	}{
		{``, 0, 0, ""},
		{`<nvpair id="a" name="stonith-timeout" value="90s"/><nvpair id="b" name="stonith-watchdog-timeout" value="10"/>`, 90 * time.Second, 10 * time.Second, ""},
		{`<nvpair id="a" name="fencing-timeout" value="2min"/><nvpair id="b" name="stonith-timeout" value="90s"/>`, 2 * time.Minute, 0, ""},
		{`<nvpair id="a" name="stonith-timeout" value="soon"/><nvpair id="b" name="stonith-watchdog-timeout" value="-1"/>`, 0, 0,
			`stonith-timeout "soon" ignored: not a positive duration|stonith-watchdog-timeout "-1" ignored: a negative value (derive from SBD_WATCHDOG_TIMEOUT) is not supported; set a positive duration`},
		{`<nvpair id="b" name="stonith-watchdog-timeout" value="0"/>`, 0, 0, ""},
	}
	for _, c := range cases {
		topo, err := ParseCIB([]byte(`<cib><configuration><crm_config><cluster_property_set id="o">` + c.nv + `</cluster_property_set></crm_config><resources/></configuration></cib>`))
		if err != nil {
			t.Fatal(err)
		}
		if topo.Options.Timeout != c.timeout || topo.Options.WatchdogTimeout != c.wd || strings.Join(topo.Warnings, "|") != c.warnings {
			t.Errorf("%s: options %+v warnings %q", c.nv, topo.Options, topo.Warnings)
		}
	}
}

func TestMonitorIntervalAndUnfencing(t *testing.T) {
	topo, err := ParseCIB([]byte(`<cib><configuration><resources>
  <primitive id="a" class="stonith" type="fence_scsi"><instance_attributes id="a-ia">
    <nvpair id="a1" name="pcmk_monitor_interval" value="0"/></instance_attributes>
    <meta_attributes id="a-ma"><nvpair id="a2" name="provides" value="unfencing"/></meta_attributes></primitive>
  <primitive id="b" class="stonith" type="fence_x"><instance_attributes id="b-ia">
    <nvpair id="b1" name="pcmk_monitor_interval" value="2min"/></instance_attributes></primitive>
  <primitive id="c" class="stonith" type="fence_x"/>
</resources></configuration></cib>`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := topo.Devices["a"], topo.Devices["b"], topo.Devices["c"]
	if !a.MonitorIntervalSet || a.MonitorInterval != 0 || !a.Unfencing || b.MonitorInterval != 2*time.Minute || !b.MonitorIntervalSet ||
		b.Unfencing || c.MonitorIntervalSet {
		t.Errorf("a %+v\nb %+v\nc %+v", a, b, c)
	}
	if _, err := ParseCIB([]byte(`<cib><configuration><resources><primitive id="a" class="stonith" type="fence_x"><instance_attributes id="i">
    <nvpair id="a1" name="pcmk_monitor_interval" value="often"/></instance_attributes></primitive></resources></configuration></cib>`)); err == nil {
		t.Error("a bad pcmk_monitor_interval was accepted")
	}
}
