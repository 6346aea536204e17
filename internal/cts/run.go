package cts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/systole/systole/internal/lab"
)

// Result is the outcome of one step.
type Result struct {
	Step Step
	// Skipped: the test does not apply (NodeKill without fencing).
	Skipped bool
	// Err is a failure of the test's own actions (a CLI that failed).
	Err error
	// Violations are the invariants the step broke.
	Violations []string
	// Known are violations of tolerated kinds (Config.Tolerate).
	Known []string
	// Notes say what the step did and what was tolerated.
	Notes    []string
	Duration time.Duration
}

// Passed reports whether the step ran and broke nothing.
func (r Result) Passed() bool { return !r.Skipped && r.Err == nil && len(r.Violations) == 0 }

// Report is the outcome of a run.
type Report struct {
	Seed              int64
	Nodes, Iterations int
	// Setup holds violations found while bringing the cluster up.
	Setup   []string
	Results []Result
	// Samples is the number of looks the double-activity sampler took;
	// Tolerated lists double activities across a split without fencing.
	Samples   int
	Tolerated []string
	Duration  time.Duration
}

// Failed reports whether anything failed.
func (r *Report) Failed() bool {
	if len(r.Setup) > 0 {
		return true
	}
	for _, s := range r.Results {
		if !s.Skipped && !s.Passed() {
			return true
		}
	}
	return false
}

// Replay is the command that replays the run.
func (r *Report) Replay() string {
	return fmt.Sprintf("systole cts --seed %d --iterations %d --nodes %d", r.Seed, r.Iterations, r.Nodes)
}

// Run brings a cluster up in the lab, plays the schedule of cfg.Seed, and
// tears the cluster down. It returns an error only when the cluster could
// not be built; failed steps are in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	rep := &Report{Seed: cfg.Seed, Nodes: cfg.Nodes, Iterations: cfg.Iterations}
	var serial [][2]int
	for i := 1; i < cfg.Nodes; i++ {
		serial = append(serial, [2]int{0, i}) // a star of null-modem cables around node1
	}
	c, err := lab.Up(cfg.Nodes, lab.ClusterOptions{Dir: cfg.Dir, BinDir: cfg.BinDir, Keepalive: cfg.Keepalive,
		Deadtime: cfg.Deadtime, LogLevel: cfg.LogLevel, SerialLinks: serial})
	if err != nil {
		return nil, fmt.Errorf("cts: lab: %w", err)
	}
	defer func() {
		if err := c.Down(); err != nil {
			log.Warn("lab down", "err", err)
		}
	}()
	e := &env{cfg: cfg, c: c, log: log, macs: map[string]int{}, isolated: map[int]bool{},
		restartsOK: map[int]bool{}, leftActive: map[string]bool{}, stackRestarted: map[string]bool{}, outsideQuorum: map[string]bool{}, restarts: make([]map[string]int, cfg.Nodes), logOffsets: map[string]int64{},
		alive: make([]bool, cfg.Nodes), pids: make([]int, cfg.Nodes)}
	for i := range c.Nodes {
		e.alive[i] = true
		e.pids[i] = c.Nodes[i].Pid
		e.restarts[i] = map[string]int{}
		mac, err := c.MAC(i)
		if err != nil {
			return nil, err
		}
		e.macs[mac] = i
	}
	if e.w, err = c.AddWatcher(watcherAddr); err != nil {
		return nil, err
	}
	defer e.w.Remove()
	if e.arp, err = e.w.ARPProber(); err != nil {
		return nil, err
	}
	defer e.arp.Close()
	sarp, err := e.w.ARPProber()
	if err != nil {
		return nil, err
	}
	defer sarp.Close()
	fmt.Fprintf(cfg.Out, "cts: %d nodes in %s, seed %d, %d iterations, %d serial cables\n", cfg.Nodes, cfg.Dir, cfg.Seed, cfg.Iterations, len(serial))
	if _, err := c.WaitDC(120 * time.Second); err != nil {
		return nil, fmt.Errorf("cts: %w", err)
	}
	if err := e.configure(); err != nil {
		return nil, err
	}
	e.sampler = newSampler(e, sarp, cfg.SampleEvery)
	if !e.settle("initial configuration") {
		rep.Setup = e.violations
		e.saveLogs("setup")
		e.sampler.close()
		rep.Duration = time.Since(start)
		return rep, nil
	}
	rep.Setup = e.violations
	e.violations = nil
	e.restartsOK = map[int]bool{}
	fmt.Fprintf(cfg.Out, "cts: cluster up and configured in %v\n", time.Since(start).Round(100*time.Millisecond))
	for _, st := range NewSchedule(cfg.Seed, cfg.Iterations, cfg.Tests) {
		if ctx.Err() != nil {
			break
		}
		res := e.runStep(st)
		rep.Results = append(rep.Results, res)
		verdict := "PASS"
		switch {
		case res.Skipped:
			verdict = "SKIP"
		case !res.Passed():
			verdict = "FAIL"
		}
		fmt.Fprintf(cfg.Out, "cts: [%3d/%d] %-16s %-4s %6.1fs  %s\n", st.N, cfg.Iterations, st.Test, verdict,
			res.Duration.Seconds(), strings.Join(res.Notes, "; "))
		if res.Err != nil {
			fmt.Fprintf(cfg.Out, "      error: %v\n", res.Err)
		}
		for _, v := range res.Violations {
			fmt.Fprintf(cfg.Out, "      violation: %s\n", v)
		}
		for _, v := range res.Known {
			fmt.Fprintf(cfg.Out, "      known defect: %s\n", v)
		}
		if !res.Skipped && !res.Passed() {
			e.saveLogs(fmt.Sprintf("step%03d-%s", st.N, st.Test))
		}
	}
	e.sampler.close()
	final, samples := e.sampler.take(true)
	rep.Samples = samples
	rep.Tolerated = e.tolerated
	for _, o := range final {
		if o.tolerated {
			rep.Tolerated = append(rep.Tolerated, o.String())
		} else {
			rep.Setup = append(rep.Setup, "after the last step: "+o.String())
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// configure loads the suite's resources and constraints and the fencing
// setting.
func (e *env) configure() error {
	stonith := "false"
	if e.cfg.Stonith {
		stonith = "true"
	}
	if _, err := e.tool(0, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", stonith); err != nil {
		return err
	}
	rx := resourcesXML()
	if e.cfg.Stonith {
		rx = strings.Replace(rx, "</resources>", fenceDeviceXML(e.c.Dir, e.c.NodeNames())+"\n</resources>", 1)
	}
	if _, err := e.tool(0, "cibadmin", "-R", "-o", "resources", "-X", rx); err != nil {
		return err
	}
	if _, err := e.tool(0, "cibadmin", "-R", "-o", "constraints", "-X", constraintsXML()); err != nil {
		return err
	}
	return nil
}

// runStep runs one test and its checks, then restores a healthy cluster
// when the test left it otherwise.
func (e *env) runStep(st Step) Result {
	t0 := time.Now()
	e.violations, e.notes, e.known = nil, nil, nil
	e.restartsOK = map[int]bool{}
	e.leftActive, e.stackRestarted, e.outsideQuorum = map[string]bool{}, map[string]bool{}, map[string]bool{}
	tol0 := len(e.tolerated)
	e.stepStart = t0
	if e.fenceBase == nil {
		e.fenceBaseline()
	}
	r := rand.New(rand.NewPCG(st.Seed, uint64(st.N)))
	res := Result{Step: st}
	err := testByName[st.Test](e, r)
	switch {
	case errors.Is(err, errSkip):
		res.Skipped = true
	case err != nil:
		res.Err = err
	}
	if e.restore() {
		e.settle("restored after " + st.Test)
	}
	overlaps, _ := e.sampler.take(false)
	for _, o := range overlaps {
		if o.tolerated {
			e.tolerated = append(e.tolerated, o.String())
		} else {
			kind := "double"
			for _, n := range o.nodes {
				if e.leftActive[n] {
					kind = "left-active"
				} else if e.outsideQuorum[n] && kind != "left-active" {
					kind = "outside-quorum"
				} else if e.stackRestarted[n] && kind == "double" {
					kind = "stack-restart"
				}
			}
			e.violate(kind, "double activity: %s", o)
		}
	}
	if n := len(e.tolerated) - tol0; n > 0 {
		e.note("%d double activities across the split tolerated (no fencing)", n)
	}
	e.checkCrashes()
	res.Violations, res.Notes, res.Known = e.violations, e.notes, e.known
	res.Duration = time.Since(t0)
	e.log.Info("step", "n", st.N, "test", st.Test, "passed", res.Passed(), "skipped", res.Skipped, "ms", res.Duration.Milliseconds())
	return res
}

// restore heals every cut, resumes every cable and boots every node that
// is down; it reports whether it had anything to do.
func (e *env) restore() bool {
	e.syncFenced()
	did := false
	for i := range e.c.Nodes {
		e.mu.Lock()
		iso := e.isolated[i]
		e.mu.Unlock()
		if iso {
			did = true
			_ = e.c.Heal(i)
			_ = e.c.SetBridgePort(i, true)
			e.setIsolated(i, false)
		}
	}
	_ = e.syncCables()
	for i := range e.c.Nodes {
		if !e.running(i) {
			did = true
			if err := e.startNode(i); err != nil {
				e.violate("restore", "restore: boot %s: %v", e.name(i), err)
			}
		}
	}
	e.setSplitOK(false)
	return did
}

// saveLogs copies every node's logs to Dir/failures/NAME (a boot empties
// a node's run directory).
func (e *env) saveLogs(name string) {
	for _, nd := range e.c.Nodes {
		dst := filepath.Join(e.cfg.Dir, "failures", name, nd.Name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return
		}
		files, _ := filepath.Glob(filepath.Join(nd.RunDir(), "logs", "*.log"))
		for _, f := range append(files, filepath.Join(nd.Dir, "systoled.log")) {
			if b, err := os.ReadFile(f); err == nil {
				_ = os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
			}
		}
	}
}

// aliveSnapshot says which nodes run: started by the suite and their
// systoled still alive (a node the cluster fenced is dead at once, before
// the suite learns it from lab.json).
func (e *env) aliveSnapshot() []bool {
	e.mu.Lock()
	a := append([]bool(nil), e.alive...)
	pids := append([]int(nil), e.pids...)
	e.mu.Unlock()
	for i := range a {
		if a[i] && pids[i] > 0 {
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pids[i]))
			a[i] = err == nil && !strings.Contains(string(st), ") Z ")
		}
	}
	return a
}

func (e *env) setAlive(i int, v bool) {
	e.mu.Lock()
	e.alive[i] = v
	e.pids[i] = e.c.Nodes[i].Pid
	e.mu.Unlock()
}

func (e *env) splitAllowed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.splitOK
}

// deadtime is the cluster's deadtime.
func (e *env) deadtime() time.Duration {
	if e.cfg.Deadtime > 0 {
		return e.cfg.Deadtime
	}
	return 500 * time.Millisecond
}
