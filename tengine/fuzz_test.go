package tengine

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseGraph: any bytes either parse into a graph the engine can run
// to the end (every action succeeding) or are refused; nothing panics.
func FuzzParseGraph(f *testing.F) {
	files, _ := filepath.Glob("testdata/graphs/*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(graphXML(`batch-limit="1" migration-limit="1"`, syn(0, op(1, "migrate_to", "a", "n1")), syn(1, pseudo(2, "p"), 1)))
	f.Add([]byte(`<transition_graph/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGraph(data)
		if err != nil {
			return
		}
		e, err := New(g, "u", DefaultConfig(), t0)
		if err != nil {
			t.Fatalf("parsed graph refused by New: %v", err)
		}
		now := t0
		for i := 0; i <= len(g.Actions)+1; i++ {
			r := e.Ready()
			if r.Finished != nil {
				if n := r.Finished.Completed + r.Finished.Failed + r.Finished.Skipped; n != g.NumActions() {
					t.Fatalf("counts %+v, %d actions", r.Finished, g.NumActions())
				}
				return
			}
			for _, d := range r.Dispatch {
				if err := e.Result(now, d.Action.ID, Result{RC: d.Action.TargetRC}); err != nil {
					t.Fatal(err)
				}
			}
			now = now.Add(time.Millisecond)
		}
		t.Fatalf("graph with %d actions did not finish", len(g.Actions))
	})
}
