package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/systole/systole/internal/cts"
)

// newCTSCommand is `systole cts`: the cluster test suite on a lab cluster.
func newCTSCommand() *cobra.Command {
	cfg := cts.DefaultConfig()
	var (
		seed    int64
		tests   string
		keepDir bool
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "cts",
		Short: "Cluster test suite: a random, seeded schedule of faults on a lab cluster, invariants checked after every step (root)",
		Long: `cts builds a cluster of --nodes whole Systole nodes in network namespaces (internal/lab), loads a
resource configuration (Dummies, a group with a virtual IP, a second virtual IP, a clone,
constraints) and plays --iterations tests drawn from a schedule seeded by --seed:
` + strings.Join(cts.TestNames(), ", ") + `.
After every step it checks: at most one DC per quorate partition; every resource active where the
DC's CIB says and nowhere else (Dummy state files, addresses, ARP from a watcher namespace), the
policy engine idle; no resource ever active twice (a sampler every 50 ms); the CIB identical on
all members with every acknowledged write; no daemon crashed; the fencing history (with
stonith-enabled). It prints a line per step and a table, and exits non-zero on any failure with
the command that replays the schedule. Logs of failed steps are kept in DIR/failures.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("cts needs root (network namespaces)")
			}
			if !cmd.Flags().Changed("seed") {
				var b [8]byte
				_, _ = rand.Read(b[:])
				seed = int64(binary.LittleEndian.Uint64(b[:]) >> 33)
			}
			cfg.Seed = seed
			if tests != "" {
				cfg.Tests = strings.Split(tests, ",")
			}
			if cfg.BinDir == "" {
				self, err := os.Executable()
				if err != nil {
					return err
				}
				cfg.BinDir = filepath.Dir(self)
			}
			for _, b := range []string{"systoled", "messagingd", "membershipd", "lrmd", "crmd", "pengine", "tengine",
				"cibadmin", "crm_attribute", "crm_standby", "crm_resource", "systole-ra"} {
				if _, err := os.Stat(filepath.Join(cfg.BinDir, b)); err != nil {
					return fmt.Errorf("%s missing in %s (make build, or --bin-dir)", b, cfg.BinDir)
				}
			}
			if cfg.Dir == "" {
				d, err := os.MkdirTemp("", "systole-cts-")
				if err != nil {
					return err
				}
				cfg.Dir = d
			}
			out := cmd.OutOrStdout()
			cfg.Out = out
			if verbose {
				cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := cts.Run(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(out)
			rep.WriteTable(out)
			failed := rep.Failed()
			if !failed && !keepDir {
				_ = os.RemoveAll(cfg.Dir)
			} else {
				fmt.Fprintf(out, "lab directory kept: %s\n", cfg.Dir)
			}
			if failed {
				return fmt.Errorf("cts failed; replay with: %s", rep.Replay())
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&cfg.Nodes, "nodes", "n", cfg.Nodes, "number of nodes (3..16)")
	fs.IntVarP(&cfg.Iterations, "iterations", "i", cfg.Iterations, "number of tests to run")
	fs.Int64Var(&seed, "seed", 0, "seed of the schedule (default: random, printed)")
	fs.StringVar(&tests, "tests", "", "comma-separated tests to draw from (default: all)")
	fs.StringVar(&cfg.BinDir, "bin-dir", "", "directory of the Systole binaries (default: this command's directory)")
	fs.StringVar(&cfg.Dir, "dir", "", "lab directory (default: a new temporary directory, removed after a run that passed)")
	fs.BoolVar(&keepDir, "keep", false, "keep the lab directory (logs) after a run that passed")
	fs.BoolVar(&cfg.Stonith, "stonith", false, "stonith-enabled=true (NodeKill and the fencing checks run; needs stonithd and a fence device)")
	fs.DurationVar(&cfg.Keepalive, "keepalive", 100*time.Millisecond, "ha.cf keepalive")
	fs.DurationVar(&cfg.Deadtime, "deadtime", 500*time.Millisecond, "ha.cf deadtime")
	fs.DurationVar(&cfg.SettleTimeout, "settle-timeout", cfg.SettleTimeout, "longest wait for a stable cluster after a step")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "daemons' log level")
	fs.BoolVarP(&verbose, "verbose", "v", false, "log the suite's details to stderr")
	return cmd
}
