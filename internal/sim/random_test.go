package sim

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	simSeed      = flag.Int64("sim.seed", 0, "replay only the random schedule with this seed")
	simSchedules = flag.Int("sim.schedules", 4000, "number of random fault schedules")
)

// TestRandomSchedules runs thousands of seeded random fault schedules on 3 to 16 nodes and
// checks every invariant; a failure prints the seed, and -sim.seed=N replays it exactly.
func TestRandomSchedules(t *testing.T) {
	if *simSeed != 0 {
		res := runCommands(*simSeed, RandomSchedule(*simSeed), true)
		t.Logf("seed %d: %d nodes, %v virtual, %d events, converged in %v\ntrace:\n%s",
			res.Seed, res.Nodes, res.Virtual, res.Events, res.Converge, strings.Join(res.Trace, "\n"))
		summary("membership", 1, len(res.Violations))
		if len(res.Violations) > 0 {
			t.Fatalf("seed %d violations:\n%s", res.Seed, strings.Join(res.Violations, "\n"))
		}
		return
	}
	count := *simSchedules
	if testing.Short() {
		count = 200
	}
	// Each simulation keeps a small live heap and allocates fast: collect less often.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	start := time.Now()
	seeds := make(chan int64)
	var mu sync.Mutex
	var failed []ScheduleResult
	var maxConverge time.Duration
	var events uint64
	var steady int
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
				steady += res.Steady
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
	t.Logf("%d random schedules (3-16 nodes): %d failed, %v virtual time, %d events, %d steady-state checks, slowest convergence after heal %v, in %.1fs",
		count, len(failed), virtual.Round(time.Second), events, steady, maxConverge, time.Since(start).Seconds())
	summary("membership", count, len(failed))
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
	count := 2000
	if testing.Short() {
		count = 300
	}
	if *simSeed != 0 {
		count = 0
		res := runCommands(*simSeed, RandomTwoNodeSchedule(*simSeed), true)
		summary("membership-twonode", 1, len(res.Violations))
		if len(res.Violations) > 0 {
			t.Fatalf("seed %d violations:\n%s\ntrace:\n%s", *simSeed, strings.Join(res.Violations, "\n"), strings.Join(res.Trace, "\n"))
		}
	}
	failed := 0
	for s := int64(1); s <= int64(count); s++ {
		res := runCommands(s, RandomTwoNodeSchedule(s), false)
		if len(res.Violations) > 0 {
			failed++
			if failed <= 3 {
				t.Errorf("two-node seed %d (replay: -run TestRandomTwoNodeSchedules -sim.seed=%d):\n%s\ncommands:\n%s",
					s, s, strings.Join(res.Violations, "\n"), strings.Join(res.Commands, "\n"))
			}
		}
	}
	t.Logf("%d random two-node schedules: %d failed", count, failed)
	if count > 0 {
		summary("membership-twonode", count, failed)
	}
}

// TestRandomSchedulesMessaging runs random fault schedules with the real messaging core
// (messaging.Node: HMAC, generations, reliable ordered delivery with NACK/retransmit) as the
// link under membership, instead of the simulator's heartbeat link.
func TestRandomSchedulesMessaging(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	count := 100
	if testing.Short() {
		count = 10
	}
	seeds := []int64{}
	if *simSeed != 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for s := int64(1); s <= int64(count); s++ {
			seeds = append(seeds, s)
		}
	}
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := 0
	work := make(chan int64)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				cmds := RandomSchedule(s)
				cmds[0] += " link=messaging"
				res := runCommands(s, cmds, *simSeed != 0)
				if len(res.Violations) == 0 {
					continue
				}
				mu.Lock()
				failed++
				if failed <= 3 {
					t.Errorf("messaging seed %d (replay: -run TestRandomSchedulesMessaging -sim.seed=%d):\n%s\ntrace:\n%s",
						s, s, strings.Join(res.Violations, "\n"), strings.Join(append(res.Trace, res.Commands...), "\n"))
				}
				mu.Unlock()
			}
		}()
	}
	for _, s := range seeds {
		work <- s
	}
	close(work)
	wg.Wait()
	t.Logf("%d random schedules over the messaging core: %d failed, in %.1fs", len(seeds), failed, time.Since(start).Seconds())
	summary("membership-messaging", len(seeds), failed)
}

// summary prints the line every simulator prints once per run, on stdout so that it shows
// in `go test -v` output: `sim: <layer> schedules=N violations=V`. The schedules of all
// layers add up from CI output with
//
//	go test -count=1 -v ./... | awk '/^sim: /{split($3,a,"="); n+=a[2]} END{print n}'
func summary(layer string, schedules, violations int) {
	fmt.Printf("sim: %s schedules=%d violations=%d\n", layer, schedules, violations)
}
