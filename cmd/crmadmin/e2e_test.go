package main

import (
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

func TestFile(t *testing.T) {
	bin := sourcetest.Tool(t, "crmadmin")
	p, _ := cibCopy(t)
	env := []string{"CIB_file=" + p}
	run(t, bin, env, []step{
		{"crmadmin -N", 0, "member node: n1 (n1)\nmember node: n2 (n2)\nmember node: n3 (n3)\nmember node: n4 (n4)\n", ""},
		{"crmadmin -N -q", 0, "n1\nn2\nn3\nn4\n", ""},
		{"crmadmin -D", 69, "", "needs the running cluster"},
		{"crmadmin -S n1", 69, "", "needs the running cluster"},
		{"crmadmin", 64, "", "no command given"},
	})
}

func TestLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crmadmin")
	_, b := cibCopy(t)
	view := &crmv1.GetStatusResponse{Node: "n1", Dc: "n1", IsDc: true, Members: []string{"n1", "n2"}, Quorum: true,
		TransitionState: crmv1.TransitionState_TRANSITION_STATE_IDLE}
	f := sourcetest.Start(t, b, view)
	run(t, bin, f.Live(), []step{
		{"crmadmin -D", 0, "Designated Controller is: n1\n", ""},
		{"crmadmin -Dq", 0, "n1\n", ""},
		{"crmadmin -S n1", 0, "Controller on n1 in state S_IDLE: ok\n", ""},
		{"crmadmin -S n2", 0, "Controller on n2 in state S_NOT_DC: ok\n", ""},
		{"crmadmin -S n3", 1, "", "not a member"},
	})
	f.Lock()
	view.TransitionState = crmv1.TransitionState_TRANSITION_STATE_EXECUTING
	f.Unlock()
	run(t, bin, f.Live(), []step{{"crmadmin -S n1 -q", 0, "S_TRANSITION_ENGINE\n", ""}})
	f.Lock()
	f.View = &crmv1.GetStatusResponse{Node: "n2", Dc: "n1", Members: []string{"n1", "n2"}, Quorum: true}
	f.Unlock()
	run(t, bin, f.Live(), []step{
		{"crmadmin -S n1", 1, "", "run crmadmin -S n1 on n1"},
	})
	f.Lock()
	f.View = &crmv1.GetStatusResponse{Node: "n2", Members: []string{"n2"}}
	f.Unlock()
	run(t, bin, f.Live(), []step{
		{"crmadmin -D", 1, "", "no Designated Controller"},
		{"crmadmin -S n2", 0, "Controller on n2 in state S_PENDING: ok\n", ""},
	})
	f.Lock()
	f.Deny = true
	f.Unlock()
	run(t, bin, f.Live(), []step{{"crmadmin -D", 4, "", "permission denied"}})
}
