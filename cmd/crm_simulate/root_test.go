package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := NewRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestSimulateSections(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join(dir, "graph.xml")
	out, err := run(t, "-x", "../../pengine/testdata/group-move/cib.xml", "-S", "-G", graph)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Current cluster status:", "Transition Summary:", "Executing Cluster Transition:", "Revised Cluster Status:", "Move       g1"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	data, err := os.ReadFile(graph)
	if err != nil || !bytes.Contains(data, []byte("<transition_graph")) {
		t.Errorf("graph not written: %v", err)
	}
}

func TestInjection(t *testing.T) {
	out, err := run(t, "-x", "../../pengine/testdata/start-basic/cib.xml", "-S", "-d", "node1", "-d", "node2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "* Start") {
		t.Errorf("resources started with every node down:\n%s", out)
	}
	out, err = run(t, "-x", "../../pengine/testdata/stickiness-stays/cib.xml", "-S", "-i", "web_monitor_10000@node2=7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Recover") {
		t.Errorf("injected failure not recovered:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	if _, err := run(t, "-L", "-x", "../../pengine/testdata/start-basic/cib.xml"); err == nil || !strings.Contains(err.Error(), "either -L or -x") {
		t.Errorf("-L -x: got %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(bad, []byte("<cib><nope></cib>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "-x", bad, "-S"); err == nil {
		t.Error("malformed XML accepted")
	}
	if _, err := run(t, "-x", "../../pengine/testdata/start-basic/cib.xml", "-t", "garbage", "-S"); err == nil {
		t.Error("bad date accepted")
	}
}

// TestInvalidCIBRefused: a CIB that fails validation gets crm_verify's
// reasons and an error; tolerated problems are warnings only.
func TestInvalidCIBRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	os.WriteFile(bad, []byte(`<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes>
<resources><primitive id="a" class="ocf" provider="systole" type="Dummy"/><primitive id="a" class="lsb" type="x"/></resources>
<constraints><rsc_location id="l" rsc="a" node="n1" score="lots"/></constraints></configuration><status/></cib>`), 0o644)
	out, err := run(t, "-x", bad, "-S")
	if err == nil {
		t.Fatalf("invalid CIB accepted:\n%s", out)
	}
	for _, want := range []string{`error: primitive "a": id already exists`, `error: rsc_location "l": score "lots" is not a valid score`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Transition Summary") {
		t.Error("a transition was computed from an invalid CIB")
	}
	warn := filepath.Join(dir, "warn.xml")
	os.WriteFile(warn, []byte(`<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes>
<resources/><constraints><rsc_location id="l" rsc="ghost" node="n1" score="10"/></constraints></configuration><status/></cib>`), 0o644)
	out, err = run(t, "-x", warn, "-S")
	if err != nil || !strings.Contains(out, `warning: rsc_location "l": rsc refers to resource "ghost"`) {
		t.Fatalf("tolerated problem: err %v\n%s", err, out)
	}
}
