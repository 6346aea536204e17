package main

import (
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

var common = []step{
	{"crm_standby -N n3 -G", 0, "scope=nodes  name=standby value=on\n", ""},
	{"crm_standby -N n1 -G", 0, "scope=nodes  name=standby value=off\n", ""},
	{"crm_standby -N n1 -v on", 0, "", ""},
	{"crm_standby -N n1 -G -q", 0, "on\n", ""},
	{"crm_standby -N n1 -v off -l reboot", 0, "", ""},
	{"crm_standby -N n1 -G -l reboot", 0, "scope=status  name=standby value=off\n", ""},
	{"crm_standby -N n1 -v maybe", 64, "", "invalid standby value"},
	{"crm_standby -N n1 -G -D", 64, "", "only one of"},
	{"crm_standby -N n1 -l always", 64, "", "invalid lifetime"},
}

func TestFile(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_standby")
	p, _ := cibCopy(t)
	env := []string{"CIB_file=" + p}
	run(t, bin, env, common)
	run(t, bin, env, []step{
		{"crm_standby -N n1 -D", 0, "Deleted nodes attribute: id=nodes-n1-standby name=standby\n", ""},
		{"crm_standby -N n1 -G", 0, "scope=nodes  name=standby value=off\n", ""},
		{"crm_standby -N ghost -v on", 105, "", "could not map name=ghost"},
	})
}

func TestLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_standby")
	_, b := cibCopy(t)
	f := sourcetest.Start(t, b, &crmv1.GetStatusResponse{Node: "n2", Dc: "n2", Members: []string{"n1", "n2", "n3"}, Quorum: true})
	run(t, bin, f.Live(), common)
	run(t, bin, f.Live(), []step{
		{"crm_standby -v on", 0, "", ""}, // this node: n2
		{"crm_standby -N n2 -G", 0, "scope=nodes  name=standby value=on\n", ""},
		{"crm_standby -D", 0, "", ""},
		{"crm_standby -N n2 -G -q", 0, "off\n", ""},
	})
	f.Lock()
	f.Deny = true
	f.Unlock()
	run(t, bin, f.Live(), []step{{"crm_standby -N n1 -G", 4, "", "permission denied"}})
}
