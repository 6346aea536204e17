package sim

import (
	"fmt"
	"testing"
)

// BenchmarkFailover reports the virtual time from a node crash to a new view on every
// survivor (deadtime 1s, keepalive 200ms) as view_ms p50/p95 for 3, 16 and 64 nodes.
func BenchmarkFailover(b *testing.B) {
	for _, n := range []int{3, 16, 64} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			runs := 20
			if n == 64 {
				runs = 5
			}
			for b.Loop() {
				times, err := FailoverTimes(n, runs, int64(n))
				if err != nil {
					b.Fatal(err)
				}
				p50, p95 := Percentile(times, 50), Percentile(times, 95)
				b.ReportMetric(float64(p50.Milliseconds()), "view_ms_p50")
				b.ReportMetric(float64(p95.Milliseconds()), "view_ms_p95")
				b.Logf("view_ms nodes=%d p50=%d p95=%d n=%d (virtual time)", n, p50.Milliseconds(), p95.Milliseconds(), len(times))
			}
		})
	}
}

func TestFailoverTimes(t *testing.T) {
	times, err := FailoverTimes(5, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 10 || Percentile(times, 100) != times[9] {
		t.Fatalf("times: %v", times)
	}
}
