package stonith

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("stonith.seed", 0, "replay one random schedule")

// TestRandomSchedules runs seeded random schedules of requests, agent
// results (in any order, some never), confirmations and clock jumps, and
// checks the invariants after every step. A failure prints the seed;
// -stonith.seed=N replays it.
func TestRandomSchedules(t *testing.T) {
	seeds := []uint64{}
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for s := uint64(1); s <= 2000; s++ {
			seeds = append(seeds, s)
		}
	}
	total := map[State]int{}
	for _, seed := range seeds {
		if err := randomSchedule(t, seed, total); err != nil {
			t.Fatalf("seed %d: %v (replay with -stonith.seed=%d)", seed, err, seed)
		}
	}
	t.Logf("operations: %d done, %d failed", total[StateDone], total[StateFailed])
	fmt.Printf("sim: stonith schedules=%d violations=0\n", len(seeds)) // a violation stops the test before this line
	if *seedFlag == 0 && (total[StateDone] < 100 || total[StateFailed] < 100) {
		t.Errorf("the schedules exercise too little: %v", total)
	}
}

func randomSchedule(t *testing.T, seed uint64, total map[State]int) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	f := newFencer(t, seed)
	targets := []string{"n1", "n2", "n3", "n4", "n5"}
	acts := []Action{ActionOff, ActionOn, ActionReboot}
	now := t0
	inflight := map[uint64]Command{}
	requested := map[uint64]bool{}
	completed := map[uint64]bool{}
	check := func() error {
		rd := f.Ready()
		for _, c := range rd.Commands {
			if _, dup := inflight[c.ID]; dup {
				return fmt.Errorf("command id %d issued twice", c.ID)
			}
			inflight[c.ID] = c
		}
		for _, c := range rd.Completions {
			if completed[c.ID] {
				return fmt.Errorf("operation %d completed twice", c.ID)
			}
			if !requested[c.ID] {
				return fmt.Errorf("operation %d completed, never requested", c.ID)
			}
			if c.State == StatePending || c.Completed.IsZero() || c.Delegate == "" {
				return fmt.Errorf("bad completion %+v", c.Entry)
			}
			if c.State == StateDone && c.Reason == "" && len(c.Devices) == 0 {
				return fmt.Errorf("done without devices %+v", c.Entry)
			}
			completed[c.ID] = true
			total[c.State]++
		}
		// At most one fencing command per active operation, one active
		// operation per target.
		perTarget := map[string]uint64{}
		for _, e := range f.Pending() {
			if e.State != StatePending || completed[e.ID] {
				return fmt.Errorf("pending list has %+v", e)
			}
		}
		for _, id := range f.activeOps() {
			o := f.ops[id]
			if other, dup := perTarget[o.e.Target]; dup {
				return fmt.Errorf("target %s has active operations %d and %d", o.e.Target, other, id)
			}
			perTarget[o.e.Target] = id
		}
		running := map[uint64]int{}
		for id := range f.cmds {
			if c := f.cmds[id]; c.Kind == KindFence {
				running[c.Op]++
				if running[c.Op] > 1 {
					return fmt.Errorf("operation %d runs two agents", c.Op)
				}
			}
		}
		return nil
	}
	for step := 0; step < 200; step++ {
		switch k := rng.IntN(10); {
		case k < 3:
			r := Request{Target: targets[rng.IntN(len(targets))], Action: acts[rng.IntN(len(acts))], Client: "c",
				Timeout: time.Duration(1+rng.IntN(120)) * time.Second}
			if rng.IntN(4) == 0 {
				r.Delay = -1
			}
			id, err := f.Request(now, r)
			if err != nil {
				return err
			}
			requested[id] = true
		case k < 8 && len(inflight) > 0:
			var ids []uint64
			for id := range inflight {
				ids = append(ids, id)
			}
			// deterministic pick
			min := ids[0]
			for _, id := range ids {
				if id < min {
					min = id
				}
			}
			pick := min
			if rng.IntN(2) == 0 {
				pick = ids[0]
				for _, id := range ids {
					if id > pick {
						pick = id
					}
				}
			}
			c := inflight[pick]
			delete(inflight, pick)
			if rng.IntN(8) == 0 {
				break // this agent never answers
			}
			res := Result{Command: c.ID, RC: []int{0, 0, 1, 2}[rng.IntN(4)], Output: "n1\nn4\n"}
			if rng.IntN(10) == 0 {
				res.Error = "timed out"
			}
			f.Complete(now, res)
		case k < 9:
			now = now.Add(time.Duration(rng.IntN(20000)) * time.Millisecond)
			f.Tick(now)
		default:
			f.Confirm(now, targets[rng.IntN(len(targets))], "admin")
		}
		if err := check(); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
	}
	// Drain: answer everything with success, let every timeout pass.
	for i := 0; i < 1000 && len(f.Pending()) > 0; i++ {
		for id, c := range inflight {
			delete(inflight, id)
			f.Complete(now, Result{Command: c.ID})
		}
		if next := f.NextDeadline(); !next.IsZero() && next.After(now) {
			now = next
		}
		f.Tick(now)
		if err := check(); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
	}
	if p := f.Pending(); len(p) > 0 {
		return fmt.Errorf("never ended: %+v", p)
	}
	for id := range requested {
		if !completed[id] {
			return fmt.Errorf("operation %d never completed", id)
		}
	}
	return nil
}
