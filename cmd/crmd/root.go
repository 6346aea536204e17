package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/crm/server"
	memclient "github.com/systole/systole/membership/client"
	msgclient "github.com/systole/systole/messaging/client"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
)

type options struct {
	shutdownWait   time.Duration
	node           string
	runDir         string
	stateDir       string
	socket         string
	msgSocket      string
	memSocket      string
	logLevel       string
	noQuorumPolicy string
	lrmdSocket     string
	pengineSocket  string
	tengineSocket  string
	stonithSocket  string
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.node, "node", "", "this node's name, as in the membership (default: the host name)")
	fs.StringVar(&o.runDir, "run-dir", "/run/systole", "run directory holding the API sockets")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/systole/crm", "directory of the CIB store (cib.db)")
	fs.StringVar(&o.socket, "socket", "", "unix socket of the CIB service that cibadmin uses (default <run-dir>/cib.sock, cibadmin's CIB_socket default)")
	fs.StringVar(&o.msgSocket, "messaging-socket", "", "messagingd's API socket (default <run-dir>/messaging.sock)")
	fs.StringVar(&o.memSocket, "membership-socket", "", "membershipd's API socket (default <run-dir>/membership.sock)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.noQuorumPolicy, "no-quorum-policy", "", "stop, freeze or ignore: whether a partition without quorum elects a DC (ignore only); overrides crm_config's no-quorum-policy (default: crm_config's, else stop)")
	fs.StringVar(&o.lrmdSocket, "lrmd-socket", "", "lrmd's API socket (default <run-dir>/lrmd.sock)")
	fs.StringVar(&o.pengineSocket, "pengine-socket", "", "pengine's API socket, used on the DC (default <run-dir>/pengine.sock)")
	fs.StringVar(&o.tengineSocket, "tengine-socket", "", "tengine's API socket, used on the DC (default <run-dir>/tengine.sock)")
	fs.DurationVar(&o.shutdownWait, "shutdown-timeout", 4*time.Second, "on SIGTERM, how long to wait for the DC to move this node's resources away before leaving (0: leave at once); keep it below systoled's --stop-grace")
	fs.StringVar(&o.stonithSocket, "stonith-socket", "", "stonithd's API socket, used on the DC to fence (default <run-dir>/stonithd.sock)")
}

func (o *options) path(flag, name string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(o.runDir, name)
}

// NewRootCommand returns the crmd command.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "crmd",
		Short:         "Systole CRM daemon: DC election, CIB replication and the live CIB service",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return run(cmd, o) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func run(cmd *cobra.Command, o *options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	name := o.node
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--node: %w", err)
		}
		name = h
	}
	core := crm.DefaultConfig(name)
	if o.noQuorumPolicy != "" {
		core.NoQuorumPolicy = crm.NoQuorumPolicy(o.noQuorumPolicy)
	}
	core.Logger = log
	core.SendAhead = true // patches go out while the DC fsyncs; see docs/crm.md
	if err := core.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	store, err := cib.OpenStore(filepath.Join(o.stateDir, "cib.db"), cib.DefaultStoreOptions())
	if err != nil {
		return err
	}
	defer store.Close()

	mc, err := msgclient.Dial(o.path(o.msgSocket, "messaging.sock"))
	if err != nil {
		return err
	}
	defer mc.Close()
	mem, err := memclient.Dial(o.path(o.memSocket, "membership.sock"))
	if err != nil {
		return err
	}
	defer mem.Close()

	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func(flag, name string) (*grpc.ClientConn, error) {
		abs, err := filepath.Abs(o.path(flag, name))
		if err != nil {
			return nil, err
		}
		c, err := grpc.NewClient("unix://"+abs, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", name, err)
		}
		conns = append(conns, c)
		return c, nil
	}
	lc, err := dial(o.lrmdSocket, "lrmd.sock")
	if err != nil {
		return err
	}
	pc, err := dial(o.pengineSocket, "pengine.sock")
	if err != nil {
		return err
	}
	tc, err := dial(o.tengineSocket, "tengine.sock")
	if err != nil {
		return err
	}
	sc, err := dial(o.stonithSocket, "stonithd.sock")
	if err != nil {
		return err
	}
	cfg := server.Config{
		Logger:         log,
		NoQuorumPolicy: crm.NoQuorumPolicy(o.noQuorumPolicy),
		LRM:            lrmv1.NewLRMServiceClient(lc),
		PEngine:        penginev1.NewPEngineServiceClient(pc),
		TEngine:        tenginev1.NewTransitionServiceClient(tc),
		Stonith:        stonithv1.NewStonithServiceClient(sc),
	}
	s, err := server.New(core, store, server.Messaging{C: mc}, cfg)
	if err != nil {
		return err
	}
	lis, sock, err := listen(o.path(o.socket, "cib.sock"), log)
	if err != nil {
		return err
	}
	defer os.Remove(sock)

	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigCtx.Done():
		case <-ctx.Done():
			return
		}
		stop() // a second signal ends crmd at once
		if o.shutdownWait > 0 {
			sctx, scancel := context.WithTimeout(ctx, o.shutdownWait)
			if err := s.Shutdown(sctx); err != nil {
				log.Warn("leaving without a clean shutdown", "err", err)
			}
			scancel()
		}
		cancel()
	}()

	var wg sync.WaitGroup
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); runErr <- s.Run(ctx); cancel() }()
	// subscribe before following views, so that no vote of this view is
	// missed (the core repeats them anyway)
	subscribed := make(chan struct{})
	wg.Add(4)
	go func() { defer wg.Done(); server.FollowMessaging(ctx, s, mc, subscribed) }()
	go func() { defer wg.Done(); server.FollowLRM(ctx, s) }()
	go func() {
		defer wg.Done()
		select {
		case <-subscribed:
		case <-time.After(5 * time.Second):
			log.Warn("messagingd not reachable yet; following the membership anyway")
		case <-ctx.Done():
			return
		}
		server.FollowMembership(ctx, s, mem)
	}()
	serveErr := make(chan error, 1)
	go func() { defer wg.Done(); serveErr <- s.Serve(ctx, lis); cancel() }()
	log.Info("crmd started", "node", name, "socket", sock, "state", o.stateDir)
	wg.Wait()
	if err := <-runErr; err != nil {
		return err
	}
	return <-serveErr
}

// listen opens the CIB service socket: replaced if it exists, readable and
// writable by root and group haclient only (the CLIs' access rule).
func listen(path string, log *slog.Logger) (net.Listener, string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", fmt.Errorf("socket dir: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("remove stale socket: %w", err)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		lis.Close()
		return nil, "", fmt.Errorf("chmod %s: %w", path, err)
	}
	if g, err := user.LookupGroup("haclient"); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			if err := os.Chown(path, -1, gid); err != nil {
				log.Warn("cannot give the CIB socket to group haclient", "err", err)
			}
		}
	}
	return lis, path, nil
}
