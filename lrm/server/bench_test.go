package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
)

// noopRoot makes an OCF root with provider bench holding a shell agent
// that does nothing and exits 0.
func noopRoot(b *testing.B) *executor.Process {
	b.Helper()
	root := b.TempDir()
	dir := filepath.Join(root, "resource.d", "bench")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "Noop"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	cfg := executor.DefaultConfig()
	cfg.OCFRoot = root
	cfg.StateFile = filepath.Join(root, "pgids")
	p, err := executor.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func runServer(b *testing.B, ex lrm.Executor, cfg lrm.Config) (*Server, func()) {
	srv, err := New(cfg, ex, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	return srv, func() { cancel(); <-done }
}

// BenchmarkActionsPerSecond: one-shot actions of a no-op shell agent over
// 50 resources, fork/exec included, at the default parallelism.
func BenchmarkActionsPerSecond(b *testing.B) {
	b.Run("exec=fork", func(b *testing.B) { benchActions(b, noopRoot(b), 2000) })
	// The daemon's own cost: the same pipeline with an executor that runs
	// nothing.
	b.Run("exec=fake", func(b *testing.B) { benchActions(b, executor.NewFake(), 20000) })
}

func benchActions(b *testing.B, ex lrm.Executor, actions int) {
	srv, stop := runServer(b, ex, lrm.DefaultConfig())
	defer stop()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		results, unsub, err := srv.Subscribe(ctx, false, actions+10)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := range actions {
			rsc := lrm.Resource{ID: fmt.Sprintf("r%d", i%50), Class: "ocf", Provider: "bench", Type: "Noop"}
			if _, _, err := srv.Exec(ctx, lrm.Request{Rsc: rsc, Action: "start"}, false); err != nil {
				b.Fatal(err)
			}
		}
		for range actions {
			r := <-results
			if r.RC != 0 {
				b.Fatalf("rc %d: %s", r.RC, r.ExitReason)
			}
		}
		el := time.Since(start)
		unsub()
		b.ReportMetric(float64(actions)/el.Seconds(), "actions/s")
	}
}

// latencyExec records how late each recurring run starts.
type latencyExec struct {
	lrm.Executor
	mu   sync.Mutex
	late []time.Duration
}

func (l *latencyExec) Exec(ctx context.Context, cmd lrm.Command) lrm.ExecResult {
	if cmd.Interval > 0 {
		d := time.Since(cmd.Queued)
		l.mu.Lock()
		l.late = append(l.late, d)
		l.mu.Unlock()
	}
	return l.Executor.Exec(ctx, cmd)
}

// BenchmarkMonitorLateness: 100 recurring monitors at a 1 s interval,
// each a fork/exec of a no-op agent, for 10 s; reports how late runs
// start against their due time (p50, p99, max).
func BenchmarkMonitorLateness(b *testing.B) {
	fork := func() lrm.Executor { return noopRoot(b) }
	b.Run("exec=fork/parallel=4", func(b *testing.B) { benchLateness(b, fork, 4) })
	// With more slots the burst of 100 monitors falling due together
	// drains faster.
	b.Run("exec=fork/parallel=16", func(b *testing.B) { benchLateness(b, fork, 16) })
	// Timer and loop precision alone.
	b.Run("exec=fake/parallel=4", func(b *testing.B) {
		benchLateness(b, func() lrm.Executor { return executor.NewFake() }, 4)
	})
}

func benchLateness(b *testing.B, newExec func() lrm.Executor, parallel int) {
	const monitors = 100
	run := 10 * time.Second
	for range b.N {
		lx := &latencyExec{Executor: newExec()}
		cfg := lrm.DefaultConfig()
		cfg.MaxParallel = parallel
		srv, stop := runServer(b, lx, cfg)
		ctx := context.Background()
		for i := range monitors {
			rsc := lrm.Resource{ID: fmt.Sprintf("m%d", i), Class: "ocf", Provider: "bench", Type: "Noop"}
			if _, _, err := srv.Exec(ctx, lrm.Request{Rsc: rsc, Action: "monitor", Interval: time.Second}, false); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(run)
		stop()
		lx.mu.Lock()
		late := append([]time.Duration(nil), lx.late...)
		lx.mu.Unlock()
		// The first run of each monitor is queued at submission, not due on
		// an interval; keep only the interval runs.
		late = late[monitors:]
		sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
		if len(late) == 0 {
			b.Fatal("no recurring runs")
		}
		pct := func(p float64) float64 {
			return float64(late[int(p*float64(len(late)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(len(late)), "runs")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(pct(1.0), "max-ms")
	}
}
