package main

import (
	"context"
	"fmt"
	"github.com/systole/systole/internal/realtime"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/messaging/client"
	"github.com/systole/systole/messaging/server"
)

type options struct {
	config   string
	authkeys string
	stateDir string
	socket   string
	node     string
	logLevel string
	cpuProf  string
	realtime int
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.config, "config", "/etc/systole/ha.cf", "ha.cf file")
	fs.StringVar(&o.authkeys, "authkeys", "/etc/systole/authkeys", "authkeys file (mode 0600)")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/systole/messaging", "directory of the persistent generation number")
	fs.StringVar(&o.socket, "socket", client.DefaultSocket, "unix socket of the local API")
	fs.StringVar(&o.node, "node", "", "this node's name (default: the host name)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.realtime, "realtime", 10, "SCHED_RR priority (1-99) so that failure detection keeps its timing under load; 0 keeps normal scheduling")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile to this file until exit (diagnostics)")
	_ = fs.MarkHidden("cpuprofile")
}

func (o *options) nodeName() (string, error) {
	if o.node != "" {
		return o.node, nil
	}
	return os.Hostname()
}

// NewRootCommand returns the messagingd command tree.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "messagingd",
		Short:         "Systole messaging daemon: heartbeats and reliable cluster messages",
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
	h, err := server.LoadHaCf(o.config)
	if err != nil {
		return err
	}
	for _, ig := range h.Ignored {
		log.Info("directive ignored", "where", ig)
	}
	keys, err := server.LoadAuthkeys(o.authkeys)
	if err != nil {
		return err
	}
	node, err := o.nodeName()
	if err != nil {
		return err
	}
	gen, err := server.NextGeneration(o.stateDir, time.Now())
	if err != nil {
		return err
	}
	media, err := server.OpenMedia(h)
	if err != nil {
		return err
	}
	s, err := server.New(server.Options{Config: h, Keys: keys, Node: node, Generation: gen, Media: media, Logger: log})
	if err != nil {
		for _, m := range media {
			m.Close()
		}
		return err
	}
	if o.realtime > 0 {
		if err := realtime.Set(o.realtime); err != nil {
			log.Warn("realtime scheduling not available; detection may be late under load", "err", err)
		}
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return s.Run(ctx, o.socket)
}
