package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/internal/lab"
)

// labOptions are the flags every lab command shares.
type labOptions struct {
	dir string
}

func defaultLabDir() string {
	if d := os.Getenv("SYSTOLE_LAB_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("systole-lab-%d", os.Getuid()))
}

func (o *labOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.dir, "dir", defaultLabDir(), "lab directory (state file lab.json, one directory per node); $SYSTOLE_LAB_DIR")
}

func (o *labOptions) load() (*lab.Cluster, error) { return lab.Load(o.dir) }

// newLabCommand groups the lab commands: a cluster of whole nodes on one
// machine, in network namespaces (root) or on loopback addresses.
func newLabCommand() *cobra.Command {
	o := &labOptions{}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run a test cluster on this machine (namespaces, or loopback without root) and inject faults",
		Long: `A lab is N Systole nodes on this machine, each with its own ha.cf, authkeys, run and state
directories, running systoled. With --loopback the nodes use 127.0.0.11, .12, ... and UDP unicast
(no root needed); otherwise each node is a network namespace on a private bridge (192.0.2.0/24).
The lab's state file lets "systole lab down" remove everything, even after a crash.`,
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newLabUpCommand(o), newLabDownCommand(o), newLabStatusCommand(o),
		newLabNodeCommand(o, "kill", "kill a node outright (SIGKILL to systoled and every daemon)", func(c *lab.Cluster, i int, _ []string) error { return c.KillNode(i) }),
		newLabNodeCommand(o, "restart", "kill a node and start it again (state kept, run directory emptied)", func(c *lab.Cluster, i int, _ []string) error { return c.RestartNode(i) }),
		newLabNodeCommand(o, "start", "start a node that was killed", func(c *lab.Cluster, i int, _ []string) error { return c.StartNode(i) }),
		newLabNodeCommand(o, "stop", "stop a node cleanly (its daemons in reverse order)", func(c *lab.Cluster, i int, _ []string) error { return c.StopNode(i, 30*time.Second) }),
		newLabCutCommand(o),
		newLabNodeCommand(o, "heal", "undo a cut", func(c *lab.Cluster, i int, _ []string) error { return c.Heal(i) }),
		newLabNodeArgCommand(o, "kill-daemon", "DAEMON", "SIGKILL one daemon of a node (systoled restarts it by its policy)", func(c *lab.Cluster, i int, a string) error { return c.KillDaemon(i, a) }),
		newLabNodeArgCommand(o, "fail-resource", "RSC", "make a Dummy resource fail its next monitor on a node (removes its state file)", func(c *lab.Cluster, i int, a string) error { return c.FailResource(i, a) }),
		newLabEnvCommand(o),
	)
	return cmd
}

func newLabUpCommand(o *labOptions) *cobra.Command {
	var (
		n        int
		opts     lab.ClusterOptions
		wait     time.Duration
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "build the lab and start systoled on every node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Dir = o.dir
			opts.LogLevel = logLevel
			if opts.BinDir == "" {
				self, err := os.Executable()
				if err != nil {
					return err
				}
				opts.BinDir = filepath.Dir(self)
			}
			for _, b := range []string{"systoled", "messagingd", "membershipd", "lrmd", "crmd", "cibadmin", "systole-ra"} {
				if _, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil {
					return fmt.Errorf("%s missing in %s (make build, or --bin-dir)", b, opts.BinDir)
				}
			}
			start := time.Now()
			c, err := lab.Up(n, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			mode := "network namespaces on bridge " + c.Bridge
			if c.Loopback {
				mode = fmt.Sprintf("loopback, UDP port %d", c.Port)
			}
			fmt.Fprintf(out, "lab up in %s: %d nodes, %s\n", c.Dir, len(c.Nodes), mode)
			for _, nd := range c.Nodes {
				fmt.Fprintf(out, "  %s  %-12s CIB_socket=%s\n", nd.Name, nd.Addr, nd.CIBSocket())
			}
			if wait > 0 {
				dc, err := c.WaitDC(wait)
				if err != nil {
					return fmt.Errorf("%w (logs in %s/NODE/run/logs; systole lab down --dir %s)", err, c.Dir, c.Dir)
				}
				fmt.Fprintf(out, "DC %s elected %.2f s after start\n", dc, time.Since(start).Seconds())
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&n, "nodes", "n", 3, "number of nodes")
	fs.BoolVar(&opts.Loopback, "loopback", os.Geteuid() != 0, "loopback addresses instead of namespaces (the default without root)")
	fs.StringVar(&opts.BinDir, "bin-dir", "", "directory of the Systole binaries (default: this command's directory)")
	fs.StringVar(&opts.OCFRoot, "ocf-root", "", "OCF root for lrmd (default: DIR/ocf with the systole agents)")
	fs.DurationVar(&opts.Keepalive, "keepalive", 100*time.Millisecond, "ha.cf keepalive")
	fs.DurationVar(&opts.Deadtime, "deadtime", 500*time.Millisecond, "ha.cf deadtime")
	fs.IntVar(&opts.Port, "port", 0, "UDP port (default: 694 in namespaces, a free one on loopback)")
	fs.StringVar(&logLevel, "log-level", "info", "daemons' log level")
	fs.DurationVar(&wait, "wait", 30*time.Second, "wait this long for a DC (0: do not wait)")
	return cmd
}

func newLabDownCommand(o *labOptions) *cobra.Command {
	var keep bool
	return &cobra.Command{
		Use:   "down",
		Short: "stop every node and remove namespaces, bridge and (unless --keep) the lab directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.load()
			if err != nil {
				return err
			}
			if err := c.Down(); err != nil {
				return err
			}
			if !keep {
				if err := os.RemoveAll(c.Dir); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab in %s is down\n", c.Dir)
			return nil
		},
	}
}

func newLabStatusCommand(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "each node's daemons (pid, state, restarts) and the DC",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tADDR\tSYSTOLED\tPHASE\tDAEMONS (pid state restarts)")
			for i, nd := range c.Nodes {
				st, err := c.NodeStatus(i)
				phase, ds := "down", ""
				if nd.Pid != 0 && err == nil {
					phase = st.Phase
					var parts []string
					for _, d := range st.Daemons {
						parts = append(parts, fmt.Sprintf("%s(%d %s %d)", d.Name, d.Pid, d.State, d.Restarts))
					}
					ds = strings.Join(parts, " ")
				}
				pid := "-"
				if nd.Pid != 0 {
					pid = strconv.Itoa(nd.Pid)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", nd.Name, nd.Addr, pid, phase, ds)
			}
			tw.Flush()
			if dc := c.DC(); dc != "" {
				fmt.Fprintf(out, "DC: %s\n", dc)
			} else {
				fmt.Fprintln(out, "DC: none agreed")
			}
			return nil
		},
	}
}

func nodeIndex(c *lab.Cluster, name string) (int, error) {
	i := c.Index(name)
	if i < 0 {
		return 0, fmt.Errorf("no node %q in the lab", name)
	}
	return i, nil
}

func newLabNodeCommand(o *labOptions, use, short string, f func(*lab.Cluster, int, []string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NODE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.load()
			if err != nil {
				return err
			}
			i, err := nodeIndex(c, args[0])
			if err != nil {
				return err
			}
			return f(c, i, args[1:])
		},
	}
}

func newLabNodeArgCommand(o *labOptions, use, arg, short string, f func(*lab.Cluster, int, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NODE " + arg,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.load()
			if err != nil {
				return err
			}
			i, err := nodeIndex(c, args[0])
			if err != nil {
				return err
			}
			return f(c, i, args[1])
		},
	}
}

func newLabCutCommand(o *labOptions) *cobra.Command {
	var oneWay bool
	cmd := newLabNodeCommand(o, "cut", "cut a node's links (namespace mode): it neither sends nor receives", func(c *lab.Cluster, i int, _ []string) error {
		return c.CutLinks(i, oneWay)
	})
	cmd.Flags().BoolVar(&oneWay, "oneway", false, "drop only what the node receives (it is heard, it hears nothing)")
	return cmd
}

func newLabEnvCommand(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "env NODE",
		Short: "print the environment for running the CLIs against a node (eval $(systole lab env node1))",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.load()
			if err != nil {
				return err
			}
			i, err := nodeIndex(c, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export CIB_socket=%s\nunset CIB_file\n", c.Nodes[i].CIBSocket())
			return nil
		},
	}
}
