// Command pengine is Systole's policy engine daemon: it serves
// pengine.v1.PEngineService on a unix socket (default
// <run-dir>/pengine.sock, mode 0600). The DC's crmd sends it the whole CIB
// on every relevant change and gets the transition graph back. See
// docs/dc.md and docs/tengine.md.
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

	"github.com/systole/systole/pengine/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pengine:", err)
		os.Exit(1)
	}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("pengine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", "/run/systole", "directory for the socket")
	socket := fs.String("socket", "", "unix socket to serve PEngineService on (default RUN-DIR/pengine.sock)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.IntVar(&cfg.MaxConcurrent, "max-concurrent", cfg.MaxConcurrent, "computations running at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("daemon", "pengine")
	cfg.Logger = log
	if *socket == "" {
		*socket = filepath.Join(*runDir, "pengine.sock")
	}
	if err := os.MkdirAll(filepath.Dir(*socket), 0o750); err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	_ = os.Remove(*socket)
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		return err
	}
	if err := os.Chmod(*socket, 0o600); err != nil {
		lis.Close()
		return err
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(1 << 30))
	server.Register(g, srv)
	serveDone := make(chan error, 1)
	go func() { serveDone <- g.Serve(lis) }()
	log.Info("pengine started", "socket", *socket)
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
	}
	log.Info("pengine stopping")
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		g.Stop()
	}
	_ = os.Remove(*socket)
	return nil
}
