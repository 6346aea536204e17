package tengine

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// bigGraph returns a graph of n real actions (n/4 resources moving: probe
// on the new node, stop on the old one, start after both, monitor after
// the start) plus one pseudo event every start waits for.
func bigGraph(n int) []byte {
	var syns []string
	id := 1
	sid := 0
	all := 100000
	var stops []int
	for r := 0; r < n/4; r++ {
		rsc := fmt.Sprintf("r%d", r)
		from, to := fmt.Sprintf("n%d", r%16), fmt.Sprintf("n%d", (r+1)%16)
		probe, stop, start, mon := id, id+1, id+2, id+3
		id += 4
		syns = append(syns,
			syn(sid, op(probe, "monitor", rsc, to, "CRM_meta_op_target_rc=7")),
			syn(sid+1, op(stop, "stop", rsc, from)),
			syn(sid+2, op(start, "start", rsc, to), probe, stop, all),
			syn(sid+3, op(mon, "monitor", rsc, to, "CRM_meta_interval=10000"), start))
		sid += 4
		stops = append(stops, stop)
	}
	syns = append(syns, syn(sid, pseudo(all, "all_stopped"), stops...))
	return graphXML("", syns...)
}

func runToEnd(b *testing.B, g *Graph) {
	e, err := New(g, "bench", DefaultConfig(), t0)
	if err != nil {
		b.Fatal(err)
	}
	now := t0
	for {
		r := e.Ready()
		if r.Finished != nil {
			if r.Finished.Outcome != Complete {
				b.Fatalf("%+v", r.Finished)
			}
			return
		}
		now = now.Add(time.Millisecond)
		for _, d := range r.Dispatch {
			if err := e.Result(now, d.Action.ID, Result{RC: d.Action.TargetRC}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEngine1000 runs a 1000-action graph to the end, every action
// answered one by one (one Result call each), without parsing.
func BenchmarkEngine1000(b *testing.B) {
	g, err := ParseGraph(bigGraph(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		runToEnd(b, g)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/action")
}

// BenchmarkParse1000 parses the 1000-action graph.
func BenchmarkParse1000(b *testing.B) {
	data := bigGraph(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseGraph(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRealGraph parses and runs the graph in TENGINE_BENCH_GRAPH
// (e.g. crm_simulate -G from a generated 16x1000 CIB).
func BenchmarkRealGraph(b *testing.B) {
	p := os.Getenv("TENGINE_BENCH_GRAPH")
	if p == "" {
		b.Skip("TENGINE_BENCH_GRAPH not set")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	g, err := ParseGraph(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d synapses, %d actions", len(g.Synapses), g.NumActions())
	b.ReportAllocs()
	for b.Loop() {
		g, err := ParseGraph(data)
		if err != nil {
			b.Fatal(err)
		}
		runToEnd(b, g)
	}
}

func TestBigGraphShape(t *testing.T) {
	g, err := ParseGraph(bigGraph(1000))
	if err != nil {
		t.Fatal(err)
	}
	if g.NumActions() != 1000 || !strings.Contains(string(bigGraph(8)), "all_stopped") {
		t.Fatalf("%d actions", g.NumActions())
	}
}
