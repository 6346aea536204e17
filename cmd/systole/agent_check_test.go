package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/agents"
	"github.com/systole/systole/agents/agenttest"
)

func TestMain(m *testing.M) { agenttest.Main(m) }

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := NewRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestAgentCheckCommand(t *testing.T) {
	root := agenttest.OCFRoot(t)
	t.Setenv("OCF_ROOT", root)
	t.Setenv("HA_RSCTMP", t.TempDir())
	out, err := runCmd(t, "agent", "check", "ocf:systole:Dummy")
	if err != nil || !strings.Contains(out, "verdict: PASS") {
		t.Fatalf("Dummy: %v\n%s", err, out)
	}
	out, err = runCmd(t, "agent", "check", filepath.Join(root, "resource.d/systole/Stateful"), "--name", "st1")
	if err != nil || !strings.Contains(out, "monitor promoted") {
		t.Fatalf("Stateful by path: %v\n%s", err, out)
	}
	out, err = runCmd(t, "agent", "check", "../../agents/check/testdata/broken-agent")
	if err == nil || !strings.Contains(out, "verdict: FAIL") {
		t.Fatalf("broken agent: err %v\n%s", err, out)
	}
	if _, err := runCmd(t, "agent", "check", "ocf:systole:Dummy", "novalue"); err == nil {
		t.Fatal("accepted a parameter without =")
	}
	if _, err := runCmd(t, "agent", "check", "ocf:nosuch:Dummy"); err == nil || !strings.Contains(err.Error(), "unknown OCF provider") {
		t.Fatalf("unknown provider: %v", err)
	}
	out, err = runCmd(t, "agent", "check", "ocf:systole:ping")
	if err == nil || !strings.Contains(out, "not given: host_list") {
		t.Fatalf("missing required parameter: %v\n%s", err, out)
	}
}

// TestAgentCheckInNamespace runs the systole binary as an RA author would,
// inside a network namespace, on every Systole agent and on Debian's
// Dummy and IPaddr2.
func TestAgentCheckInNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	ns := agenttest.NewNetNS(t)
	bin := agenttest.Build(t, "./cmd/systole")
	root := agenttest.OCFRoot(t)
	rsctmp := t.TempDir()
	type tc struct {
		root, agent string
		params      []string
	}
	cases := []tc{
		{root, "ocf:systole:IPaddr", []string{"ip=192.0.2.70", "arp_count=1"}},
		{root, "ocf:systole:IPaddr", []string{"ip=fd00:5157::70", "cidr_netmask=64", "nic=" + ns.Dev, "arp_count=1"}},
		{root, "ocf:systole:ping", []string{"host_list=192.0.2.1 fd00:5157::1", "dampen=0", "attr_updater=none"}},
		{root, "ocf:systole:anything", []string{"binfile=sleep", "cmdline_options=600"}},
		{root, "ocf:systole:Stateful", nil},
		{root, "ocf:systole:Dummy", nil},
	}
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"); err == nil {
		cases = append(cases,
			tc{"/usr/lib/ocf", "ocf:heartbeat:Dummy", nil},
			tc{"/usr/lib/ocf", "ocf:heartbeat:IPaddr2", []string{"ip=192.0.2.71", "cidr_netmask=24", "nic=" + ns.Dev}})
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.agent] = true
		t.Run(c.agent, func(t *testing.T) {
			cmd := ns.Command(bin, append([]string{"agent", "check", c.agent}, c.params...)...)
			cmd.Env = append(os.Environ(), "OCF_ROOT="+c.root, "HA_RSCTMP="+rsctmp)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "verdict: PASS") {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
	for _, a := range agents.Names {
		if !seen["ocf:systole:"+a] {
			t.Errorf("agent %s is not checked", a)
		}
	}
}
