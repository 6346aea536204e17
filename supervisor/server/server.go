// Package server is the shell of systoled around the supervisor core: it
// forks the node's daemons, writes their output to log files, polls their
// sockets, waits for their exits, sends signals, and publishes a status
// file, all driven by the decisions of supervisor.Supervisor.
//
// One goroutine (Run) owns the core. Per child one goroutine waits for its
// exit and forwards it; nothing else touches the core.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/systole/systole/supervisor"
)

// Child is how to run one daemon.
type Child struct {
	// Name is the daemon's name (supervisor.Daemon.Name).
	Name string
	// Restart is its crash policy.
	Restart supervisor.Restart
	// Path and Args are the program and its arguments (without argv[0]).
	Path string
	Args []string
	// Env is added to systoled's environment.
	Env []string
	// Socket is the unix socket that answers when the daemon is ready.
	Socket string
}

// Options configure Run.
type Options struct {
	// Node is the node's name, for logs and status.
	Node string
	// Children in start order.
	Children []Child
	// Core is the supervisor configuration; its Daemons are taken from
	// Children.
	Core supervisor.Config
	// LogDir receives NAME.log per child (appended); "" writes children's
	// output to Stderr with a "NAME: " prefix on every line.
	LogDir string
	// Stderr is where children write when LogDir is "" (default os.Stderr).
	Stderr io.Writer
	// StatusFile, when set, is rewritten (atomically) at every change.
	StatusFile string
	// Tick is the timer period of the core and of socket polls (50 ms).
	Tick time.Duration
	// OnRunning is called (in Run's goroutine) each time the whole stack is
	// up; systoled notifies systemd from it.
	OnRunning func()
	// Log receives supervisor events; nil discards.
	Log *slog.Logger
}

// Status is the content of the status file.
type Status struct {
	Node    string         `json:"node"`
	Pid     int            `json:"pid"`
	Phase   string         `json:"phase"`
	Updated time.Time      `json:"updated"`
	Daemons []DaemonStatus `json:"daemons"`
}

// DaemonStatus is one daemon in the status file.
type DaemonStatus struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Pid      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	Since    time.Time `json:"since"`
	Restart  string    `json:"restart"`
}

type exit struct {
	name string
	err  error
}

type proc struct {
	cmd *exec.Cmd
	out io.Closer
}

// Run supervises the children until ctx ends (then stops them in reverse
// order and returns nil) or the core gives up (returns its error wrapping
// supervisor.ErrGaveUp).
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tick <= 0 {
		o.Tick = 50 * time.Millisecond
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	o.Core.Daemons = nil
	byName := map[string]Child{}
	for _, c := range o.Children {
		o.Core.Daemons = append(o.Core.Daemons, supervisor.Daemon{Name: c.Name, Restart: c.Restart})
		byName[c.Name] = c
	}
	s, err := supervisor.New(o.Core)
	if err != nil {
		return err
	}
	if o.LogDir != "" {
		if err := os.MkdirAll(o.LogDir, 0o750); err != nil {
			return fmt.Errorf("systoled: log dir: %w", err)
		}
	}
	exits := make(chan exit, len(o.Children))
	procs := map[string]*proc{}
	var stderrMu sync.Mutex
	tick := time.NewTicker(o.Tick)
	defer tick.Stop()
	stopping := false
	lastPhase := supervisor.PhaseIdle

	spawn := func(now time.Time, c Child) {
		cmd := exec.Command(c.Path, c.Args...)
		cmd.Env = append(os.Environ(), c.Env...)
		// Own process group: a terminal's Ctrl-C reaches systoled only,
		// which then stops the children in order. Pdeathsig: a supervisor
		// killed outright takes its node down with it (a node crash), so
		// that a restarted systoled never finds orphans holding sockets.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		// a grandchild (an agent) holding the output pipe must not keep
		// the exit from being reported
		cmd.WaitDelay = time.Second
		var closer io.Closer
		if o.LogDir != "" {
			f, err := os.OpenFile(filepath.Join(o.LogDir, c.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
			if err != nil {
				s.SpawnFailed(now, c.Name, err)
				return
			}
			cmd.Stdout, cmd.Stderr, closer = f, f, f
		} else {
			w := &prefixWriter{mu: &stderrMu, w: o.Stderr, prefix: c.Name + ": "}
			cmd.Stdout, cmd.Stderr = w, w
		}
		if err := cmd.Start(); err != nil {
			if closer != nil {
				closer.Close()
			}
			s.SpawnFailed(now, c.Name, err)
			return
		}
		procs[c.Name] = &proc{cmd: cmd, out: closer}
		o.Log.Info("spawned", "daemon", c.Name, "pid", cmd.Process.Pid)
		go func() { exits <- exit{name: c.Name, err: cmd.Wait()} }()
		s.Spawned(now, c.Name, cmd.Process.Pid)
	}
	signal := func(name string, sig syscall.Signal) {
		p := procs[name]
		if p == nil {
			return
		}
		pid := p.cmd.Process.Pid
		_ = syscall.Kill(pid, sig)
		if sig == syscall.SIGKILL {
			_ = syscall.Kill(-pid, sig) // and whatever it forked in its group
		}
	}
	writeStatus := func() {
		if o.StatusFile == "" {
			return
		}
		st := Status{Node: o.Node, Pid: os.Getpid(), Phase: s.Phase().String(), Updated: time.Now().UTC()}
		for _, d := range s.Status() {
			st.Daemons = append(st.Daemons, DaemonStatus{Name: d.Name, State: d.State.String(), Pid: d.Pid,
				Restarts: d.Restarts, Since: d.Since.UTC(), Restart: byName[d.Name].Restart.String()})
		}
		if err := WriteStatus(o.StatusFile, st); err != nil {
			o.Log.Warn("cannot write status file", "err", err)
		}
	}
	var result error
	handle := func() (done bool) {
		for {
			r := s.Ready()
			for _, e := range r.Events {
				attrs := []any{}
				if e.Daemon != "" {
					attrs = append(attrs, "daemon", e.Daemon)
				}
				if e.Delay > 0 {
					attrs = append(attrs, "delay", e.Delay)
				}
				if e.Crashes > 0 {
					attrs = append(attrs, "crashes", e.Crashes)
				}
				lvl := slog.LevelInfo
				if e.Crashes > 0 || r.Err != nil {
					lvl = slog.LevelWarn
				}
				o.Log.Log(context.Background(), lvl, e.Msg, attrs...)
			}
			if len(r.Actions) == 0 {
				writeStatus()
				if p := s.Phase(); p != lastPhase {
					lastPhase = p
					if p == supervisor.PhaseRunning && o.OnRunning != nil {
						o.OnRunning()
					}
				}
				if r.Done {
					result = r.Err
					return true
				}
				return false
			}
			now := time.Now()
			for _, a := range r.Actions {
				switch a.Kind {
				case supervisor.Spawn:
					spawn(now, byName[a.Daemon])
				case supervisor.Term:
					signal(a.Daemon, syscall.SIGTERM)
				case supervisor.Kill:
					signal(a.Daemon, syscall.SIGKILL)
				}
			}
			if r.Done {
				writeStatus()
				result = r.Err
				return true
			}
		}
	}
	s.Start(time.Now())
	if handle() {
		return result
	}
	for {
		select {
		case <-ctx.Done():
			if !stopping {
				stopping = true
				s.Stop(time.Now())
			}
		case e := <-exits:
			p := procs[e.name]
			delete(procs, e.name)
			if p != nil && p.out != nil {
				p.out.Close()
			}
			o.Log.Info("daemon exited", "daemon", e.name, "status", exitText(e.err))
			s.Exited(time.Now(), e.name)
		case <-tick.C:
			now := time.Now()
			for _, d := range s.Status() {
				if d.State == supervisor.Starting && answers(byName[d.Name].Socket) {
					s.Answered(now, d.Name)
				}
			}
			s.Tick(now)
		}
		if handle() {
			if !stopping && result == nil {
				return errors.New("systoled: stopped unexpectedly")
			}
			return result
		}
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// answers reports whether something accepts connections on the unix
// socket path: the daemon has called listen(2).
func answers(path string) bool {
	if path == "" {
		return true
	}
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// WriteStatus writes st to path atomically (temporary file and rename).
func WriteStatus(path string, st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadStatus reads a status file written by Run.
func ReadStatus(path string) (Status, error) {
	var st Status
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("systoled: status file %s: %w", path, err)
	}
	return st, nil
}

// prefixWriter writes complete lines with a prefix.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
