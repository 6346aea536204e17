// Command stonithd is Systole's fencing daemon: it serves
// stonith.v1.StonithService on a unix socket (default
// <run-dir>/stonithd.sock, mode 0660, root, its own user and group
// haclient only), reads the fence devices and the fencing topology from
// crmd's CIB (CIBService.Watch on <run-dir>/cib.sock), runs fence agents,
// and shares results and history with the other nodes' stonithds over
// messagingd (channel stonithd). See docs/stonith.md.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cibclient "github.com/systole/systole/cib/client"
	msgclient "github.com/systole/systole/messaging/client"
	"github.com/systole/systole/stonith"
	"github.com/systole/systole/stonith/agent"
	"github.com/systole/systole/stonith/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "stonithd:", err)
		os.Exit(1)
	}
}

// dirList is a repeatable, comma-separated list flag; the first use
// replaces the default.
type dirList struct {
	dirs []string
	set  bool
}

func (d *dirList) String() string { return strings.Join(d.dirs, ",") }

func (d *dirList) Set(v string) error {
	if !d.set {
		d.dirs, d.set = nil, true
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			d.dirs = append(d.dirs, p)
		}
	}
	return nil
}

// defaultAgentDirs is /usr/sbin (fence-agents) and the directory of this
// binary (Systole's own agents, such as fence_systole_lab).
func defaultAgentDirs() []string {
	dirs := []string{agent.DefaultConfig().Dir}
	if self, err := os.Executable(); err == nil {
		if d := filepath.Dir(self); d != dirs[0] {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("stonithd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	node := fs.String("node", "", "this node's name, as in the membership (default: the host name)")
	runDir := fs.String("run-dir", "/run/systole", "directory of the sockets")
	socket := fs.String("socket", "", "unix socket to serve StonithService on (default RUN-DIR/stonithd.sock)")
	cibSocket := fs.String("cib-socket", "", "crmd's CIB service socket, for the devices and the topology (default RUN-DIR/cib.sock)")
	msgSocket := fs.String("messaging-socket", "", "messagingd's API socket (default RUN-DIR/messaging.sock)")
	standalone := fs.Bool("standalone", false, "no messagingd: results are not shared and this node fences itself locally (tests, single node)")
	agentDirs := &dirList{dirs: defaultAgentDirs()}
	fs.Var(agentDirs, "agent-dir", "directories of the fence agents, comma-separated or repeated (default /usr/sbin and this binary's directory)")
	wdDevice := fs.String("watchdog-device", server.DefaultWatchdogDevice, "watchdog petted when stonith-watchdog-timeout > 0")
	monitorInterval := fs.Duration("monitor-interval", 60*time.Second, "default interval of the devices' recurring monitor (pcmk_monitor_interval overrides; 0 disables)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if len(agentDirs.dirs) == 0 {
		return errors.New("--agent-dir: no directory")
	}
	if *node == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--node: %w", err)
		}
		*node = h
	}
	path := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		return filepath.Join(*runDir, name)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("daemon", "stonithd", "node", *node)

	acfg := agent.DefaultConfig()
	acfg.Dir, acfg.Dirs = agentDirs.dirs[0], agentDirs.dirs[1:]
	runner, err := agent.New(acfg, log)
	if err != nil {
		return err
	}
	cfg := stonith.DefaultConfig()
	cfg.Node = *node
	cfg.FirstID = server.FirstID(*node, time.Now())
	var seed [8]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return err
	}
	s, err := server.New(cfg, rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:]), 0)), runner, log)
	if err != nil {
		return err
	}
	s.SetAgents(runner)
	s.SetWatchdogDevice(*wdDevice)
	s.SetMonitorInterval(*monitorInterval)

	cibc, err := cibclient.DialUnix(path(*cibSocket, "cib.sock"))
	if err != nil {
		return err
	}
	defer cibc.Close()
	var mc *msgclient.Client
	if !*standalone {
		if mc, err = msgclient.Dial(path(*msgSocket, "messaging.sock")); err != nil {
			return err
		}
		defer mc.Close()
		s.EnablePeers(server.Messaging{C: mc})
	}

	sock := path(*socket, "stonithd.sock")
	lis, err := listen(sock, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	loopDone := make(chan error, 1)
	go func() { loopDone <- s.Run(ctx); cancel() }()
	cibReady := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); server.WatchCIB(ctx, s, cibc, cibReady) }()
	// Unfencing when this node joins: stonithd starts with the node's
	// stack, so once the first configuration is known.
	go func() {
		defer wg.Done()
		select {
		case <-cibReady:
		case <-ctx.Done():
			return
		}
		if _, err := s.UnfenceSelf(ctx); err != nil && ctx.Err() == nil {
			log.Error("unfencing failed", "err", err)
		}
	}()
	wg.Add(1)
	go func() { defer wg.Done(); s.MonitorLoop(ctx) }()
	if mc != nil {
		wg.Add(3)
		go func() { defer wg.Done(); s.SendLoop(ctx) }()
		go func() { defer wg.Done(); server.FollowMessaging(ctx, s, mc, nil) }()
		go func() { defer wg.Done(); server.FollowPeers(ctx, s, mc) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ctx, s, lis, server.DefaultAccessPolicy()); cancel() }()
	log.Info("stonithd started", "socket", sock, "cib", path(*cibSocket, "cib.sock"), "agent_dirs", agentDirs.String(),
		"standalone", *standalone)
	<-ctx.Done()
	log.Info("stonithd stopping")
	err = <-loopDone
	if serr := <-serveErr; err == nil {
		err = serr
	}
	wg.Wait()
	_ = os.Remove(sock)
	return err
}

// listen opens the API socket: replaced if it exists, readable and
// writable by its owner and group haclient only (as crmd's cib.sock).
func listen(path string, log *slog.Logger) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket dir: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		lis.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	if g, err := user.LookupGroup("haclient"); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			if err := os.Chown(path, -1, gid); err != nil {
				log.Warn("cannot give the socket to group haclient", "err", err)
			}
		}
	}
	return lis, nil
}
