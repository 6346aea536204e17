package pengine

import (
	"os"
	"testing"

	"github.com/systole/systole/cib"
)

// BenchmarkComputeBig runs the whole crm_simulate -R pipeline (read,
// validate, compute) over the CIB named by PENGINE_BENCH_CIB, e.g. one
// made by ../shared/bin/gen_big_cib.py. It is skipped when unset.
func BenchmarkComputeBig(b *testing.B) {
	path := os.Getenv("PENGINE_BENCH_CIB")
	if path == "" {
		b.Skip("PENGINE_BENCH_CIB not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		in, err := ParseInput(data)
		if err != nil {
			b.Fatal(err)
		}
		c, err := cib.FromDocument(in.Doc)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Validate()
		if _, err := ComputeInput(in, DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
