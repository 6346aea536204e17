package pengine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/cib"
)

// render is what a golden file holds: the summary and the simulated
// execution, in crm_simulate's format.
func render(res *Result) string {
	var b strings.Builder
	b.WriteString("Transition Summary:\n")
	for _, l := range res.Summary {
		b.WriteString(l + "\n")
	}
	b.WriteString("\nExecuting Cluster Transition:\n")
	for _, l := range res.Execution {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func goldenCases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/*/cib.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 60 {
		t.Fatalf("only %d golden scenarios, want at least 60", len(dirs))
	}
	return dirs
}

func TestGolden(t *testing.T) {
	update := os.Getenv("GOLDEN_UPDATE") != ""
	for _, path := range goldenCases(t) {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := cib.Parse(data)
			if err != nil {
				t.Fatalf("cib.Parse: %v", err)
			}
			res, err := Compute(c, DefaultConfig())
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			got := render(res)
			graph := res.Graph.XML()

			// The fast reader must give the same answer as cib.Parse.
			doc, err := ParseXML(append([]byte(nil), data...))
			if err != nil {
				t.Fatalf("ParseXML: %v", err)
			}
			res2, err := ComputeDoc(doc, DefaultConfig())
			if err != nil {
				t.Fatalf("ComputeDoc: %v", err)
			}
			if got2 := render(res2); got2 != got {
				t.Errorf("ParseXML and cib.Parse disagree:\n%s\n---\n%s", got, got2)
			}
			if !bytes.Equal(res2.Graph.XML(), graph) {
				t.Errorf("ParseXML and cib.Parse graphs disagree")
			}

			// So must the compact reader.
			in, err := ParseInput(append([]byte(nil), data...))
			if err != nil {
				t.Fatalf("ParseInput: %v", err)
			}
			res3, err := ComputeInput(in, DefaultConfig())
			if err != nil {
				t.Fatalf("ComputeInput: %v", err)
			}
			if got3 := render(res3); got3 != got {
				t.Errorf("ParseInput and cib.Parse disagree:\n%s\n---\n%s", got, got3)
			}
			if !bytes.Equal(res3.Graph.XML(), graph) {
				t.Errorf("ParseInput and cib.Parse graphs disagree")
			}
			if !slicesEqual(res3.CurrentStatus, res.CurrentStatus) || !slicesEqual(res3.RevisedStatus, res.RevisedStatus) || !slicesEqual(res3.Scores, res.Scores) {
				t.Errorf("ParseInput and cib.Parse status or scores disagree")
			}

			sumPath := filepath.Join(dir, "summary.txt")
			graphPath := filepath.Join(dir, "graph.xml")
			if update {
				if err := os.WriteFile(sumPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(graphPath, graph, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(sumPath)
			if err != nil {
				t.Fatalf("missing golden file (run GOLDEN_UPDATE=1 go test ./pengine/...): %v", err)
			}
			if string(want) != got {
				t.Errorf("summary mismatch for %s\n--- want\n%s\n--- got\n%s", name, want, got)
			}
			wantGraph, err := os.ReadFile(graphPath)
			if err != nil {
				t.Fatalf("missing golden graph: %v", err)
			}
			if !bytes.Equal(wantGraph, graph) {
				t.Errorf("graph mismatch for %s (run GOLDEN_UPDATE=1 and review the diff)", name)
			}
		})
	}
}

// TestDeterministic runs every scenario twice and compares all output.
func TestDeterministic(t *testing.T) {
	for _, path := range goldenCases(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var outs []string
		for i := 0; i < 2; i++ {
			doc, err := ParseXML(append([]byte(nil), data...))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ComputeDoc(doc, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, render(res)+string(res.Graph.XML())+strings.Join(res.CurrentStatus, "\n")+strings.Join(res.RevisedStatus, "\n"))
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: output differs between runs", path)
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
