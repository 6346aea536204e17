package executor

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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/systole/systole/lrm"
)

// Process runs agents as child processes. Safe for concurrent use.
type Process struct {
	cfg    Config
	log    *slog.Logger
	groups *groupFile
}

var _ lrm.Executor = (*Process)(nil)

// New returns a Process executor. A nil logger discards.
func New(cfg Config, log *slog.Logger) (*Process, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	return &Process{cfg: cfg, log: log, groups: newGroupFile(cfg.StateFile)}, nil
}

// Config returns the executor's configuration.
func (p *Process) Config() Config { return p.cfg }

// validName rejects agent and provider names that would escape their
// directory.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// Check implements lrm.Executor.
func (p *Process) Check(rsc lrm.Resource) error {
	switch rsc.Class {
	case lrm.ClassOCF:
		if !validName(rsc.Provider) {
			return fmt.Errorf("%w %q", lrm.ErrUnknownProvider, rsc.Provider)
		}
		dir := filepath.Join(p.cfg.OCFRoot, "resource.d", rsc.Provider)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%w %q: no directory %s", lrm.ErrUnknownProvider, rsc.Provider, dir)
		}
	case lrm.ClassLSB:
	case lrm.ClassStonith:
		return lrm.ErrStonithClass
	default:
		return fmt.Errorf("%w %q", lrm.ErrUnknownClass, rsc.Class)
	}
	if !validName(rsc.Type) {
		return fmt.Errorf("%w: bad agent name %q", lrm.ErrBadRequest, rsc.Type)
	}
	return nil
}

// AgentPath returns the file that implements the resource's agent.
func (p *Process) AgentPath(rsc lrm.Resource) string {
	if rsc.Class == lrm.ClassLSB {
		return filepath.Join(p.cfg.LSBRoot, rsc.Type)
	}
	return filepath.Join(p.cfg.OCFRoot, "resource.d", rsc.Provider, rsc.Type)
}

// Exec implements lrm.Executor.
func (p *Process) Exec(ctx context.Context, cmd lrm.Command) lrm.ExecResult {
	if err := p.Check(cmd.Rsc); err != nil {
		return lrm.ExecResult{RC: lrm.RCErrGeneric, Status: lrm.StatusError, ExitReason: err.Error()}
	}
	path := p.AgentPath(cmd.Rsc)
	arg := cmd.Action
	var env []string
	switch cmd.Rsc.Class {
	case lrm.ClassOCF:
		env = append(append([]string{}, p.cfg.Env...), lrm.OCFEnv(cmd, p.cfg.OCFRoot)...)
	case lrm.ClassLSB:
		switch cmd.Action {
		case lrm.ActionMonitor:
			arg = "status"
		case lrm.ActionStart, lrm.ActionStop:
		case lrm.ActionMetaData:
			return lsbMetadata(path, cmd.Rsc.Type)
		case lrm.ActionValidateAll:
			return lrm.ExecResult{RC: lrm.RCOK, Status: lrm.StatusDone}
		default:
			return lrm.ExecResult{RC: lrm.RCErrUnimplemented, Status: lrm.StatusNotSupported,
				ExitReason: fmt.Sprintf("lsb agents do not support %s", cmd.Action)}
		}
		env = p.cfg.Env
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return lrm.ExecResult{RC: lrm.RCErrInstalled, Status: lrm.StatusNotInstalled,
			ExitReason: fmt.Sprintf("agent %s not installed: %s does not exist", cmd.Rsc.Agent(), path)}
	case err != nil:
		return lrm.ExecResult{RC: lrm.RCErrPerm, Status: lrm.StatusError, ExitReason: fmt.Sprintf("agent %s: %v", cmd.Rsc.Agent(), err)}
	case st.IsDir() || st.Mode()&0o111 == 0:
		return lrm.ExecResult{RC: lrm.RCErrInstalled, Status: lrm.StatusNotInstalled,
			ExitReason: fmt.Sprintf("agent %s not installed: %s is not an executable file", cmd.Rsc.Agent(), path)}
	}
	res := p.run(ctx, path, arg, env, cmd)
	if cmd.Rsc.Class == lrm.ClassLSB && res.Status == lrm.StatusDone {
		res.RC = lrm.LSBToOCF(cmd.Action, res.RC)
	}
	return res
}

// ExecFile runs the OCF agent at path (outside any provider directory,
// for the agent checker) with cmd's action and the OCF environment.
func (p *Process) ExecFile(ctx context.Context, path string, cmd lrm.Command) lrm.ExecResult {
	env := append(append([]string{}, p.cfg.Env...), lrm.OCFEnv(cmd, p.cfg.OCFRoot)...)
	if _, err := os.Stat(path); err != nil {
		return lrm.ExecResult{RC: lrm.RCErrInstalled, Status: lrm.StatusNotInstalled,
			ExitReason: fmt.Sprintf("agent %s not installed: %v", path, err)}
	}
	return p.run(ctx, path, cmd.Action, env, cmd)
}

// run forks the agent and waits for it, enforcing the timeout.
func (p *Process) run(ctx context.Context, path, arg string, env []string, cmd lrm.Command) lrm.ExecResult {
	stdout := &boundedBuffer{max: p.cfg.MaxOutput}
	stderr := &boundedBuffer{max: p.cfg.MaxOutput}
	c := exec.Command(path, arg)
	c.Env = env
	c.Dir = "/"
	c.Stdout, c.Stderr = stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.WaitDelay = p.cfg.PipeGrace
	if err := c.Start(); err != nil {
		return lrm.ExecResult{RC: lrm.RCErrGeneric, Status: lrm.StatusError,
			ExitReason: fmt.Sprintf("cannot execute %s: %v", path, err)}
	}
	pgid := c.Process.Pid
	p.groups.add(pgid)
	defer p.groups.remove(pgid)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()

	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = lrm.DefaultConfig().DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var werr error
	status := lrm.StatusDone
	reason := ""
	select {
	case werr = <-done:
	case <-timer.C:
		status = lrm.StatusTimeout
		reason = fmt.Sprintf("%s %s timed out after %v", cmd.Rsc.ID, cmd.Action, timeout)
		werr = p.killGroup(pgid, done)
	case <-ctx.Done():
		status = lrm.StatusCancelled
		reason = fmt.Sprintf("%s %s interrupted: %v", cmd.Rsc.ID, cmd.Action, context.Cause(ctx))
		werr = p.killGroup(pgid, done)
	}
	res := lrm.ExecResult{Status: status, Stdout: stdout.String(), Stderr: stderr.String()}
	res.ExitReason = lrm.ParseExitReason(stderr.Bytes())
	if status != lrm.StatusDone {
		res.RC = lrm.RCErrGeneric
		res.ExitReason = reason
		return res
	}
	var ee *exec.ExitError
	switch {
	case werr == nil || errors.Is(werr, exec.ErrWaitDelay):
		res.RC = c.ProcessState.ExitCode()
	case errors.As(werr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.RC = lrm.RCErrGeneric
			res.Status = lrm.StatusError
			res.ExitReason = fmt.Sprintf("agent killed by signal %v", ws.Signal())
		} else {
			res.RC = ee.ExitCode()
		}
	default:
		res.RC = lrm.RCErrGeneric
		res.Status = lrm.StatusError
		res.ExitReason = fmt.Sprintf("waiting for agent: %v", werr)
	}
	return res
}

// killGroup sends SIGTERM to the group, SIGKILL after the grace time, and
// waits for the leader.
func (p *Process) killGroup(pgid int, done <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(p.cfg.KillGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		// The leader is gone; make sure nothing of the group survives.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return err
	case <-grace.C:
	}
	p.log.Warn("agent ignored SIGTERM, killing its process group", "pgid", pgid)
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

func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *boundedBuffer) String() string { return string(b.Bytes()) }
