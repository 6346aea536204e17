package cts

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// TestStats are one test's figures in a report.
type TestStats struct {
	Test                          string
	Runs, Passed, Failed, Skipped int
	// Mean is the mean duration of the runs that were not skipped.
	Mean time.Duration
}

// Stats returns the figures per test, in the suite's order.
func (r *Report) Stats() []TestStats {
	var out []TestStats
	for _, name := range TestNames() {
		s := TestStats{Test: name}
		var total time.Duration
		for _, res := range r.Results {
			if res.Step.Test != name {
				continue
			}
			s.Runs++
			switch {
			case res.Skipped:
				s.Skipped++
				continue
			case res.Passed():
				s.Passed++
			default:
				s.Failed++
			}
			total += res.Duration
		}
		if n := s.Passed + s.Failed; n > 0 {
			s.Mean = total / time.Duration(n)
		}
		if s.Runs > 0 {
			out = append(out, s)
		}
	}
	return out
}

// WriteTable writes the final table and the verdict.
func (r *Report) WriteTable(w io.Writer) {
	const row = "%-16s %5v %7v %7v %8v %10v\n"
	fmt.Fprintf(w, row, "test", "runs", "passed", "failed", "skipped", "mean time")
	var runs, passed, failed, skipped int
	for _, s := range r.Stats() {
		mean := "-"
		if s.Mean > 0 {
			mean = fmt.Sprintf("%.1fs", s.Mean.Seconds())
		}
		fmt.Fprintf(w, row, s.Test, s.Runs, s.Passed, s.Failed, s.Skipped, mean)
		runs, passed, failed, skipped = runs+s.Runs, passed+s.Passed, failed+s.Failed, skipped+s.Skipped
	}
	fmt.Fprintf(w, row, "total", runs, passed, failed, skipped, "")
	for _, s := range r.Setup {
		fmt.Fprintf(w, "setup/final: %s\n", s)
	}
	known := map[string]int{}
	for _, res := range r.Results {
		for _, k := range res.Known {
			kind, _, _ := strings.Cut(strings.TrimPrefix(k, "["), "]")
			known[kind]++
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(known)) {
		fmt.Fprintf(w, "known defect (tolerated): %s x%d: %s\n", kind, known[kind], Kinds[kind])
	}
	fmt.Fprintf(w, "sampler: %d samples, %d tolerated double activities (splits without fencing)\n", r.Samples, len(r.Tolerated))
	per := time.Duration(0)
	if n := len(r.Results); n > 0 {
		per = r.Duration / time.Duration(n)
	}
	fmt.Fprintf(w, "duration %v (%.1fs per iteration)\n", r.Duration.Round(time.Second), per.Seconds())
	if r.Failed() {
		fmt.Fprintf(w, "FAILED: replay with: %s\n", r.Replay())
	} else {
		fmt.Fprintf(w, "PASSED (seed %d)\n", r.Seed)
	}
}
