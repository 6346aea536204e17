package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// options are systoled's settings: flags, with defaults from --config.
type options struct {
	config    string
	node      string
	runDir    string
	stateDir  string
	haCf      string
	authkeys  string
	binDir    string
	ocfRoot   string
	rscTmp    string
	logDir    string
	logLevel  string
	realtime  int
	stopGrace time.Duration
	timeout   time.Duration
}

// DefaultConfigFile is read when it exists and --config is not given.
const DefaultConfigFile = "/etc/systole/systoled.conf"

func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "settings file: one FLAG VALUE per line, # comments (default "+DefaultConfigFile+" if it exists); flags given on the command line win")
	fs.StringVar(&o.node, "node", "", "this node's name (default: the host name)")
	fs.StringVar(&o.runDir, "run-dir", "/run/systole", "run directory: sockets, pidfile, status file, logs/")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/systole", "state directory: messaging/, membership/, crm/ below it")
	fs.StringVar(&o.haCf, "ha-cf", "/etc/systole/ha.cf", "ha.cf of messagingd and membershipd")
	fs.StringVar(&o.authkeys, "authkeys", "/etc/systole/authkeys", "authkeys of messagingd")
	fs.StringVar(&o.binDir, "bin-dir", "", "directory of the daemons' binaries (default: systoled's own directory, then PATH)")
	fs.StringVar(&o.ocfRoot, "ocf-root", "", "OCF root for lrmd (default: lrmd's, $OCF_ROOT or /usr/lib/ocf)")
	fs.StringVar(&o.rscTmp, "rsctmp", "", "HA_RSCTMP for the agents, where they keep state (default: lrmd's, /run/resource-agents)")
	fs.StringVar(&o.logDir, "log-dir", "", "where the daemons' NAME.log files go (default <run-dir>/logs; - for systoled's stderr with a NAME: prefix)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level of systoled and the daemons: debug, info, warn, error")
	fs.IntVar(&o.realtime, "realtime", 10, "SCHED_RR priority for messagingd and membershipd; 0 for normal scheduling")
	fs.DurationVar(&o.stopGrace, "stop-grace", 10*time.Second, "time between SIGTERM and SIGKILL when stopping a daemon")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "stop: how long to wait for systoled to exit")
}

// loadConfig applies the settings file to every flag not set on the
// command line.
func (o *options) loadConfig(fs *pflag.FlagSet) error {
	path := o.config
	if path == "" {
		if _, err := os.Stat(DefaultConfigFile); err != nil {
			return nil
		}
		path = DefaultConfigFile
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		key = strings.TrimSuffix(strings.TrimPrefix(key, "--"), "=")
		val = strings.TrimSpace(val)
		if k, v, ok := strings.Cut(key, "="); ok {
			key, val = k, v
		}
		fl := fs.Lookup(key)
		if fl == nil || key == "config" || key == "timeout" {
			return fmt.Errorf("%s:%d: unknown setting %q", path, n, key)
		}
		if fl.Changed {
			continue
		}
		if err := fl.Value.Set(val); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, n, key, err)
		}
	}
	return sc.Err()
}

func (o *options) nodeName() (string, error) {
	if o.node != "" {
		return o.node, nil
	}
	return os.Hostname()
}

func (o *options) pidFile() string    { return filepath.Join(o.runDir, "systoled.pid") }
func (o *options) statusFile() string { return filepath.Join(o.runDir, "systoled.status") }

// NewRootCommand returns the systoled command tree.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "systoled",
		Short:         "Systole node supervisor: starts, restarts and stops the node's daemons",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return o.loadConfig(cmd.Flags())
		},
	}
	o.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newStartCommand(o), newStopCommand(o), newStatusCommand(o))
	return cmd
}

// errNotRunning makes `status` and `stop` exit 3, as LSB status does for a
// stopped service.
var errNotRunning = errors.New("not running")

func exitCode(err error) int {
	if errors.Is(err, errNotRunning) {
		return 3
	}
	return 1
}
