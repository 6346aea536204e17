package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/systole/systole/messaging"
	"github.com/systole/systole/supervisor"
	"github.com/systole/systole/supervisor/server"
)

func newStartCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "run the node's stack in the foreground until SIGTERM or SIGINT",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return start(cmd, o) },
	}
}

// daemonSpec is one daemon of the stack and how to run it.
type daemonSpec struct {
	name     string
	restart  supervisor.Restart
	socket   string
	args     []string
	env      []string
	optional string // why running without it is fine; "" = required
}

func (o *options) specs(node string) []daemonSpec {
	rd, sd := o.runDir, o.stateDir
	sock := func(n string) string { return filepath.Join(rd, n) }
	rt := strconv.Itoa(o.realtime)
	var lrmd []string
	lrmd = append(lrmd, "--run-dir", rd)
	if o.ocfRoot != "" {
		lrmd = append(lrmd, "--ocf-root", o.ocfRoot)
	}
	if o.logLevel == "debug" {
		lrmd = append(lrmd, "--verbose")
	}
	// Agents call the cluster tools (Stateful and ping run crm_attribute):
	// they must find Systole's tools first on PATH and this node's crmd.
	lrmdEnv := []string{"CIB_socket=" + sock("cib.sock")}
	if dir := o.toolDir(); dir != "" {
		lrmdEnv = append(lrmdEnv, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	if o.rscTmp != "" {
		lrmdEnv = append(lrmdEnv, "HA_RSCTMP="+o.rscTmp)
	}
	return []daemonSpec{
		{name: "messagingd", restart: supervisor.RestartStack, socket: sock("messaging.sock"),
			args: []string{"--config", o.haCf, "--authkeys", o.authkeys, "--state-dir", filepath.Join(sd, "messaging"),
				"--socket", sock("messaging.sock"), "--node", node, "--log-level", o.logLevel, "--realtime", rt}},
		{name: "membershipd", restart: supervisor.RestartStack, socket: sock("membership.sock"),
			args: []string{"--config", o.haCf, "--run-dir", rd, "--state-dir", filepath.Join(sd, "membership"),
				"--node", node, "--log-level", o.logLevel, "--realtime", rt}},
		{name: "lrmd", restart: supervisor.RestartStack, socket: sock("lrmd.sock"), args: lrmd, env: lrmdEnv},
		{name: "pengine", restart: supervisor.RestartAlone, socket: sock("pengine.sock"),
			args: []string{"--run-dir", rd, "--log-level", o.logLevel}, optional: "the DC cannot compute transitions"},
		{name: "tengine", restart: supervisor.RestartAlone, socket: sock("tengine.sock"),
			args: []string{"--run-dir", rd, "--log-level", o.logLevel}, optional: "the DC cannot execute transitions"},
		{name: "crmd", restart: supervisor.RestartStack, socket: sock("cib.sock"),
			args: []string{"--node", node, "--run-dir", rd, "--state-dir", filepath.Join(sd, "crm"), "--log-level", o.logLevel}},
		// After crmd: stonithd reads the devices from crmd's CIB. Alone:
		// its history is re-read from the peers and the devices from the
		// CIB, so a restart loses nothing the cluster needs.
		{name: "stonithd", restart: supervisor.RestartAlone, socket: sock("stonithd.sock"),
			args: []string{"--node", node, "--run-dir", rd, "--log-level", o.logLevel}, optional: "nodes cannot be fenced"},
	}
}

// toolDir is where Systole's binaries are: --bin-dir, else systoled's own
// directory ("" when unknown).
func (o *options) toolDir() string {
	if o.binDir != "" {
		if d, err := filepath.Abs(o.binDir); err == nil {
			return d
		}
		return o.binDir
	}
	if self, err := os.Executable(); err == nil {
		return filepath.Dir(self)
	}
	return ""
}

// findBinary looks for name in --bin-dir, else beside systoled, else PATH.
func (o *options) findBinary(name string) (string, error) {
	if o.binDir != "" {
		p := filepath.Join(o.binDir, name)
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func start(cmd *cobra.Command, o *options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	node, err := o.nodeName()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("node", node)
	for _, d := range []string{o.runDir, o.stateDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	// The ha.cf deadtime sets how long a restarting stack stays down:
	// long enough for the peers to see the node leave.
	cfg := supervisor.DefaultConfig()
	cfg.StopGrace = o.stopGrace
	b, err := os.ReadFile(o.haCf)
	if err != nil {
		return fmt.Errorf("ha.cf: %w", err)
	}
	h, err := messaging.ParseHaCf(o.haCf, b)
	if err != nil {
		return err
	}
	cfg.RejoinDelay = max(cfg.RejoinDelay, 2*h.Deadtime)

	var children []server.Child
	for _, s := range o.specs(node) {
		path, err := o.findBinary(s.name)
		if err != nil {
			if s.optional == "" {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			log.Warn(s.name+" not found; running without it: "+s.optional, "err", err)
			continue
		}
		children = append(children, server.Child{Name: s.name, Restart: s.restart, Path: path, Args: s.args, Env: s.env, Socket: s.socket})
	}
	unlock, err := lockPidFile(o.pidFile())
	if err != nil {
		return err
	}
	defer unlock()
	logDir := o.logDir
	switch logDir {
	case "":
		logDir = filepath.Join(o.runDir, "logs")
	case "-":
		logDir = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("starting", "run_dir", o.runDir, "state_dir", o.stateDir, "daemons", len(children))
	err = server.Run(ctx, server.Options{
		Node: node, Children: children, Core: cfg, LogDir: logDir, Stderr: cmd.ErrOrStderr(),
		StatusFile: o.statusFile(), Log: log,
		OnRunning: func() { notify("READY=1\nSTATUS=all daemons up") },
	})
	notify("STOPPING=1")
	_ = os.Remove(o.statusFile())
	if err != nil {
		log.Error("stopped", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// lockPidFile takes an exclusive lock on the pidfile and writes our pid in
// it, so two supervisors never run one node.
func lockPidFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		b, _ := os.ReadFile(path)
		return nil, fmt.Errorf("already running (pid %s, %s locked)", strings.TrimSpace(string(b)), path)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, err
	}
	return func() { os.Remove(path); f.Close() }, nil
}

// notify sends a message to systemd when run as a Type=notify unit.
func notify(msg string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(msg))
}
