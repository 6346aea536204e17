package sim

import (
	"fmt"
	"math/rand"
	"strings"
	"time"
)

// RandomSchedule returns a random fault schedule as script commands, derived only from
// seed: a cluster of 3 to 16 nodes (a quarter with weighted votes, a quarter with delays up to 200ms), a series of faults (partitions, asymmetric cuts,
// loss, duplication, crashes, restarts, heals) with random pauses, then a final heal,
// restart of every crashed node and "converge".
func RandomSchedule(seed int64) []string {
	return randomSchedule(seed, false)
}

// RandomTwoNodeSchedule is RandomSchedule for a two-node-mode cluster.
func RandomTwoNodeSchedule(seed int64) []string {
	return randomSchedule(seed, true)
}

func randomSchedule(seed int64, twoNode bool) []string {
	r := rand.New(rand.NewSource(seed))
	n := 3 + r.Intn(14)
	if twoNode {
		n = 2
	}
	name := func(i int) string { return NodeName(i, n) }
	cluster := fmt.Sprintf("cluster nodes=%d seed=%d", n, seed)
	if twoNode {
		cluster += " two-node"
	} else if r.Intn(4) == 0 {
		// Weighted votes: quorum is a majority of votes, not of nodes.
		var vs []string
		for i := range n {
			if w := r.Intn(4); w > 1 {
				vs = append(vs, fmt.Sprintf("%s:%d", name(i), w))
			}
		}
		if len(vs) > 0 {
			cluster += " votes=" + strings.Join(vs, ",")
		}
	}
	if r.Intn(4) == 0 {
		// Slow links: delays up to the keepalive reorder packets.
		cluster += fmt.Sprintf(" delay=1ms-%dms", 20+r.Intn(180))
	}
	cmds := []string{cluster}
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	cmds = append(cmds, fmt.Sprintf("run %dms", 500+r.Intn(4000)))
	for range 3 + r.Intn(8) {
		switch k := r.Intn(12); {
		case k >= 10:
			a := r.Intn(n)
			b := (a + 1 + r.Intn(n-1)) % n
			if k == 10 {
				cmds = append(cmds, fmt.Sprintf("drop p=%.2f %s>%s", 0.1+0.8*r.Float64(), name(a), name(b)))
			} else {
				cmds = append(cmds, fmt.Sprintf("uncut %s<>%s", name(a), name(b)))
			}
		case k < 2:
			perm := r.Perm(n)
			groups := 2 + r.Intn(2)
			parts := make([][]string, groups)
			for j, i := range perm {
				g := j % groups
				if j >= groups {
					g = r.Intn(groups)
				}
				parts[g] = append(parts[g], name(i))
			}
			var gs []string
			for _, p := range parts {
				gs = append(gs, strings.Join(p, ","))
			}
			cmds = append(cmds, "partition "+strings.Join(gs, " | "))
		case k < 3:
			cmds = append(cmds, "heal")
		case k < 5:
			a := r.Intn(n)
			b := (a + 1 + r.Intn(n-1)) % n
			sep := ">"
			if r.Intn(3) == 0 {
				sep = "<>"
			}
			cmds = append(cmds, fmt.Sprintf("cut %s%s%s", name(a), sep, name(b)))
		case k < 6:
			cmds = append(cmds, fmt.Sprintf("drop p=%.2f", 0.02+0.2*r.Float64()))
		case k < 7:
			cmds = append(cmds, fmt.Sprintf("dup p=%.2f", 0.3*r.Float64()))
		case k < 9:
			i := r.Intn(n)
			if alive[i] {
				cmds = append(cmds, "crash "+name(i))
			} else {
				cmds = append(cmds, "restart "+name(i))
			}
			alive[i] = !alive[i]
		default:
			i := r.Intn(n)
			if !alive[i] {
				cmds = append(cmds, "restart "+name(i))
				alive[i] = true
			}
		}
		if r.Intn(5) == 0 {
			// Long enough for the steady-state check (ConvergeBound is 15.5s).
			cmds = append(cmds, fmt.Sprintf("run %dms", 17000+r.Intn(3000)))
		} else {
			cmds = append(cmds, fmt.Sprintf("run %dms", 100+r.Intn(6000)))
		}
	}
	cmds = append(cmds, "heal")
	for i, a := range alive {
		if !a {
			cmds = append(cmds, "restart "+name(i))
		}
	}
	cmds = append(cmds, "converge")
	return cmds
}

// ScheduleResult is the outcome of one random schedule.
type ScheduleResult struct {
	Seed       int64
	Nodes      int
	Commands   []string
	Violations []string
	Converge   time.Duration
	Virtual    time.Duration
	Events     uint64
	Steady     int
	// Trace is the full trace, when asked for (replays of one seed).
	Trace []string
}

// RunSchedule runs RandomSchedule(seed) quietly and reports what it found.
func RunSchedule(seed int64) (res ScheduleResult) {
	return runCommands(seed, RandomSchedule(seed), false)
}

// runCommands runs a schedule; with trace, Trace gets every command and its output.
func runCommands(seed int64, cmds []string, trace bool) (res ScheduleResult) {
	res = ScheduleResult{Seed: seed, Commands: cmds}
	var r Runner
	defer func() {
		if p := recover(); p != nil {
			res.Violations = append(res.Violations, fmt.Sprintf("panic: %v", p))
		}
	}()
	for _, cmd := range cmds {
		out, err := r.Exec(cmd)
		if err != nil {
			res.Violations = append(res.Violations, fmt.Sprintf("command %q: %v", cmd, err))
			return res
		}
		if trace {
			res.Trace = append(res.Trace, cmd)
			if out != "" {
				res.Trace = append(res.Trace, out)
			}
		}
		if r.C != nil {
			r.C.SetQuiet(!trace)
		}
		if cmd == "converge" {
			lines := strings.Split(out, "\n")
			if d, ok := strings.CutPrefix(lines[len(lines)-1], "converged in "); ok {
				res.Converge, _ = time.ParseDuration(d)
			}
		}
	}
	res.Nodes = len(r.C.nodes)
	res.Violations = append(res.Violations, r.C.Violations...)
	res.Virtual = r.C.Now()
	res.Events = r.C.Events
	res.Steady = r.C.SteadyChecks
	return res
}
