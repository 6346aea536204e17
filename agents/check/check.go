package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/systole/systole/agents/metadata"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
)

// ErrUsage is wrapped by Run's error when the agent cannot be checked at
// all (bad spec, unknown provider).
var ErrUsage = errors.New("agent check: usage")

// Options configures a check.
type Options struct {
	// Agent is ocf:PROVIDER:TYPE or a path to an agent file.
	Agent string
	// Params are the instance parameters (OCF_RESKEY_<name>).
	Params map[string]string
	// OCFRoot is OCF_ROOT ("" = $OCF_ROOT or /usr/lib/ocf).
	OCFRoot string
	// Instance is OCF_RESOURCE_INSTANCE ("" = systole-check).
	Instance string
	// Timeout overrides the per-action timeouts from the meta-data.
	Timeout time.Duration
	// Out receives one line per step and the verdict (nil = discard).
	Out io.Writer
}

// Step is one checked action.
type Step struct {
	Name   string
	Action string
	RC     int
	Want   int
	Status lrm.Status
	OK     bool
	// Detail explains a failure or a skip.
	Detail  string
	Skipped bool
	Elapsed time.Duration
}

// Report is the outcome of a check.
type Report struct {
	Agent    string
	Steps    []Step
	Warnings []string
}

// Passed reports whether every step passed.
func (r *Report) Passed() bool {
	for _, s := range r.Steps {
		if !s.OK && !s.Skipped {
			return false
		}
	}
	return len(r.Steps) > 0
}

// Failures counts failed steps.
func (r *Report) Failures() int {
	n := 0
	for _, s := range r.Steps {
		if !s.OK && !s.Skipped {
			n++
		}
	}
	return n
}

type checker struct {
	opts   Options
	ex     *executor.Process
	rsc    lrm.Resource
	path   string // explicit agent file, or ""
	md     *metadata.Agent
	rep    *Report
	out    io.Writer
	callID int64
}

// ParseAgent parses ocf:PROVIDER:TYPE (or a path) into a resource and the
// explicit path ("" for a spec).
func ParseAgent(spec, ocfRoot string) (lrm.Resource, string, error) {
	if strings.Contains(spec, "/") {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return lrm.Resource{}, "", fmt.Errorf("%w: %v", ErrUsage, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return lrm.Resource{}, "", fmt.Errorf("%w: agent %s: %v", ErrUsage, spec, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return lrm.Resource{}, "", fmt.Errorf("%w: agent %s is not an executable file", ErrUsage, spec)
		}
		return lrm.Resource{Class: lrm.ClassOCF, Provider: filepath.Base(filepath.Dir(abs)), Type: filepath.Base(abs)}, abs, nil
	}
	parts := strings.Split(spec, ":")
	if len(parts) != 3 || parts[0] != lrm.ClassOCF || parts[1] == "" || parts[2] == "" {
		return lrm.Resource{}, "", fmt.Errorf("%w: agent %q is neither ocf:PROVIDER:TYPE nor a path", ErrUsage, spec)
	}
	return lrm.Resource{Class: lrm.ClassOCF, Provider: parts[1], Type: parts[2]}, "", nil
}

// Run checks an agent. The error is for an agent that cannot be checked
// at all; a check that ran returns a Report (see Report.Passed).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.OCFRoot == "" {
		opts.OCFRoot = os.Getenv("OCF_ROOT")
	}
	if opts.OCFRoot == "" {
		opts.OCFRoot = "/usr/lib/ocf"
	}
	if opts.Instance == "" {
		opts.Instance = "systole-check"
	}
	rsc, path, err := ParseAgent(opts.Agent, opts.OCFRoot)
	if err != nil {
		return nil, err
	}
	rsc.ID = opts.Instance
	cfg := executor.DefaultConfig()
	cfg.OCFRoot = opts.OCFRoot
	cfg.KillGrace = 2 * time.Second
	ex, err := executor.New(cfg, nil)
	if err != nil {
		return nil, err
	}
	if path == "" {
		if err := ex.Check(rsc); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
	}
	// lrmd creates the agents' state directory; so does the checker, so
	// that agents run as they would under lrmd.
	rsctmp := os.Getenv("HA_RSCTMP")
	if rsctmp == "" {
		rsctmp = "/run/resource-agents"
	}
	_ = os.MkdirAll(rsctmp, 0o755)
	c := &checker{opts: opts, ex: ex, rsc: rsc, path: path, rep: &Report{Agent: opts.Agent}, out: opts.Out}
	if c.out == nil {
		c.out = io.Discard
	}
	fmt.Fprintf(c.out, "checking %s (OCF_ROOT=%s, instance %s)\n", opts.Agent, opts.OCFRoot, opts.Instance)
	c.run(ctx)
	if n := c.rep.Failures(); n > 0 {
		fmt.Fprintf(c.out, "verdict: FAIL (%d of %d steps failed)\n", n, len(c.rep.Steps))
	} else {
		fmt.Fprintf(c.out, "verdict: PASS (%d steps)\n", len(c.rep.Steps))
	}
	return c.rep, nil
}

func (c *checker) timeout(action string) time.Duration {
	if c.opts.Timeout > 0 {
		return c.opts.Timeout
	}
	if c.md != nil {
		if a, ok := c.md.Action(action, ""); ok && a.Timeout > 0 {
			return a.Timeout
		}
	}
	return 20 * time.Second
}

func (c *checker) exec(ctx context.Context, action string, meta map[string]string) (lrm.ExecResult, time.Duration) {
	c.callID++
	cmd := lrm.Command{CallID: c.callID, Rsc: c.rsc, Action: action, Timeout: c.timeout(action),
		Params: c.opts.Params, Meta: meta}
	start := time.Now()
	var res lrm.ExecResult
	if c.path != "" {
		res = c.ex.ExecFile(ctx, c.path, cmd)
	} else {
		res = c.ex.Exec(ctx, cmd)
	}
	return res, time.Since(start)
}

func (c *checker) record(s Step) {
	c.rep.Steps = append(c.rep.Steps, s)
	verdict := "ok"
	switch {
	case s.Skipped:
		verdict = "skipped"
	case !s.OK:
		verdict = "FAIL"
	}
	line := fmt.Sprintf("%2d %-28s rc=%-3d want=%-3d %-7s", len(c.rep.Steps), s.Name, s.RC, s.Want, verdict)
	if s.Detail != "" {
		line += " " + s.Detail
	}
	fmt.Fprintln(c.out, strings.TrimRight(line, " "))
}

// step runs an action and checks its rc.
func (c *checker) step(ctx context.Context, name, action string, want int, meta map[string]string) bool {
	res, el := c.exec(ctx, action, meta)
	s := Step{Name: name, Action: action, RC: res.RC, Want: want, Status: res.Status, Elapsed: el}
	s.OK = res.Status == lrm.StatusDone && res.RC == want
	if !s.OK {
		s.Detail = fmt.Sprintf("(%s, %s)", lrm.RCName(res.RC), res.Status)
		if res.ExitReason != "" {
			s.Detail += ": " + res.ExitReason
		} else if t := strings.TrimSpace(lastLine(res.Stderr)); t != "" {
			s.Detail += ": " + t
		}
	}
	c.record(s)
	return s.OK
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (c *checker) skip(name, why string) {
	c.record(Step{Name: name, Skipped: true, Detail: why})
}

func (c *checker) run(ctx context.Context) {
	// 1. meta-data.
	res, el := c.exec(ctx, lrm.ActionMetaData, nil)
	s := Step{Name: "meta-data", Action: lrm.ActionMetaData, RC: res.RC, Status: res.Status, Elapsed: el}
	if res.Status == lrm.StatusDone && res.RC == 0 {
		md, err := metadata.Validate([]byte(res.Stdout))
		c.md = md
		if err != nil {
			s.Detail = "invalid meta-data: " + err.Error()
		} else {
			s.OK = true
			c.rep.Warnings = md.Warnings
		}
	} else {
		s.Detail = fmt.Sprintf("(%s, %s) %s", lrm.RCName(res.RC), res.Status, res.ExitReason)
	}
	c.record(s)
	for _, w := range c.rep.Warnings {
		fmt.Fprintf(c.out, "   warning: %s\n", w)
	}
	if c.md == nil {
		return // nothing else can be trusted
	}
	var missing []string
	for _, p := range c.md.Parameters {
		if p.Required && c.opts.Params[p.Name] == "" {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		c.record(Step{Name: "required parameters", Detail: "not given: " + strings.Join(missing, ", ") +
			" (pass them as name=value)"})
		return
	}
	// 2. validate-all.
	if c.md.HasAction(lrm.ActionValidateAll) {
		c.step(ctx, "validate-all", lrm.ActionValidateAll, 0, nil)
	} else {
		c.skip("validate-all", "not advertised")
	}
	// 3. probe while stopped.
	c.step(ctx, "monitor while stopped", lrm.ActionMonitor, lrm.RCNotRunning, nil)
	// 4. start.
	if !c.step(ctx, "start", lrm.ActionStart, 0, nil) {
		c.skip("remaining started checks", "start failed")
		c.step(ctx, "stop (cleanup)", lrm.ActionStop, 0, nil)
		return
	}
	mon := map[string]string{"interval": "10000"}
	c.step(ctx, "monitor", lrm.ActionMonitor, 0, mon)
	c.step(ctx, "start again", lrm.ActionStart, 0, nil)
	// 5. promote/demote.
	if c.md.HasAction(lrm.ActionPromote) && c.md.HasAction(lrm.ActionDemote) {
		c.step(ctx, "promote", lrm.ActionPromote, 0, nil)
		c.step(ctx, "monitor promoted", lrm.ActionMonitor, lrm.RCRunningPromoted, mon)
		c.step(ctx, "promote again", lrm.ActionPromote, 0, nil)
		c.step(ctx, "demote", lrm.ActionDemote, 0, nil)
		c.step(ctx, "monitor unpromoted", lrm.ActionMonitor, 0, mon)
		c.step(ctx, "demote again", lrm.ActionDemote, 0, nil)
	}
	// 6. migration.
	if c.md.HasAction(lrm.ActionMigrateTo) && c.md.HasAction(lrm.ActionMigrateFrom) {
		host, _ := os.Hostname()
		mig := map[string]string{"migrate_source": host, "migrate_target": host}
		c.step(ctx, "migrate_to", lrm.ActionMigrateTo, 0, mig)
		c.step(ctx, "migrate_from", lrm.ActionMigrateFrom, 0, mig)
		c.step(ctx, "monitor after migration", lrm.ActionMonitor, 0, mon)
	}
	// 7. reload and notify.
	switch {
	case c.md.HasAction(lrm.ActionReloadAgent):
		c.step(ctx, "reload-agent", lrm.ActionReloadAgent, 0, nil)
	case c.md.HasAction(lrm.ActionReload):
		c.step(ctx, "reload", lrm.ActionReload, 0, nil)
	}
	if c.md.HasAction(lrm.ActionNotify) {
		c.step(ctx, "notify", lrm.ActionNotify, 0, map[string]string{
			"notify_type": "pre", "notify_operation": "start",
		})
	}
	// 8. stop.
	c.step(ctx, "stop", lrm.ActionStop, 0, nil)
	c.step(ctx, "stop again", lrm.ActionStop, 0, nil)
	c.step(ctx, "monitor after stop", lrm.ActionMonitor, lrm.RCNotRunning, nil)
}
