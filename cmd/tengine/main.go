// Command tengine is Systole's transition engine daemon: it serves
// tengine.v1.TransitionService on a unix socket (default
// <run-dir>/tengine.sock, mode 0600) and executes each graph the DC's
// crmd hands it through crmd's CRMService.ExecuteAction (on
// <run-dir>/cib.sock). See docs/tengine.md and docs/dc.md.
package main

import (
	"context"
	"crypto/rand"
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
	"google.golang.org/grpc/credentials/insecure"

	crmv1 "github.com/systole/systole/proto/crm/v1"
	"github.com/systole/systole/tengine/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tengine:", err)
		os.Exit(1)
	}
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("tengine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", "/run/systole", "directory for the sockets")
	socket := fs.String("socket", "", "unix socket to serve TransitionService on (default RUN-DIR/tengine.sock)")
	crmdSocket := fs.String("crmd-socket", "", "crmd's socket for CRMService.ExecuteAction (default RUN-DIR/cib.sock)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&cfg.Engine.DefaultTimeout, "default-timeout", cfg.Engine.DefaultTimeout, "timeout of an action whose graph names none")
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
	uuid, err := newUUID()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("daemon", "tengine")
	cfg.Logger = log
	cfg.UUID = uuid
	if *socket == "" {
		*socket = filepath.Join(*runDir, "tengine.sock")
	}
	if *crmdSocket == "" {
		*crmdSocket = filepath.Join(*runDir, "cib.sock")
	}
	if err := os.MkdirAll(filepath.Dir(*socket), 0o750); err != nil {
		return err
	}
	// The connection is lazy: crmd may start after tengine; each call
	// waits for it (until the action's deadline).
	conn, err := grpc.NewClient("unix://"+*crmdSocket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		return err
	}
	defer conn.Close()
	srv, err := server.New(cfg, crmv1.NewCRMServiceClient(conn))
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
	log.Info("tengine started", "socket", *socket, "crmd", *crmdSocket, "uuid", uuid)
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
	}
	log.Info("tengine stopping")
	// A running graph ends when its Run call is cancelled and its running
	// actions finish; do not wait longer than a few seconds for that.
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
