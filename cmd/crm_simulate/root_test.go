package main

import (
	"bytes"
	"errors"
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
	if _, err := run(t, "-L"); !errors.Is(err, errNoLive) {
		t.Errorf("-L: got %v", err)
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
