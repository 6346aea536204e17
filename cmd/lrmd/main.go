// Command lrmd is Systole's local resource manager daemon: it runs
// resource agent actions (OCF and LSB) for the CRM over gRPC on a unix
// socket, with per-resource serialization, recurring monitors, timeouts
// and an operation history. See docs/lrm.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
	"github.com/systole/systole/lrm/server"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lrmd:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(args []string, stderr io.Writer) error {
	core := lrm.DefaultConfig()
	ex := executor.DefaultConfig()
	fs := flag.NewFlagSet("lrmd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", "/run/systole", "directory for the socket and the agent process-group state file")
	socket := fs.String("socket", "", "unix socket to serve LRMService on (default RUN-DIR/lrmd.sock)")
	fs.StringVar(&ex.OCFRoot, "ocf-root", envOr("OCF_ROOT", ex.OCFRoot), "OCF root (agents in resource.d/PROVIDER/TYPE)")
	fs.StringVar(&ex.LSBRoot, "lsb-root", ex.LSBRoot, "directory of LSB init scripts")
	fs.IntVar(&core.MaxParallel, "max-parallel", core.MaxParallel, "operations running at once across resources")
	fs.DurationVar(&core.DefaultTimeout, "default-timeout", core.DefaultTimeout, "timeout of an operation that names none")
	fs.DurationVar(&ex.KillGrace, "kill-grace", ex.KillGrace, "time between SIGTERM and SIGKILL when an operation times out")
	verbose := fs.Bool("verbose", false, "log every operation at debug level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("daemon", "lrmd")
	if *socket == "" {
		*socket = filepath.Join(*runDir, "lrmd.sock")
	}
	if err := os.MkdirAll(*runDir, 0o750); err != nil {
		return err
	}
	// Agents keep state in HA_RSCTMP; systemd-tmpfiles creates it on
	// distributions that ship resource-agents, lrmd makes sure elsewhere.
	if err := os.MkdirAll(envOr("HA_RSCTMP", "/run/resource-agents"), 0o755); err != nil {
		log.Warn("cannot create the agents' state directory", "err", err)
	}
	ex.StateFile = filepath.Join(*runDir, "lrmd.pgids")
	killed, err := executor.ReapOrphans(ex.StateFile)
	if err != nil {
		return err
	}
	if len(killed) > 0 {
		log.Warn("killed agent process groups left by a previous lrmd", "pgids", killed)
	}
	p, err := executor.New(ex, log)
	if err != nil {
		return err
	}
	srv, err := server.New(core, p, p, log)
	if err != nil {
		return err
	}
	_ = os.Remove(*socket)
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		return err
	}
	_ = os.Chmod(*socket, 0o600)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	g := grpc.NewServer()
	server.Register(g, srv)
	loopDone := make(chan error, 1)
	go func() { loopDone <- srv.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- g.Serve(lis) }()
	log.Info("lrmd started", "socket", *socket, "ocf_root", ex.OCFRoot, "max_parallel", core.MaxParallel)
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		stop()
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
	}
	log.Info("lrmd stopping")
	// Stop the loop first: it interrupts agents and ends pending calls, so
	// the graceful gRPC stop below cannot hang on a waiting Exec.
	err = <-loopDone
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		g.Stop()
	}
	_ = os.Remove(*socket)
	return err
}
