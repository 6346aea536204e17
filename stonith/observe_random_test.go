package stonith

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestRandomHistoryExchange: several nodes' Fencers end operations and
// exchange the entries as stonithd does (a broadcast that may be lost,
// duplicated or reordered per receiver), then sync histories as at a
// join. Invariants: no entry twice anywhere, every history in completion
// order, and after the sync every node holds the same entries. A failure
// prints the seed; -stonith.seed=N replays it.
func TestRandomHistoryExchange(t *testing.T) {
	seeds := []uint64{}
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for s := uint64(1); s <= 300; s++ {
			seeds = append(seeds, s)
		}
	}
	for _, seed := range seeds {
		if err := historyExchange(seed); err != nil {
			t.Fatalf("seed %d: %v (replay with -stonith.seed=%d)", seed, err, seed)
		}
	}
}

func historyExchange(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	names := []string{"n1", "n2", "n3", "n4"}
	topo, err := ParseCIB([]byte(`<cib><configuration><resources><primitive id="d" class="stonith" type="fence_x">
<instance_attributes id="i"><nvpair id="a" name="pcmk_host_check" value="none"/></instance_attributes></primitive></resources></configuration></cib>`))
	if err != nil {
		return err
	}
	fs := map[string]*Fencer{}
	for i, n := range names {
		cfg := DefaultConfig()
		cfg.Node = n
		cfg.MaxHistory = 1000
		cfg.FirstID = uint64(i+1) << 40
		f, err := NewFencer(cfg, nil)
		if err != nil {
			return err
		}
		f.SetTopology(topo)
		fs[n] = f
	}
	type msg struct {
		to string
		e  Entry
	}
	var inflight []msg
	now := t0
	check := func() error {
		for _, n := range names {
			h := fs[n].History("")
			seen := map[uint64]bool{}
			for i, e := range h {
				if seen[e.ID] {
					return fmt.Errorf("%s: entry %d twice", n, e.ID)
				}
				seen[e.ID] = true
				if i > 0 && e.Completed.Before(h[i-1].Completed) {
					return fmt.Errorf("%s: history out of completion order at %d", n, e.ID)
				}
			}
		}
		return nil
	}
	for step := 0; step < 60; step++ {
		now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		switch r := rng.IntN(10); {
		case r < 4: // a node fences another; the agent answers at once
			n := names[rng.IntN(len(names))]
			f := fs[n]
			target := names[rng.IntN(len(names))]
			if _, err := f.Request(now, Request{Target: target, Action: ActionReboot, Client: "crmd", Delay: -1}); err != nil {
				return err
			}
			for range 5 {
				rd := f.Ready()
				for _, c := range rd.Commands {
					f.Complete(now, Result{Command: c.ID, RC: rng.IntN(2)})
				}
				for _, c := range rd.Completions {
					for _, to := range names {
						if to == n || rng.IntN(4) == 0 {
							continue // ours, or lost
						}
						inflight = append(inflight, msg{to, c.Entry})
						if rng.IntN(5) == 0 {
							inflight = append(inflight, msg{to, c.Entry}) // duplicated
						}
					}
				}
			}
		case r < 8 && len(inflight) > 0: // deliver one, in any order
			i := rng.IntN(len(inflight))
			m := inflight[i]
			inflight = slices.Delete(inflight, i, i+1)
			fs[m.to].Observe(m.e)
		default: // a confirm
			n := names[rng.IntN(len(names))]
			fs[n].Confirm(now, names[rng.IntN(len(names))], n)
			for _, c := range fs[n].Ready().Completions {
				inflight = append(inflight, msg{names[rng.IntN(len(names))], c.Entry})
			}
		}
		if err := check(); err != nil {
			return err
		}
	}
	// History sync: every node sends its history to every other, in a
	// random order.
	var sync []msg
	for _, from := range names {
		for _, to := range names {
			if from != to {
				for _, e := range fs[from].History("") {
					if e.State != StatePending {
						sync = append(sync, msg{to, e})
					}
				}
			}
		}
	}
	rng.Shuffle(len(sync), func(i, j int) { sync[i], sync[j] = sync[j], sync[i] })
	for _, m := range sync {
		fs[m.to].Observe(m.e)
	}
	if err := check(); err != nil {
		return err
	}
	ids := func(n string) []uint64 {
		var out []uint64
		for _, e := range fs[n].History("") {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, n := range names[1:] {
		if !slices.Equal(ids(n), ids(names[0])) {
			return fmt.Errorf("after the sync %s has %v, %s has %v", n, ids(n), names[0], ids(names[0]))
		}
	}
	return nil
}
