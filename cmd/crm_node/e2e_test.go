package main

import (
	"os"
	"strings"
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

func TestFile(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_node")
	p, _ := cibCopy(t)
	env := []string{"CIB_file=" + p}
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	run(t, bin, env, []step{
		{"crm_node -n", 0, host + "\n", ""},
		{"crm_node -l", 0, "n1 n1 member\nn2 n2 member\nn3 n3 member\nn4 n4 lost\n", ""},
		{"crm_node -p", 0, "n1 n2 n3\n", ""},
		{"crm_node -q", 0, "1\n", ""},
		{"crm_node -N n3", 0, "n3\n", ""},
		{"crm_node -N n9", 105, "", "no node with id n9"},
		{"crm_node", 64, "", "no command given"},
		{"crm_node -l -q", 64, "", "only one command"},
		{"crm_node -R n4", 107, "", "add --force"},
		{"crm_node -R n4 --force", 0, "", ""},
		{"crm_node -l", 0, "n1 n1 member\nn2 n2 member\nn3 n3 member\n", ""},
		{"crm_node -R n4 --force", 105, "", "n4"},
	})
	if b, _ := os.ReadFile(p); strings.Contains(string(b), `"n4"`) {
		t.Error("n4 still in the file")
	}
}

func TestLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_node")
	_, b := cibCopy(t)
	f := sourcetest.Start(t, b, &crmv1.GetStatusResponse{Node: "n2", Dc: "n1", Members: []string{"n1", "n2"}, Quorum: false})
	run(t, bin, f.Live(), []step{
		{"crm_node -n", 0, "n2\n", ""},
		{"crm_node -i", 0, "n2\n", ""},
		// membership from crmd's view, not the CIB's record (n3 in_ccm there)
		{"crm_node -l", 0, "n1 n1 member\nn2 n2 member\nn3 n3 lost\nn4 n4 lost\n", ""},
		{"crm_node -p", 0, "n1 n2\n", ""},
		{"crm_node -q", 0, "0\n", ""},
		{"crm_node -R n1 --force", 1, "", "member of the current view"},
		{"crm_node -R n4 --force", 0, "", ""},
		{"crm_node -l", 0, "n1 n1 member\nn2 n2 member\nn3 n3 lost\n", ""},
	})
	f.Lock()
	f.Deny = true
	f.Unlock()
	run(t, bin, f.Live(), []step{{"crm_node -q", 4, "", "permission denied"}, {"crm_node -n", 4, "", "permission denied"}})
}
