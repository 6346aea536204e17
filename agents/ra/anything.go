package ra

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Anything runs any command as a supervised daemon: start launches it in
// its own session with a pid file, monitor checks that pid is alive,
// stop sends SIGTERM then SIGKILL.
type Anything struct{}

// Name implements Agent.
func (Anything) Name() string { return "anything" }

// Metadata implements Agent.
func (Anything) Metadata() string {
	return metaXML("anything", "Manages an arbitrary service",
		"Runs any command as a daemon: the command is started in the background with a pid file, monitored by its pid and stopped with SIGTERM (then SIGKILL after stop_timeout).",
		param("binfile", "string", "", "Full path name of the binary to be executed",
			"The command to run: a full path, or a name looked up in PATH.", ` required="1" unique="0"`)+
			param("cmdline_options", "string", "", "Command line options", "Options appended to binfile (split by the shell).", "")+
			param("workdir", "string", "/", "Working directory", "The directory the command runs in.", "")+
			param("pidfile", "string", "", "File to write the pid to",
				"Where the pid of the command is kept (default HA_RSCTMP/anything-INSTANCE.pid).", ` unique-group="pidfile"`)+
			param("logfile", "string", "/dev/null", "File to write STDOUT to", "The command's standard output goes here (appended).", "")+
			param("errlogfile", "string", "", "File to write STDERR to", "The command's standard error goes here (appended; default: logfile).", "")+
			param("stop_timeout", "integer", "", "Seconds to wait after SIGTERM",
				"How long stop waits after SIGTERM before SIGKILL (default: two thirds of the stop timeout).", ""),
		`<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" depth="0" timeout="20s" interval="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
`)
}

func (Anything) pidfile(e *Env) string {
	return e.Param("pidfile", e.StatePath("anything", "pid"))
}

// pidAlive returns the pid in the pid file if that process exists and is
// not a zombie.
func (a Anything) pidAlive(e *Env) (int, bool) {
	b, err := os.ReadFile(a.pidfile(e))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	return pid, processAlive(pid)
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z' && s[i+2] != 'X'
}

// Run implements Agent.
func (a Anything) Run(e *Env) int {
	bin := e.Param("binfile", "")
	switch e.Action {
	case "validate-all":
		if bin == "" {
			return e.Fail(ErrConfigured, "binfile is required")
		}
		if e.CheckLevel() > 0 {
			if _, err := exec.LookPath(bin); err != nil {
				return e.Fail(ErrInstalled, "binfile %s: %v", bin, err)
			}
		}
		return OK
	case "monitor":
		if _, ok := a.pidAlive(e); ok {
			return OK
		}
		return NotRunning
	case "start":
		return a.start(e, bin)
	case "stop":
		return a.stop(e)
	}
	return ErrUnimplemented
}

func (a Anything) start(e *Env, bin string) int {
	if bin == "" {
		return e.Fail(ErrConfigured, "binfile is required")
	}
	if _, ok := a.pidAlive(e); ok {
		return OK
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return e.Fail(ErrInstalled, "binfile %s: %v", bin, err)
	}
	openLog := func(name string) (*os.File, error) {
		return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	}
	out, err := openLog(e.Param("logfile", "/dev/null"))
	if err != nil {
		return e.Fail(ErrPerm, "logfile: %v", err)
	}
	defer out.Close()
	errf := out
	if p := e.Param("errlogfile", ""); p != "" {
		if errf, err = openLog(p); err != nil {
			return e.Fail(ErrPerm, "errlogfile: %v", err)
		}
		defer errf.Close()
	}
	// The shell splits cmdline_options like Debian's anything agent does;
	// exec replaces the shell so the pid is the command's.
	script := `exec "$0" ` + e.Param("cmdline_options", "")
	c := exec.Command("/bin/sh", "-c", script, path)
	c.Dir = e.Param("workdir", "/")
	c.Stdout, c.Stderr = out, errf
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return e.Fail(ErrGeneric, "cannot start %s: %v", path, err)
	}
	pid := c.Process.Pid
	if err := writeFileAtomic(a.pidfile(e), []byte(strconv.Itoa(pid)+"\n")); err != nil {
		_ = c.Process.Kill()
		return e.Fail(ErrGeneric, "cannot write pid file: %v", err)
	}
	// Reap the child if it exits quickly, so a failing command is reported
	// by start rather than by the next monitor.
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		os.Remove(a.pidfile(e))
		return e.Fail(ErrGeneric, "%s exited right after start: %v", path, err)
	case <-time.After(200 * time.Millisecond):
	}
	_ = c.Process.Release()
	return OK
}

func (a Anything) stop(e *Env) int {
	pid, ok := a.pidAlive(e)
	if !ok {
		if err := os.Remove(a.pidfile(e)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return e.Fail(ErrGeneric, "cannot remove pid file: %v", err)
		}
		return OK
	}
	grace := 0 * time.Second
	if s := e.Param("stop_timeout", ""); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return e.Fail(ErrConfigured, "stop_timeout=%q is not a number of seconds", s)
		}
		grace = time.Duration(n) * time.Second
	} else if ms, err := strconv.Atoi(e.Meta["timeout"]); err == nil && ms > 0 {
		grace = time.Duration(ms) * time.Millisecond * 2 / 3
	} else {
		grace = 10 * time.Second
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(pid) {
		e.Logf("WARNING", "pid %d ignored SIGTERM for %v, sending SIGKILL", pid, grace)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; processAlive(pid) && i < 100; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if processAlive(pid) {
		return e.Fail(ErrGeneric, "pid %d survived SIGKILL", pid)
	}
	os.Remove(a.pidfile(e))
	return OK
}
