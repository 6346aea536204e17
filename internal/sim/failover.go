package sim

import (
	"fmt"
	"math/rand"
	"slices"
	"time"
)

// FailoverTimes measures, in virtual time, how long after a node crashes every survivor has
// installed a view without it: runs clusters of the given size, each converged first, then
// crashes one seeded-random node. The times depend on Options (deadtime 1s by default).
func FailoverTimes(nodes, runs int, seed int64) ([]time.Duration, error) {
	r := rand.New(rand.NewSource(seed))
	var out []time.Duration
	for range runs {
		c, err := New(DefaultOptions(nodes, r.Int63()))
		if err != nil {
			return nil, err
		}
		c.SetQuiet(true)
		if _, ok := c.Converge(); !ok {
			return nil, fmt.Errorf("sim: %d nodes did not converge: %v", nodes, c.Violations)
		}
		c.RunFor(time.Duration(r.Int63n(int64(time.Second))))
		victim := r.Intn(nodes)
		name := c.names[victim]
		c.Crash(victim)
		start := c.now
		done := func() bool {
			for i, nd := range c.nodes {
				if i != victim && (nd.view.Number == 0 || slices.Contains(nd.view.Members, name)) {
					return false
				}
			}
			return true
		}
		if !c.RunUntil(c.now.Add(c.ConvergeBound()), done) {
			return nil, fmt.Errorf("sim: survivors of %s did not install a new view", name)
		}
		if len(c.Violations) > 0 {
			return nil, fmt.Errorf("sim: violations: %v", c.Violations)
		}
		out = append(out, c.now.Sub(start))
	}
	slices.Sort(out)
	return out, nil
}

// Percentile returns the p-th percentile (0-100) of sorted durations.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}
