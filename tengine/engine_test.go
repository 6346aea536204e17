package tengine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// step is one input of a table test and what Ready must show after it.
type step struct {
	do       string // "ok ID", "rc ID RC", "tick SECONDS", "abort", "lost NODE"
	dispatch []int  // action ids dispatched (sorted)
	finished string // substring of the Finished line; "" = not finished
}

func TestEngineTable(t *testing.T) {
	chain := graphXML("", syn(0, op(1, "stop", "a", "n1")), syn(1, op(2, "start", "a", "n2"), 1), syn(2, op(3, "monitor", "a", "n2", "CRM_meta_interval=10000"), 2))
	five := graphXML(`batch-limit="2"`, syn(0, op(1, "start", "a", "n1")), syn(1, op(2, "start", "b", "n1")), syn(2, op(3, "start", "c", "n1")), syn(3, op(4, "start", "d", "n2")), syn(4, op(5, "start", "e", "n2")))
	for _, tc := range []struct {
		name  string
		graph []byte
		first []int // dispatched by New
		steps []step
	}{
		{"empty graph completes at once", graphXML(""), nil, []step{}},
		{"chain runs in order", chain, []int{1}, []step{
			{do: "ok 1", dispatch: []int{2}},
			{do: "ok 2", dispatch: []int{3}},
			{do: "ok 3", finished: "complete(complete) completed=3 failed=0 skipped=0"},
		}},
		{"pseudo events confirm at once", graphXML("", syn(0, op(1, "stop", "a", "n1")), syn(1, pseudo(2, "grp_stopped_0"), 1), syn(2, op(3, "start", "b", "n2"), 2)), []int{1}, []step{
			{do: "ok 1", dispatch: []int{3}},
			{do: "ok 3", finished: "complete(complete) completed=2"},
		}},
		{"pseudo with no input fires at New", graphXML("", syn(0, pseudo(1, "all_stopped")), syn(1, op(2, "start", "b", "n2"), 1)), []int{2}, []step{
			{do: "ok 2", finished: "completed=1 failed=0 skipped=0"},
		}},
		{"batch-limit", five, []int{1, 2}, []step{
			{do: "ok 1", dispatch: []int{3}},
			{do: "ok 3", dispatch: []int{4}},
			{do: "ok 2", dispatch: []int{5}},
			{do: "ok 4"},
			{do: "ok 5", finished: "complete(complete) completed=5"},
		}},
		{"batch-limit 0 is unlimited", graphXML(`batch-limit="0"`, syn(0, op(1, "start", "a", "n1")), syn(1, op(2, "start", "b", "n1")), syn(2, op(3, "start", "c", "n1"))), []int{1, 2, 3}, nil},
		{"migration-limit per node", graphXML(`migration-limit="1"`,
			syn(0, op(1, "migrate_to", "a", "n1")), syn(1, op(2, "migrate_to", "b", "n1")), syn(2, op(3, "migrate_to", "c", "n2")), syn(3, op(4, "stop", "d", "n1"))), []int{1, 3, 4}, []step{
			{do: "ok 3"},
			{do: "ok 1", dispatch: []int{2}},
			{do: "ok 2"},
			{do: "ok 4", finished: "complete"},
		}},
		{"migration-limit 0 stalls", graphXML(`migration-limit="0"`, syn(0, op(1, "migrate_to", "a", "n1")), syn(1, op(2, "stop", "b", "n1"))), []int{2}, []step{
			{do: "ok 2", finished: "aborted(graph stalled: 1 synapses can never start) completed=1 failed=0 skipped=1"},
		}},
		{"failure stops new actions, running ones finish", graphXML("",
			syn(0, op(1, "start", "a", "n1")), syn(1, op(2, "start", "b", "n1")), syn(2, op(3, "monitor", "a", "n1"), 1)), []int{1, 2}, []step{
			{do: "rc 1 1"},
			{do: "ok 2", finished: "aborted(action 1 (a_start_0 on n1) failed: rc=1 status=0, expected rc=0) completed=1 failed=1 skipped=1"},
		}},
		{"probe expects not running", graphXML("", syn(0, op(1, "monitor", "a", "n1", "CRM_meta_op_target_rc=7")), syn(1, op(2, "start", "a", "n1"), 1)), []int{1}, []step{
			{do: "rc 1 7", dispatch: []int{2}},
			{do: "ok 2", finished: "complete"},
		}},
		{"probe finding the resource running aborts", graphXML("", syn(0, op(1, "monitor", "a", "n1", "CRM_meta_op_target_rc=7")), syn(1, op(2, "start", "a", "n1"), 1)), []int{1}, []step{
			{do: "rc 1 0", finished: "aborted(action 1 (a_monitor_0 on n1) failed: rc=0 status=0, expected rc=7) completed=0 failed=1 skipped=1"},
		}},
		{"on-fail=ignore", graphXML("", syn(0, op(1, "start", "a", "n1", "CRM_meta_on_fail=ignore")), syn(1, op(2, "start", "b", "n1"), 1)), []int{1}, []step{
			{do: "rc 1 5", dispatch: []int{2}},
			{do: "ok 2", finished: "complete"},
		}},
		{"timeout is CRM_meta_timeout + cluster-delay", chain, []int{1}, []step{
			{do: "tick 79"},
			{do: "tick 80", finished: "aborted(action 1 (a_stop_0 on n1) failed: rc=1 status=2, expected rc=0: no result within 1m20s (timeout 20s + cluster-delay 1m0s)) completed=0 failed=1 skipped=2"},
		}},
		{"abort waits for running actions", five, []int{1, 2}, []step{
			{do: "abort"},
			{do: "ok 1"},
			{do: "ok 2", finished: "aborted(test abort) completed=2 failed=0 skipped=3"},
		}},
		{"abort in the middle of a chain", chain, []int{1}, []step{
			{do: "ok 1", dispatch: []int{2}},
			{do: "abort"},
			{do: "ok 2", finished: "aborted(test abort) completed=2 failed=0 skipped=1"},
		}},
		{"lost node fails its running actions", graphXML("", syn(0, op(1, "stop", "a", "n1")), syn(1, op(2, "stop", "b", "n2")), syn(2, op(3, "start", "a", "n3"), 1)), []int{1, 2}, []step{
			{do: "lost n1"},
			{do: "ok 2", finished: "aborted(node n1 lost) completed=1 failed=1 skipped=1"},
		}},
		{"lost node the graph does not use", graphXML("", syn(0, op(1, "stop", "a", "n1"))), []int{1}, []step{
			{do: "lost n9"},
			{do: "ok 1", finished: "complete"},
		}},
		{"fencing of the lost node goes on", graphXML("", syn(0, fence(1, "n1")), syn(1, op(2, "start", "a", "n2"), 1)), []int{1}, []step{
			{do: "lost n1"},
			{do: "ok 1", dispatch: []int{2}},
			{do: "ok 2", finished: "complete"},
		}},
		{"priority first under batch-limit", graphXML(`batch-limit="1"`,
			`<synapse id="0"><action_set>`+op(1, "start", "low", "n1")+`</action_set><inputs/></synapse>`,
			`<synapse id="1" priority="10"><action_set>`+op(2, "start", "high", "n1")+`</action_set><inputs/></synapse>`), []int{2}, []step{
			{do: "ok 2", dispatch: []int{1}},
			{do: "ok 1", finished: "complete"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEngine(t, tc.graph)
			r := e.Ready()
			if got := ids(r); !reflect.DeepEqual(got, tc.first) {
				t.Fatalf("New dispatched %v, want %v", got, tc.first)
			}
			if len(tc.steps) == 0 && r.Finished == nil && len(tc.first) == 0 {
				t.Fatalf("empty graph did not finish")
			}
			now := t0
			for i, s := range tc.steps {
				f := strings.Fields(s.do)
				arg := func(j int) int {
					var n int
					fmt.Sscan(f[j], &n)
					return n
				}
				switch f[0] {
				case "ok":
					if err := e.Result(now, arg(1), Result{}); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				case "rc":
					if err := e.Result(now, arg(1), Result{RC: arg(2)}); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				case "tick":
					now = t0.Add(time.Duration(arg(1)) * time.Second)
					e.Tick(now)
				case "abort":
					e.Abort(now, "test abort")
				case "lost":
					e.NodeLost(now, f[1])
				}
				r := e.Ready()
				if got := ids(r); !reflect.DeepEqual(got, s.dispatch) {
					t.Fatalf("step %d (%s): dispatched %v, want %v", i, s.do, got, s.dispatch)
				}
				if s.finished == "" {
					if r.Finished != nil && i < len(tc.steps)-1 {
						t.Fatalf("step %d (%s): finished early: %s", i, s.do, fmtFinished(r.Finished))
					}
					continue
				}
				if r.Finished == nil || !strings.Contains(fmtFinished(r.Finished), s.finished) {
					t.Fatalf("step %d (%s): finished %s, want %q", i, s.do, fmtFinished(r.Finished), s.finished)
				}
			}
		})
	}
}

func TestAbortWithNothingRunning(t *testing.T) {
	e := mustEngine(t, graphXML("", syn(0, op(1, "stop", "a", "n1")), syn(1, op(2, "start", "a", "n2"), 1)))
	e.Ready()
	if err := e.Result(t0, 1, Result{RC: 1}); err != nil {
		t.Fatal(err)
	}
	r := e.Ready()
	if r.Finished == nil || r.Finished.Outcome != Aborted || r.Finished.Skipped != 1 {
		t.Fatalf("finished %s", fmtFinished(r.Finished))
	}
	// Finished is reported once; later inputs change nothing.
	e.Abort(t0, "again")
	e.NodeLost(t0, "n1")
	e.Tick(t0.Add(time.Hour))
	if e.HasReady() {
		t.Fatalf("ready after finish: %+v", e.Ready())
	}
}

func TestResultErrors(t *testing.T) {
	e := mustEngine(t, graphXML("", syn(0, op(1, "stop", "a", "n1")), syn(1, op(2, "start", "a", "n2"), 1)))
	e.Ready()
	if err := e.Result(t0, 99, Result{}); !errors.Is(err, ErrUnknownAction) {
		t.Errorf("unknown id: %v", err)
	}
	if err := e.Result(t0, 2, Result{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("not started: %v", err)
	}
	e.Tick(t0.Add(2 * time.Minute))
	if err := e.Result(t0, 1, Result{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("late result: %v", err)
	}
}

func TestDispatchFields(t *testing.T) {
	g, err := ParseGraph(graphXML("", syn(0, op(4, "monitor", "a", "n1", "CRM_meta_op_target_rc=7", "CRM_meta_timeout=5000"))))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(g, "abc-123", DefaultConfig(), t0)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Ready()
	if len(r.Dispatch) != 1 {
		t.Fatalf("dispatch %v", r.Dispatch)
	}
	d := r.Dispatch[0]
	if d.Key != "4:7:7:abc-123" {
		t.Errorf("key %q", d.Key)
	}
	if want := t0.Add(65 * time.Second); !d.Deadline.Equal(want) {
		t.Errorf("deadline %v, want %v", d.Deadline, want)
	}
	if !e.NextDeadline().Equal(d.Deadline) {
		t.Errorf("next deadline %v", e.NextDeadline())
	}
	if len(r.Events) != 1 || !r.Events[0].Started {
		t.Errorf("events %+v", r.Events)
	}
	e.Tick(t0.Add(10 * time.Second))
	if err := e.Result(t0.Add(10*time.Second), 4, Result{RC: 7}); err != nil {
		t.Fatal(err)
	}
	r = e.Ready()
	if len(r.Events) != 1 || r.Events[0].Elapsed != 10*time.Second || r.Events[0].Failed {
		t.Errorf("events %+v", r.Events)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.DefaultTimeout = 0
	if !errors.Is(c.Validate(), ErrInvalidConfig) {
		t.Error("zero timeout accepted")
	}
	if _, err := New(nil, "", DefaultConfig(), t0); err == nil {
		t.Error("nil graph accepted")
	}
}
