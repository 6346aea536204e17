package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/systole/systole/stonith"
)

// Status says how a run ended.
type Status string

// Run statuses.
const (
	StatusDone         Status = "done"          // the agent exited; RC is its exit code
	StatusTimeout      Status = "timed out"     // killed after the timeout
	StatusCancelled    Status = "cancelled"     // killed because the context ended
	StatusError        Status = "error"         // could not start, or killed by a signal we did not send
	StatusNotInstalled Status = "not installed" // no such agent
)

// Request is one agent run.
type Request struct {
	Agent   string        // fence_*
	Args    []stonith.Arg // written to stdin; Args[0] is usually action=...
	Timeout time.Duration // 0 means Config.DefaultTimeout
}

// Result is the outcome of a run.
type Result struct {
	RC        int // the exit code when Status is done, else 1
	Status    Status
	Stdout    string
	Stderr    string
	Truncated bool   // some output was dropped
	Reason    string // why Status is not done
	Elapsed   time.Duration
}

// Runner runs fence agents. Safe for concurrent use.
type Runner struct {
	cfg Config
	log *slog.Logger
}

// New returns a Runner. A nil logger discards.
func New(cfg Config, log *slog.Logger) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, log: log}, nil
}

// Config returns the Runner's configuration.
func (r *Runner) Config() Config { return r.cfg }

// Path returns the agent's file, checking its name and that it is an
// executable file.
func (r *Runner) Path(name string) (string, error) {
	if !strings.HasPrefix(name, "fence_") || strings.ContainsAny(name, "/\x00") || name == "fence_" {
		return "", fmt.Errorf("%w %q: fence agents are named fence_*", ErrBadName, name)
	}
	var first error
	for _, dir := range r.dirs() {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			err = fmt.Errorf("%w: %s does not exist", ErrNotInstalled, p)
		case err != nil:
			err = fmt.Errorf("%w: %v", ErrNotInstalled, err)
		case st.IsDir() || st.Mode()&0o111 == 0:
			err = fmt.Errorf("%w: %s is not an executable file", ErrNotInstalled, p)
		default:
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// dirs returns Dir then Dirs, without repeats.
func (r *Runner) dirs() []string {
	out := []string{r.cfg.Dir}
	for _, d := range r.cfg.Dirs {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// List returns the installed agents (executable fence_* files of Dir and
// Dirs), sorted, each once. A missing extra directory is skipped.
func (r *Runner) List() ([]string, error) {
	var out []string
	for i, dir := range r.dirs() {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if i > 0 && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("agent: list %s: %w", dir, err)
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "fence_") || slices.Contains(out, e.Name()) {
				continue
			}
			if _, err := r.Path(e.Name()); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Metadata runs the agent's metadata action and returns its XML.
func (r *Runner) Metadata(ctx context.Context, name string, timeout time.Duration) (string, error) {
	if _, err := r.Path(name); err != nil {
		return "", err
	}
	res := r.Run(ctx, Request{Agent: name, Args: []stonith.Arg{{Name: "action", Value: string(stonith.ActionMetadata)}}, Timeout: timeout})
	switch {
	case res.Status != StatusDone:
		return "", fmt.Errorf("agent: %s metadata: %s", name, res.Reason)
	case res.RC != 0:
		return "", fmt.Errorf("agent: %s metadata: rc=%d: %s", name, res.RC, strings.TrimSpace(res.Stderr))
	case !strings.Contains(res.Stdout, "<resource-agent"):
		return "", fmt.Errorf("agent: %s metadata: no <resource-agent> in the output", name)
	}
	return res.Stdout, nil
}

// Exec runs a command of the stonith core and returns its result for
// Fencer.Complete.
func (r *Runner) Exec(ctx context.Context, c stonith.Command) stonith.Result {
	res := r.Run(ctx, Request{Agent: c.Agent, Args: c.Args, Timeout: c.Timeout})
	out := stonith.Result{Command: c.ID, RC: res.RC, Output: res.Stdout}
	if res.Stderr != "" {
		if out.Output != "" && !strings.HasSuffix(out.Output, "\n") {
			out.Output += "\n"
		}
		out.Output += res.Stderr
	}
	if res.Status != StatusDone {
		out.Error = res.Reason
	}
	return out
}

// Run runs the agent with args on stdin and waits for it, enforcing the
// timeout. It blocks until the agent's process group is gone or reaped.
func (r *Runner) Run(ctx context.Context, req Request) Result {
	start := time.Now()
	fail := func(st Status, format string, a ...any) Result {
		return Result{RC: stonith.RCFail, Status: st, Reason: fmt.Sprintf(format, a...), Elapsed: time.Since(start)}
	}
	path, err := r.Path(req.Agent)
	if errors.Is(err, ErrNotInstalled) {
		return fail(StatusNotInstalled, "%v", err)
	}
	if err != nil {
		return fail(StatusError, "%v", err)
	}
	stdin, err := stonith.Encode(req.Args)
	if err != nil {
		return fail(StatusError, "%v", err)
	}
	stdout := &boundedBuffer{max: r.cfg.MaxOutput}
	stderr := &boundedBuffer{max: r.cfg.MaxOutput}
	c := exec.Command(path)
	c.Env = r.cfg.Env
	c.Dir = "/"
	c.Stdin = bytes.NewReader(stdin)
	c.Stdout, c.Stderr = stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.WaitDelay = r.cfg.PipeGrace
	if err := c.Start(); err != nil {
		return fail(StatusError, "cannot execute %s: %v", path, err)
	}
	pgid := c.Process.Pid
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = r.cfg.DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	action := ""
	if len(req.Args) > 0 {
		action = req.Args[0].Value
	}
	res := Result{Status: StatusDone}
	var werr error
	select {
	case werr = <-done:
	case <-timer.C:
		res.Status = StatusTimeout
		res.Reason = fmt.Sprintf("%s %s timed out after %v", req.Agent, action, timeout)
		werr = r.killGroup(pgid, done)
	case <-ctx.Done():
		res.Status = StatusCancelled
		res.Reason = fmt.Sprintf("%s %s interrupted: %v", req.Agent, action, context.Cause(ctx))
		werr = r.killGroup(pgid, done)
	}
	res.Elapsed = time.Since(start)
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.wasTruncated() || stderr.wasTruncated()
	if res.Status != StatusDone {
		res.RC = stonith.RCFail
		return res
	}
	var ee *exec.ExitError
	switch {
	case werr == nil || errors.Is(werr, exec.ErrWaitDelay):
		res.RC = c.ProcessState.ExitCode()
	case errors.As(werr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.RC, res.Status = stonith.RCFail, StatusError
			res.Reason = fmt.Sprintf("%s %s killed by signal %v", req.Agent, action, ws.Signal())
		} else {
			res.RC = ee.ExitCode()
		}
	default:
		res.RC, res.Status = stonith.RCFail, StatusError
		res.Reason = fmt.Sprintf("waiting for %s: %v", req.Agent, werr)
	}
	r.log.Debug("fence agent ran", "agent", req.Agent, "action", action, "rc", res.RC, "status", string(res.Status), "elapsed", res.Elapsed)
	return res
}

// killGroup sends SIGTERM to the group, SIGKILL after the grace time, and
// waits for the leader.
func (r *Runner) killGroup(pgid int, done <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(r.cfg.KillGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // whatever the agent forked
		return err
	case <-grace.C:
	}
	r.log.Warn("fence agent ignored SIGTERM, killing its process group", "pgid", pgid)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-done
}

// boundedBuffer keeps the first max bytes written and drops the rest.
type boundedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - b.buf.Len()
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *boundedBuffer) wasTruncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}
