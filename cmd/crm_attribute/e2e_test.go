package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// TestMain lets the test binary stand in for crm_attribute.
func TestMain(m *testing.M) {
	sourcetest.ToolMain(m, func() int { return Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

func cibCopy(t *testing.T) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile("../../crm/status/testdata/mixed.xml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

type step struct {
	line      string
	code      int
	out, errs string // out exact; errs substring
}

func run(t *testing.T, bin string, env []string, steps []step) {
	t.Helper()
	for _, s := range steps {
		code, out, errs := sourcetest.Sh(t, bin, env, s.line)
		if code != s.code || out != s.out || !strings.Contains(errs, s.errs) || (s.errs == "" && errs != "") {
			t.Errorf("%s:\n exit %d, want %d\n stdout %q, want %q\n stderr %q, want %q", s.line, code, s.code, out, s.out, errs, s.errs)
		}
	}
}

// common are the steps that behave the same on a file and live.
var common = []step{
	{"crm_attribute -n stonith-enabled -G", 0, "scope=crm_config  name=stonith-enabled value=false\n", ""},
	{"crm_attribute -n stonith-enabled -G -q", 0, "false\n", ""},
	{"crm_attribute -n cluster-recheck-interval -v 5min", 0, "", ""},
	{"crm_attribute --name cluster-recheck-interval --query", 0, "scope=crm_config  name=cluster-recheck-interval value=5min\n", ""},
	{"crm_attribute -n cluster-recheck-interval -D", 0, "Deleted crm_config option: id=cib-bootstrap-options-cluster-recheck-interval name=cluster-recheck-interval\n", ""},
	{"crm_attribute -n cluster-recheck-interval -D", 0, "", ""},
	{"crm_attribute -n cluster-recheck-interval -G", 105, "", "No such device or address"},
	{"crm_attribute -n cluster-recheck-interval -G -d 15min", 0, "scope=crm_config  name=cluster-recheck-interval value=15min\n", ""},
	{"crm_attribute -t rsc_defaults -n resource-stickiness -v 100", 0, "", ""},
	{"crm_attribute -t rsc_defaults -n resource-stickiness -G -q", 0, "100\n", ""},
	{"crm_attribute -N n1 -n rack -G", 0, "scope=nodes  name=rack value=r1\n", ""},
	{"crm_attribute -N n2 -n rack -v r2 -l forever", 0, "", ""},
	{"crm_attribute -N n2 -n rack -G", 0, "scope=nodes  name=rack value=r2\n", ""},
	{"crm_attribute -N n1 -n pingd -l reboot -G", 0, "scope=status  name=pingd value=1000\n", ""},
	{"crm_attribute -N n3 -n pingd -t status -v 200", 0, "", ""},
	{"crm_attribute -N n3 -n pingd -l reboot -G -q", 0, "200\n", ""},
	{"crm_attribute -N n2 -p st -v 5", 0, "", ""},
	{"crm_attribute -N n2 --promotion=st -G", 0, "scope=status  name=master-st value=5\n", ""},
	{"OCF_RESOURCE_INSTANCE=st:1 crm_attribute -N n2 -p -G -q", 0, "5\n", ""},
	{"crm_attribute -G", 64, "", "no attribute name"},
	{"crm_attribute -n x -G -v 1", 64, "", "only one of"},
	{"crm_attribute -n x -t tickets -G", 64, "", "tickets are not supported"},
	{"crm_attribute -n x -l sometimes -G", 64, "", "invalid lifetime"},
	{"crm_attribute -n x -N n1 -t crm_config -G", 64, "", "-N applies to node attributes"},
}

func TestFile(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_attribute")
	p, _ := cibCopy(t)
	env := []string{"CIB_file=" + p}
	run(t, bin, env, common)
	run(t, bin, env, []step{
		{"crm_attribute -N ghost -n x -v 1", 105, "", "could not map name=ghost to a UUID"},
		// offline, a transient attribute goes straight into the status section
		{"crm_attribute -N n4 -n x -l reboot -v 1", 0, "", ""},
	})
	b, _ := os.ReadFile(p)
	for _, want := range []string{`<nvpair id="status-n4-x" name="x" value="1"/>`, `<nvpair id="nodes-n2-rack" name="rack" value="r2"/>`,
		`<nvpair id="status-n2-master-st" name="master-st" value="5"/>`, `<nvpair id="rsc_defaults-options-resource-stickiness" name="resource-stickiness" value="100"/>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("file lacks %s", want)
		}
	}
}

func TestLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_attribute")
	_, b := cibCopy(t)
	f := sourcetest.Start(t, b, &crmv1.GetStatusResponse{Node: "n2", Dc: "n2", Members: []string{"n1", "n2", "n3"}, Quorum: true})
	run(t, bin, f.Live(), common)
	run(t, bin, f.Live(), []step{
		// without -N: this node (crmd's own)
		{"crm_attribute -n load -l reboot -v 3", 0, "", ""},
		{"crm_attribute -N n2 -n load -l reboot -G", 0, "scope=status  name=load value=3\n", ""},
		{"crm_attribute -N ghost -n x -v 1 -l reboot", 105, "", "ghost"},
	})
	f.Lock()
	calls := append([]string(nil), f.Calls...)
	f.Deny = true
	f.Unlock()
	if !slices.Contains(calls, "SetAttr") || !slices.Contains(calls, "GetAttr") {
		t.Errorf("node attributes did not go through the CRM service: %v", calls)
	}
	run(t, bin, f.Live(), []step{
		{"crm_attribute -N n1 -n rack -G", 4, "", "permission denied"},
		{"crm_attribute -n stonith-enabled -G", 4, "", "permission denied"},
	})
}
