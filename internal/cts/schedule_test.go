package cts

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScheduleReplays(t *testing.T) {
	for _, seed := range []int64{0, 1, 42, -7, 1 << 40} {
		a := NewSchedule(seed, 50, nil)
		b := NewSchedule(seed, 50, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two schedules differ", seed)
		}
		if len(a) != 50 {
			t.Fatalf("seed %d: %d steps, want 50", seed, len(a))
		}
		for k, s := range a {
			if s.N != k+1 {
				t.Fatalf("seed %d: step %d numbered %d", seed, k+1, s.N)
			}
		}
	}
	if reflect.DeepEqual(NewSchedule(1, 20, nil), NewSchedule(2, 20, nil)) {
		t.Fatal("seeds 1 and 2 give the same schedule")
	}
}

// A prefix of a longer run is the shorter run: --iterations M replays the
// first M steps of any longer run with the same seed.
func TestSchedulePrefix(t *testing.T) {
	long := NewSchedule(9, 60, nil)
	short := NewSchedule(9, 23, nil)
	if !reflect.DeepEqual(long[:23], short) {
		t.Fatal("the first 23 steps of a 60-step schedule differ from a 23-step schedule")
	}
}

func TestScheduleRounds(t *testing.T) {
	tests := []struct {
		name  string
		only  []string
		iters int
	}{
		{"all tests", nil, 3 * len(TestNames())},
		{"two tests", []string{"SplitBrain", "LinkFlap"}, 10},
		{"one test", []string{"Standby"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names := tc.only
			if names == nil {
				names = TestNames()
			}
			s := NewSchedule(5, tc.iters, tc.only)
			for r := 0; r+len(names) <= len(s); r += len(names) {
				var got []string
				for _, st := range s[r : r+len(names)] {
					got = append(got, st.Test)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(names))
				if !slices.Equal(got, want) {
					t.Fatalf("round at %d runs %v, want each of %v once", r, got, want)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.BinDir, ok.Dir = "/bin", "/tmp/x"
	tests := []struct {
		name string
		mod  func(*Config)
		err  string
	}{
		{"defaults", func(*Config) {}, ""},
		{"two nodes", func(c *Config) { c.Nodes = 2 }, "2 nodes"},
		{"no iterations", func(c *Config) { c.Iterations = 0 }, "0 iterations"},
		{"no bin dir", func(c *Config) { c.BinDir = "" }, "BinDir"},
		{"unknown test", func(c *Config) { c.Tests = []string{"Nope"} }, `unknown test "Nope"`},
		{"unknown kind", func(c *Config) { c.Tolerate = []string{"nope"} }, `unknown violation kind "nope"`},
		{"known kind", func(c *Config) { c.Tolerate = []string{"left-active"} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestReportTable(t *testing.T) {
	r := &Report{Seed: 7, Nodes: 3, Iterations: 4, Duration: 40 * time.Second, Samples: 800, Results: []Result{
		{Step: Step{N: 1, Test: "Standby"}, Duration: 4 * time.Second},
		{Step: Step{N: 2, Test: "Standby"}, Duration: 6 * time.Second, Violations: []string{"[standby] x"}},
		{Step: Step{N: 3, Test: "NodeKill"}, Skipped: true},
		{Step: Step{N: 4, Test: "LinkFlap"}, Duration: 10 * time.Second, Known: []string{"[outside-quorum] y"}},
	}}
	var b strings.Builder
	r.WriteTable(&b)
	out := b.String()
	for _, want := range []string{
		"test              runs  passed  failed  skipped  mean time\n",
		"Standby              2       1       1        0       5.0s\n",
		"NodeKill             1       0       0        1          -\n",
		"LinkFlap             1       1       0        0      10.0s\n",
		"total                4       2       1        1           \n",
		"known defect (tolerated): outside-quorum x1",
		"FAILED: replay with: systole cts --seed 7 --iterations 4 --nodes 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !r.Failed() {
		t.Error("a report with a violation did not fail")
	}
	r.Results[1].Violations = nil
	if r.Failed() {
		t.Error("a report with only known defects and skips failed")
	}
}
