package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/systole/systole/cib"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// BenchmarkApply measures one small create through gRPC (bufconn), with
// the in-memory store and with the bbolt store (fsync per write).
func BenchmarkApply(b *testing.B) {
	for _, store := range []string{"mem", "bolt-fsync"} {
		b.Run(store, func(b *testing.B) {
			var st cib.Store = cib.NewMemStore(10)
			if store == "bolt-fsync" {
				bs, err := cib.OpenStore(filepath.Join(b.TempDir(), "cib.db"), cib.StoreOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer bs.Close()
				st = bs
			}
			s, err := New(st, Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := startServerB(b, s)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, err := c.Apply(ctx, &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_CREATE,
					Xml: []byte(fmt.Sprintf(`<primitive id="p%d" class="ocf" provider="systole" type="Dummy"/>`, i))})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyParallel measures small creates from many concurrent
// clients with fsync per group commit.
func BenchmarkApplyParallel(b *testing.B) {
	bs, err := cib.OpenStore(filepath.Join(b.TempDir(), "cib.db"), cib.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	s, err := New(bs, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := startServerB(b, s)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := c.Apply(context.Background(), &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_CREATE,
				Xml: []byte(fmt.Sprintf(`<primitive id="p%d" class="ocf" provider="systole" type="Dummy"/>`, i))})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
