package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/systole/systole/cib"
)

// BenchmarkReplicaWrites measures sequential creates sent to a replica's
// crmd over the CIB gRPC API (what cibadmin does, without the process
// start): each is forwarded to the DC, applied, persisted with fsync on
// all three nodes, acknowledged and answered. It reports writes per second
// and the median and 99th percentile latency.
//
//	go test -run '^$' -bench ReplicaWrites -benchtime 300x ./crm/e2e/
func BenchmarkReplicaWrites(b *testing.B) {
	ms := startCluster(b, 3)
	dc := waitDC(b, ms, 30*time.Second)
	var replica *member
	for _, m := range ms {
		if m.name != dc {
			replica = m
			break
		}
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		x := fmt.Sprintf(`<primitive id="b%d" class="ocf" provider="heartbeat" type="Dummy"/>`, i)
		t0 := time.Now()
		if _, err := replica.cib.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(x)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "writes/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
