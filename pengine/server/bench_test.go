package server

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/systole/systole/pengine"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
)

func benchCIB(b *testing.B) []byte {
	p := os.Getenv("PENGINE_BENCH_CIB")
	if p == "" {
		b.Skip("PENGINE_BENCH_CIB not set (make bench-tengine generates a 16x100 CIB)")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkComputeDaemon: one Compute call through the daemon over a real
// unix socket (the DC's path), CIB in PENGINE_BENCH_CIB.
func BenchmarkComputeDaemon(b *testing.B) {
	data := benchCIB(b)
	c := serve(b, fixedClock())
	b.SetBytes(int64(len(data)))
	var us int64
	for b.Loop() {
		resp, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data, NowUnix: 1700000000, TransitionId: 1})
		if err != nil {
			b.Fatal(err)
		}
		us += resp.ComputeUs
	}
	b.ReportMetric(float64(us)/float64(b.N)/1000, "compute-ms")
}

// BenchmarkComputeInProcess: the same computation without the daemon.
func BenchmarkComputeInProcess(b *testing.B) {
	data := benchCIB(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		in, err := pengine.ParseInput(bytes.Clone(data))
		if err != nil {
			b.Fatal(err)
		}
		res, err := pengine.ComputeInput(in, pengine.Config{Now: 1700000000, TransitionID: 1})
		if err != nil {
			b.Fatal(err)
		}
		_ = res.Graph.XML()
	}
}
