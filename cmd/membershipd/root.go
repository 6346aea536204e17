package main

import (
	"context"
	"fmt"
	"github.com/systole/systole/internal/realtime"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/membership/server"
)

type options struct {
	config    string
	runDir    string
	socket    string
	msgSocket string
	stateDir  string
	node      string
	logLevel  string
	realtime  int
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.config, "config", "/etc/systole/ha.cf", "ha.cf file (node lines, timers, quorum_votes, expected_votes, two_node)")
	fs.StringVar(&o.runDir, "run-dir", "/run/systole", "run directory holding the API sockets")
	fs.StringVar(&o.socket, "socket", "", "unix socket of the local API (default <run-dir>/membership.sock)")
	fs.StringVar(&o.msgSocket, "messaging-socket", "", "messagingd's API socket (default <run-dir>/messaging.sock)")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/systole/membership", "directory of the persistent hard state (view numbers)")
	fs.StringVar(&o.node, "node", "", "this node's name (default: the host name)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.realtime, "realtime", 10, "SCHED_RR priority (1-99) so that the membership timers keep their timing under load, like messagingd; 0 keeps normal scheduling")
}

func (o *options) apiSocket() string {
	if o.socket != "" {
		return o.socket
	}
	return filepath.Join(o.runDir, "membership.sock")
}

func (o *options) messagingSocket() string {
	if o.msgSocket != "" {
		return o.msgSocket
	}
	return filepath.Join(o.runDir, "messaging.sock")
}

func (o *options) nodeName() (string, error) {
	if o.node != "" {
		return o.node, nil
	}
	return os.Hostname()
}

// NewRootCommand returns the membershipd command tree.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "membershipd",
		Short:         "Systole membership daemon: agreed views of fully connected nodes, and quorum",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return run(cmd, o) },
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newStatusCommand(o), newCheckCommand(o))
	return cmd
}

func run(cmd *cobra.Command, o *options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	cfg, err := server.LoadHaCf(o.config)
	if err != nil {
		return err
	}
	node, err := o.nodeName()
	if err != nil {
		return err
	}
	core, err := cfg.CoreConfig(node)
	if err != nil {
		return err
	}
	store, err := server.OpenStore(o.stateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	s, err := server.New(server.Options{Core: core, Store: store, MessagingSocket: o.messagingSocket(), Logger: log})
	if err != nil {
		return err
	}
	if o.realtime > 0 {
		if err := realtime.Set(o.realtime); err != nil {
			log.Warn("realtime scheduling not available; peers may be counted down under load", "err", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return s.Run(ctx, o.apiSocket())
}
