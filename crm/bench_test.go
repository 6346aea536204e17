package crm

import (
	"testing"
	"time"
)

// BenchmarkReplicatedWrite measures the core's CPU cost of one write
// forwarded from a replica to the DC, applied, persisted (MemStore),
// replicated to two replicas, acknowledged and answered: the simulated
// network has 1 ms delays and no loss, so this is CPU, not latency.
func BenchmarkReplicatedWrite(b *testing.B) {
	s := newSim(b, 1, 3, NoQuorumStop)
	s.reorder = false
	s.step(time.Second)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.write("node2")
		for len(s.writes["node2"]) > 0 {
			s.step(time.Millisecond)
		}
	}
	b.StopTimer()
	if len(s.acked) != b.N {
		b.Fatalf("acked %d of %d", len(s.acked), b.N)
	}
}
