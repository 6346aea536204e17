package cts

import "math/rand/v2"

// Step is one entry of a schedule: the test to run and the seed of its own
// choices (which node, which daemon, how long).
type Step struct {
	// N counts from 1.
	N int
	// Test is the test's name.
	Test string
	// Seed seeds the step's random choices.
	Seed uint64
}

// NewSchedule returns the schedule of a run: iterations steps drawn from
// tests (all tests when empty) in shuffled rounds, so that every test runs
// once in each round of len(tests) steps. It is a pure function of its
// arguments: the same seed gives the same schedule.
func NewSchedule(seed int64, iterations int, tests []string) []Step {
	if len(tests) == 0 {
		tests = TestNames()
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5157_0c75))
	var out []Step
	for len(out) < iterations {
		round := append([]string(nil), tests...)
		r.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		for _, t := range round {
			if len(out) == iterations {
				break
			}
			out = append(out, Step{N: len(out) + 1, Test: t, Seed: r.Uint64()})
		}
	}
	return out
}
