package stonith

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T) *Topology {
	t.Helper()
	b, err := os.ReadFile("testdata/cib.xml")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := ParseCIB(b)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestParseCIBDevices(t *testing.T) {
	topo := fixture(t)
	if got, want := topo.DeviceIDs(), []string{"ipmi-n1", "ipmi-n2", "off-dev", "psu-a", "psu-b", "stat", "virsh"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("devices %v, want %v", got, want)
	}
	d := topo.Devices
	tests := []struct {
		name      string
		got, want any
	}{
		{"ipmi-n1 agent", d["ipmi-n1"].Agent, "fence_ipmilan"},
		{"ipmi-n1 params exclude pcmk_", d["ipmi-n1"].Params, map[string]string{"ip": "192.0.2.11", "username": "admin"}},
		{"ipmi-n1 host list", d["ipmi-n1"].HostList, []string{"n1"}},
		{"ipmi-n1 check defaults to static-list", d["ipmi-n1"].HostCheck, CheckStaticList},
		{"ipmi-n1 reboot action", d["ipmi-n1"].AgentAction(ActionReboot), "off"},
		{"ipmi-n1 off action", d["ipmi-n1"].AgentAction(ActionOff), "off"},
		{"ipmi-n1 delay base", d["ipmi-n1"].DelayBase, 2 * time.Second},
		{"ipmi-n1 reboot retries", d["ipmi-n1"].Retry(ActionReboot), 1},
		{"ipmi-n1 off retries default", d["ipmi-n1"].Retry(ActionOff), 2},
		{"ipmi-n2 delay max", d["ipmi-n2"].DelayMax, 10 * time.Second},
		{"ipmi-n2 reboot timeout ISO", d["ipmi-n2"].Timeouts[ActionReboot], 30 * time.Second},
		{"psu-a host map", d["psu-a"].HostMap, map[string]string{"n1": "1", "n2": "2", "n3": "3"}},
		{"psu-b host map with = and ,", d["psu-b"].HostMap, map[string]string{"n1": "11", "n2": "12", "n3": "13"}},
		{"psu-a port", d["psu-a"].Port("n2"), "2"},
		{"psu-a unmapped port", d["psu-a"].Port("n9"), "n9"},
		{"virsh check defaults to dynamic-list", d["virsh"].HostCheck, CheckDynamicList},
		{"stat check", d["stat"].HostCheck, CheckStatus},
		{"stat priority", d["stat"].Priority, 10},
		{"off-dev disabled", d["off-dev"].Disabled, true},
		{"off-dev check none", d["off-dev"].HostCheck, CheckNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestParseCIBLevels(t *testing.T) {
	topo := fixture(t)
	ids := func(ls []Level) (out []string) {
		for _, l := range ls {
			out = append(out, l.ID+":"+strings.Join(l.Devices, "+"))
		}
		return out
	}
	tests := []struct {
		target string
		want   []string
	}{
		{"n1", []string{"fl-n1-1:ipmi-n1", "fl-n1-2:psu-a+psu-b"}},
		{"n2", nil},
		{"n3", []string{"fl-n3-1:psu-a+psu-b", "fl-n3-2:ghost"}},
		{"n33", nil},
	}
	for _, tc := range tests {
		if got := ids(topo.LevelsFor(tc.target)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LevelsFor(%s) = %v, want %v", tc.target, got, tc.want)
		}
	}
}

func TestParseCIBErrors(t *testing.T) {
	wrap := func(rsc, topo string) string {
		return `<cib><configuration><resources>` + rsc + `</resources><fencing-topology>` + topo + `</fencing-topology></configuration></cib>`
	}
	dev := func(id, nv string) string {
		return `<primitive id="` + id + `" class="stonith" type="fence_dummy"><instance_attributes id="` + id + `-ia">` + nv + `</instance_attributes></primitive>`
	}
	nv := func(n, v string) string { return `<nvpair id="x-` + n + `" name="` + n + `" value="` + v + `"/>` }
	tests := []struct {
		name, xml, want string
	}{
		{"not xml", "<cib", "bad fencing configuration"},
		{"index 0", wrap("", `<fencing-level id="l" index="0" target="n1" devices="d"/>`), "index \"0\" is not 1..9"},
		{"index 10", wrap("", `<fencing-level id="l" index="10" target="n1" devices="d"/>`), "is not 1..9"},
		{"no target", wrap("", `<fencing-level id="l" index="1" devices="d"/>`), "no target"},
		{"no devices", wrap("", `<fencing-level id="l" index="1" target="n1" devices=" , "/>`), "no devices"},
		{"dup index", wrap("", `<fencing-level id="a" index="1" target="n1" devices="d"/><fencing-level id="b" index="1" target="n1" devices="e"/>`), "index 1 already used by a"},
		{"bad pattern", wrap("", `<fencing-level id="l" index="1" target-pattern="(" devices="d"/>`), "target-pattern"},
		{"attribute target", wrap("", `<fencing-level id="l" index="1" target-attribute="rack" target-value="1" devices="d"/>`), "not supported yet"},
		{"bad host check", wrap(dev("d", nv("pcmk_host_check", "maybe")), ""), "pcmk_host_check \"maybe\""},
		{"bad host map", wrap(dev("d", nv("pcmk_host_map", "n1")), ""), "not node:port"},
		{"bad delay", wrap(dev("d", nv("pcmk_delay_max", "soon")), ""), "pcmk_delay_max"},
		{"bad retries", wrap(dev("d", nv("pcmk_off_retries", "-1")), ""), "pcmk_off_retries"},
		{"newline in a value", wrap(dev("d", nv("passwd", "a&#10;action=on")), ""), "cannot hold a newline"},
		{"= in a name", wrap(dev("d", nv("a=b", "c")), ""), "cannot hold a newline"},
		{"dup device", wrap(dev("d", "")+dev("d", ""), ""), "defined twice"},
		{"agent path", wrap(`<primitive id="d" class="stonith" type="../bin/sh"/>`, ""), "bad agent type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCIB([]byte(tc.xml))
			if !errors.Is(err, ErrBadCIB) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrBadCIB containing %q", err, tc.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	topo := fixture(t)
	line := func(args []Arg) string {
		b, err := Encode(args)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, dev string
		action    Action
		target    string
		want      string
	}{
		{"reboot mapped to off", "ipmi-n1", ActionReboot, "n1", "action=off\nnodename=n1\nport=n1\nip=192.0.2.11\nusername=admin\n"},
		{"host map port", "psu-a", ActionOff, "n2", "action=off\nnodename=n2\nport=2\nip=192.0.2.21\n"},
		{"host argument plug", "psu-b", ActionOn, "n3", "action=on\nnodename=n3\nplug=13\nip=192.0.2.22\n"},
		{"host argument none", "stat", ActionStatus, "n4", "action=status\nnodename=n4\n"},
		{"list has no target", "virsh", ActionList, "", "action=list\nip=192.0.2.30\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := line(topo.Devices[tc.dev].Args(tc.action, tc.target)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	d := &Device{ID: "x", Agent: "fence_x", HostArgument: "port", Params: map[string]string{"action": "on", "port": "evil", "passwd": "a\nb"}}
	if _, err := Encode(d.Args(ActionOff, "n1")); !errors.Is(err, ErrBadArgument) {
		t.Errorf("newline in a value: err %v, want ErrBadArgument", err)
	}
	delete(d.Params, "passwd")
	if got := line(d.Args(ActionOff, "n1")); got != "action=off\nnodename=n1\nport=n1\n" {
		t.Errorf("device params must not override action/port: %q", got)
	}
	for _, a := range []Arg{{"", "v"}, {"a=b", "v"}, {"a", "x\ry"}} {
		if _, err := Encode([]Arg{a}); !errors.Is(err, ErrBadArgument) {
			t.Errorf("Encode(%v): err %v, want ErrBadArgument", a, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got := ParseList("n1,alias1\n\nport-7\r\n n2 , n2.example\n")
	want := []string{"n1", "alias1", "port-7", "n2", "n2.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
