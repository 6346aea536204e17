package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScripts runs testdata/*.txt; GOLDEN_UPDATE=1 rewrites the expected outputs.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	update := os.Getenv("GOLDEN_UPDATE") == "1"
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			ds, trailing, err := ParseScript(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var r Runner
			outs := make([]string, len(ds))
			for i, d := range ds {
				out, err := r.Exec(d.Cmd)
				if err != nil {
					out = "error: " + err.Error()
				}
				outs[i] = out
				if !update && out != d.Expected {
					t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", file, d.Line, d.Cmd, out, d.Expected)
				}
			}
			if r.C != nil && len(r.C.Violations) > 0 {
				t.Errorf("%s: invariant violations:\n%s", file, strings.Join(r.C.Violations, "\n"))
			}
			if update {
				var b bytes.Buffer
				FormatScript(&b, ds, outs, trailing)
				if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
