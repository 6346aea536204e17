package tengine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestParseGraphErrors(t *testing.T) {
	for _, tc := range []struct {
		name, xml, want string
	}{
		{"not xml", "hello", "invalid transition graph"},
		{"truncated", "<transition_graph><synapse", "invalid transition graph"},
		{"wrong root", "<cib/>", "not <transition_graph>"},
		{"bad transition id", `<transition_graph transition_id="x"/>`, `transition_id="x" is not an integer`},
		{"negative transition id", `<transition_graph transition_id="-2"/>`, "negative transition_id"},
		{"bad cluster-delay", `<transition_graph cluster-delay="soon"/>`, `cluster-delay="soon" is not a duration`},
		{"bad batch-limit", `<transition_graph batch-limit="many"/>`, `batch-limit="many"`},
		{"stray element", `<transition_graph><foo/></transition_graph>`, "unexpected <foo>"},
		{"synapse without id", `<transition_graph><synapse/></transition_graph>`, "synapse 0 has no id"},
		{"empty synapse", `<transition_graph><synapse id="3"><action_set/><inputs/></synapse></transition_graph>`, "synapse 3 has no action"},
		{"duplicate synapse", string(graphXML("", syn(1, op(1, "start", "a", "n1")), syn(1, op(2, "start", "b", "n1")))), "duplicate synapse id 1"},
		{"duplicate action", string(graphXML("", syn(1, op(1, "start", "a", "n1")), syn(2, op(1, "start", "b", "n1")))), "duplicate action id 1"},
		{"unknown action kind", `<transition_graph><synapse id="0"><action_set><rsc_opp id="1"/></action_set></synapse></transition_graph>`, "unexpected <rsc_opp>"},
		{"action without id", `<transition_graph><synapse id="0"><action_set><pseudo_event operation="a" operation_key="a"/></action_set></synapse></transition_graph>`, "<pseudo_event> has no id"},
		{"no operation", `<transition_graph><synapse id="0"><action_set><pseudo_event id="1" operation_key="a"/></action_set></synapse></transition_graph>`, "action 1 has no operation"},
		{"rsc_op without node", `<transition_graph><synapse id="0"><action_set><rsc_op id="1" operation="start" operation_key="a_start_0"><primitive id="a" class="ocf" type="Dummy"/></rsc_op></action_set></synapse></transition_graph>`, "has no on_node"},
		{"rsc_op without primitive", `<transition_graph><synapse id="0"><action_set><rsc_op id="1" operation="start" operation_key="a_start_0" on_node="n1"/></action_set></synapse></transition_graph>`, "has no <primitive>"},
		{"primitive without type", `<transition_graph><synapse id="0"><action_set><rsc_op id="1" operation="start" operation_key="a_start_0" on_node="n1"><primitive id="a" class="ocf"/></rsc_op></action_set></synapse></transition_graph>`, "needs id, class and type"},
		{"bad target rc", string(graphXML("", syn(0, op(1, "monitor", "a", "n1", "CRM_meta_op_target_rc=seven")))), "CRM_meta_op_target_rc"},
		{"bad timeout", string(graphXML("", syn(0, op(1, "start", "a", "n1", "CRM_meta_timeout=-5")))), ""},
		{"unknown input", string(graphXML("", syn(0, op(1, "start", "a", "n1"), 9))), "waits for action 9, which is not in the graph"},
		{"bad trigger", `<transition_graph><synapse id="0"><action_set><pseudo_event id="1" operation="a" operation_key="a"/></action_set><inputs><trigger><foo/></trigger></inputs></synapse></transition_graph>`, "unexpected <foo> in <trigger>"},
		{"cycle", string(graphXML("", syn(0, op(1, "start", "a", "n1"), 2), syn(1, op(2, "start", "b", "n1"), 1))), "ordering cycle"},
		{"self cycle", string(graphXML("", syn(0, op(1, "start", "a", "n1"), 1))), "ordering cycle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGraph([]byte(tc.xml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrBadGraph) {
				t.Errorf("%v does not wrap ErrBadGraph", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseGraphFields(t *testing.T) {
	data, err := os.ReadFile("testdata/graphs/clone-basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.TransitionID != 1 || g.ClusterDelay != time.Minute || g.FencingTimeout != time.Minute || g.BatchLimit != 0 || g.MigrationLimit != -1 {
		t.Errorf("graph attributes: %+v", g)
	}
	var mon *Action
	for _, a := range g.Actions {
		if a.Kind == RscOp && a.Operation == "monitor" && a.Interval > 0 {
			mon = a
			break
		}
	}
	if mon == nil {
		t.Fatal("no recurring monitor")
	}
	if mon.Rsc == nil || mon.Rsc.LongID == "" || mon.Rsc.Class != "ocf" || mon.Timeout != 20*time.Second || mon.Node == "" {
		t.Errorf("monitor: %+v rsc %+v", mon, mon.Rsc)
	}
	if mon.Attributes["CRM_meta_clone_max"] == "" {
		t.Errorf("attributes not verbatim: %v", mon.Attributes)
	}
	data, _ = os.ReadFile("testdata/graphs/node-lost-fenced.xml")
	g, err = ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range g.Actions {
		if a.Operation == "stonith" {
			found = true
			if a.Kind != CRMEvent || len(a.Downed) != 1 || a.Timeout != time.Minute {
				t.Errorf("stonith: %+v", a)
			}
		}
	}
	if !found {
		t.Error("no stonith")
	}
}

// TestGolden runs every graph under testdata/graphs with every action
// succeeding, wave by wave (all running actions answer, in id order), and
// compares the trace with testdata/graphs/NAME.trace. GOLDEN_UPDATE=1
// rewrites the traces.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/graphs/*.xml")
	if len(files) == 0 {
		t.Fatal("no graphs")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := trace(t, data)
			tf := strings.TrimSuffix(f, ".xml") + ".trace"
			if os.Getenv("GOLDEN_UPDATE") != "" {
				if err := os.WriteFile(tf, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(tf)
			if err != nil {
				t.Fatalf("%v (GOLDEN_UPDATE=1 writes it)", err)
			}
			if got != string(want) {
				t.Errorf("trace differs\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func trace(t *testing.T, data []byte) string {
	g, err := ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(g, "uuid", DefaultConfig(), t0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "graph %d: %d synapses, %d actions, batch-limit %d, migration-limit %d\n", g.TransitionID, len(g.Synapses), g.NumActions(), g.BatchLimit, g.MigrationLimit)
	now := t0
	running := map[int]bool{}
	for wave := 1; ; wave++ {
		r := e.Ready()
		var line []string
		for _, ev := range r.Events {
			if ev.Action.Kind == Pseudo {
				line = append(line, "("+ev.Action.OperationKey+")")
			}
		}
		for _, d := range r.Dispatch {
			running[d.Action.ID] = true
			line = append(line, fmt.Sprintf("%d:%s@%s", d.Action.ID, d.Action.OperationKey, d.Action.Node))
		}
		if len(line) > 0 {
			fmt.Fprintf(&b, "wave %d: %s\n", wave, strings.Join(line, " "))
		}
		if r.Finished != nil {
			fmt.Fprintf(&b, "finished: %s\n", fmtFinished(r.Finished))
			return b.String()
		}
		var ids []int
		for id := range running {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		if len(ids) == 0 {
			t.Fatal("nothing runs and not finished")
		}
		now = now.Add(time.Second)
		for _, id := range ids {
			delete(running, id)
			if err := e.Result(now, id, Result{RC: g.Actions[id].TargetRC}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
