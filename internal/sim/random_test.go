package sim

import (
	"flag"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	simSeed      = flag.Int64("sim.seed", 0, "replay only the random schedule with this seed")
	simSchedules = flag.Int("sim.schedules", 2000, "number of random fault schedules")
)

// TestRandomSchedules runs thousands of seeded random fault schedules on 3 to 16 nodes and
// checks every invariant; a failure prints the seed, and -sim.seed=N replays it exactly.
func TestRandomSchedules(t *testing.T) {
	if *simSeed != 0 {
		res := RunSchedule(*simSeed)
		t.Logf("seed %d: %d nodes, %v virtual, %d events, converged in %v\n%s",
			res.Seed, res.Nodes, res.Virtual, res.Events, res.Converge, strings.Join(res.Commands, "\n"))
		if len(res.Violations) > 0 {
			t.Fatalf("seed %d violations:\n%s", res.Seed, strings.Join(res.Violations, "\n"))
		}
		return
	}
	count := *simSchedules
	if testing.Short() {
		count = 200
	}
	start := time.Now()
	seeds := make(chan int64)
	var mu sync.Mutex
	var failed []ScheduleResult
	var maxConverge time.Duration
	var events uint64
	var virtual time.Duration
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range seeds {
				res := RunSchedule(s)
				mu.Lock()
				if len(res.Violations) > 0 {
					failed = append(failed, res)
				}
				maxConverge = max(maxConverge, res.Converge)
				events += res.Events
				virtual += res.Virtual
				mu.Unlock()
			}
		}()
	}
	for i := 1; i <= count; i++ {
		seeds <- int64(i)
	}
	close(seeds)
	wg.Wait()
	t.Logf("%d random schedules (3-16 nodes): %d failed, %v virtual time, %d events, slowest convergence after heal %v, in %.1fs",
		count, len(failed), virtual.Round(time.Second), events, maxConverge, time.Since(start).Seconds())
	for i, res := range failed {
		if i == 5 {
			t.Errorf("... and %d more failed schedules", len(failed)-5)
			break
		}
		t.Errorf("seed %d (replay: go test ./internal/sim -run TestRandomSchedules -sim.seed=%d):\n%s\ncommands:\n%s",
			res.Seed, res.Seed, strings.Join(res.Violations, "\n"), strings.Join(res.Commands, "\n"))
	}
}

// TestRandomTwoNodeSchedules runs random fault schedules on two-node-mode clusters: wait for
// all after every start, quorum with one vote, convergence after heal.
func TestRandomTwoNodeSchedules(t *testing.T) {
	count := 300
	if *simSeed != 0 {
		count = 0
		res := runCommands(*simSeed, RandomTwoNodeSchedule(*simSeed))
		if len(res.Violations) > 0 {
			t.Fatalf("seed %d violations:\n%s\ncommands:\n%s", *simSeed, strings.Join(res.Violations, "\n"), strings.Join(res.Commands, "\n"))
		}
	}
	failed := 0
	for s := int64(1); s <= int64(count); s++ {
		res := runCommands(s, RandomTwoNodeSchedule(s))
		if len(res.Violations) > 0 {
			failed++
			if failed <= 3 {
				t.Errorf("two-node seed %d (replay: -run TestRandomTwoNodeSchedules -sim.seed=%d):\n%s\ncommands:\n%s",
					s, s, strings.Join(res.Violations, "\n"), strings.Join(res.Commands, "\n"))
			}
		}
	}
	t.Logf("%d random two-node schedules: %d failed", count, failed)
}
