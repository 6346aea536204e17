package lrm

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("lrm.seed", 0, "replay one random schedule of TestRandomSchedules")

// TestRandomSchedules drives the Manager with seeded random submissions,
// cancels, completions (in any order across resources) and ticks, and
// checks its invariants after every step. A failure prints the seed;
// -lrm.seed=N replays it.
func TestRandomSchedules(t *testing.T) {
	seeds := 2000
	if testing.Short() {
		seeds = 30
	}
	for i := range seeds {
		seed := uint64(i + 1)
		if *seedFlag != 0 {
			seed = *seedFlag
		}
		if err := runSchedule(seed); err != nil {
			t.Fatalf("seed %d: %v (replay with -lrm.seed=%d)", seed, err, seed)
		}
		if *seedFlag != 0 {
			seeds = 1
			break
		}
	}
	fmt.Printf("sim: lrm schedules=%d violations=0\n", seeds) // a violation stops the test before this line
}

func runSchedule(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg := DefaultConfig()
	cfg.MaxParallel = 1 + rng.IntN(4)
	m := New(cfg, nil)
	now := t0
	running := map[int64]Command{} // handed out, not completed
	oneShot := map[int64]bool{}    // submitted one-shot ops awaiting their result
	var lastCall int64
	rscs := []string{"a", "b", "c", "d"}
	actions := []string{"start", "stop", "monitor", "promote", "demote"}
	check := func(step int) error {
		rd := m.Ready()
		for _, c := range rd.Exec {
			if _, dup := running[c.CallID]; dup {
				return fmt.Errorf("step %d: call %d handed out twice", step, c.CallID)
			}
			running[c.CallID] = c
		}
		per := map[string]int{}
		for _, c := range running {
			per[c.Rsc.ID]++
			if per[c.Rsc.ID] > 1 {
				return fmt.Errorf("step %d: two ops of %s running", step, c.Rsc.ID)
			}
		}
		if len(running) > cfg.MaxParallel || m.Running() != len(running) {
			return fmt.Errorf("step %d: %d running (core says %d), limit %d", step, len(running), m.Running(), cfg.MaxParallel)
		}
		for _, r := range rd.Results {
			if r.Interval == 0 {
				if !oneShot[r.CallID] {
					return fmt.Errorf("step %d: unexpected or duplicate result for call %d", step, r.CallID)
				}
				delete(oneShot, r.CallID)
			}
			if !r.Started.IsZero() && (r.Started.Before(r.Queued) || r.Finished.Before(r.Started)) {
				return fmt.Errorf("step %d: times out of order %+v", step, r)
			}
		}
		return nil
	}
	for step := range 400 {
		switch k := rng.IntN(10); {
		case k < 4:
			rsc := rscs[rng.IntN(len(rscs))]
			act := actions[rng.IntN(len(actions))]
			var iv time.Duration
			if act == "monitor" && rng.IntN(2) == 0 {
				iv = time.Duration(1+rng.IntN(3)) * time.Second
			}
			id, err := m.Submit(Request{Rsc: dummy(rsc), Action: act, Interval: iv}, now)
			if err != nil {
				return err
			}
			if id <= lastCall {
				return fmt.Errorf("call id %d after %d", id, lastCall)
			}
			lastCall = id
			if iv == 0 {
				oneShot[id] = true
			}
		case k < 7 && len(running) > 0:
			// complete a random running op
			ids := make([]int64, 0, len(running))
			for id := range running {
				ids = append(ids, id)
			}
			sortInt64(ids)
			id := ids[rng.IntN(len(ids))]
			delete(running, id)
			now = now.Add(time.Duration(rng.IntN(500)) * time.Millisecond)
			m.Complete(id, ExecResult{RC: []int{0, 0, 7, 1}[rng.IntN(4)], Status: StatusDone}, now)
		case k < 8:
			rsc := rscs[rng.IntN(len(rscs))]
			_ = m.Cancel(rsc, "monitor", time.Duration(1+rng.IntN(3))*time.Second, now)
		default:
			now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
			m.Tick(now)
		}
		if err := check(step); err != nil {
			return err
		}
	}
	// Drain: complete everything; every one-shot op must get its result.
	for i := 0; len(running) > 0 && i < 10000; i++ {
		for id := range running {
			delete(running, id)
			m.Complete(id, ExecResult{Status: StatusDone}, now)
			break
		}
		if err := check(-1); err != nil {
			return err
		}
		for _, id := range m.Resources() {
			_ = m.Cancel(id, "monitor", time.Second, now)
			_ = m.Cancel(id, "monitor", 2*time.Second, now)
			_ = m.Cancel(id, "monitor", 3*time.Second, now)
		}
		if err := check(-1); err != nil {
			return err
		}
	}
	if len(oneShot) > 0 {
		return fmt.Errorf("one-shot ops never reported: %v", oneShot)
	}
	return nil
}

func sortInt64(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
