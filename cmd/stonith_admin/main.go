// Command stonith_admin queries and drives fencing with Pacemaker's
// stonith_admin flags: -F/-B/-U/-C/-l/-L/-Q/-H/-h talk to the local
// stonithd (RUN-DIR/stonithd.sock), -R/-D/-r/-d write the CIB (crmd's CIB
// service, or CIB_file), -I and -M -a work without any daemon. See
// docs/stonith.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/stonith/agent"
)

const tool = "stonith_admin"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs stonith_admin with args and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := NewRootCommand()
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	code, line := client.CLIExit(tool, err)
	if line != "" {
		io.WriteString(stderr, line+"\n")
	}
	return code
}

type options struct {
	// commands
	fence, reboot, unfence, confirm string
	list, query, history, last      string
	registerDev, deregisterDev      string
	registerLevel, deregisterLevel  string
	listRegistered, listInstalled   bool
	metadata, cleanup, help         bool
	// modifiers
	agent     string
	index     int
	devices   []string
	options   []string
	timeout   int
	delay     int
	tolerance time.Duration
	tolArg    string
	quiet     bool
	verbose   int
	agentDir  string
	socket    string
}

// AddFlags registers stonith_admin's flags with Pacemaker's names and
// letters (-h is --last, as in Pacemaker; help is --help only).
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.fence, "fence", "F", "", "fence NODE (off)")
	fs.StringVarP(&o.reboot, "reboot", "B", "", "fence NODE (reboot)")
	fs.StringVarP(&o.unfence, "unfence", "U", "", "unfence NODE (on)")
	fs.StringVarP(&o.confirm, "confirm", "C", "", "confirm that NODE is safely down (manual fencing)")
	fs.StringVarP(&o.list, "list", "l", "", "list the devices that can fence NODE")
	fs.BoolVarP(&o.listRegistered, "list-registered", "L", false, "list the registered fence devices")
	fs.BoolVarP(&o.listInstalled, "list-installed", "I", false, "list the fence agents installed on this node")
	fs.StringVarP(&o.query, "query", "Q", "", "check that DEVICE is active")
	fs.BoolVarP(&o.metadata, "metadata", "M", false, "print the metadata of the agent given with -a")
	fs.StringVarP(&o.history, "history", "H", "", "show the fencing history of NODE ('*' for all)")
	fs.StringVarP(&o.last, "last", "h", "", "show when NODE was last fenced")
	fs.BoolVarP(&o.cleanup, "cleanup", "c", false, "with -H: forget the history")
	fs.StringVarP(&o.registerDev, "register", "R", "", "register DEVICE (with -a and -o)")
	fs.StringVarP(&o.deregisterDev, "deregister", "D", "", "deregister DEVICE")
	fs.StringVarP(&o.registerLevel, "register-level", "r", "", "register a fencing level for NODE (with -i and -v)")
	fs.StringVarP(&o.deregisterLevel, "deregister-level", "d", "", "deregister the fencing level -i of NODE")
	fs.StringVarP(&o.agent, "agent", "a", "", "fence agent (with -M or -R)")
	fs.IntVarP(&o.index, "index", "i", 0, "fencing level index (1..9)")
	fs.StringArrayVarP(&o.devices, "device", "v", nil, "device of a fencing level (repeatable)")
	fs.StringArrayVarP(&o.options, "option", "o", nil, "device parameter NAME=VALUE (repeatable, with -R)")
	fs.IntVarP(&o.timeout, "timeout", "t", 120, "seconds to wait for the operation")
	fs.IntVarP(&o.delay, "delay", "y", 0, "seconds to wait before fencing; -1 disables pcmk_delay_base/max too")
	fs.StringVar(&o.tolArg, "tolerance", "", "with -F/-B/-U: succeed at once if NODE was fenced this recently (seconds, or 10s, 2min, ...)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the essential")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
	fs.BoolVar(&o.help, "help", false, "show this help")
	fs.StringVar(&o.agentDir, "agent-dir", agent.DefaultConfig().Dir, "where fence agents are installed")
	_ = fs.MarkHidden("agent-dir")
	fs.StringVar(&o.socket, "socket", defaultSocket(), "stonithd's socket (default $STONITH_socket, else stonithd.sock beside $CIB_socket, else /run/systole/stonithd.sock)")
	_ = fs.MarkHidden("socket")
}

// NewRootCommand returns the stonith_admin command.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "stonith_admin COMMAND [OPTIONS]",
		Short: "Query and drive fencing",
		Long: `stonith_admin queries and drives fencing, with Pacemaker's flags.

Through the local stonithd (exit 102 when it is not reachable):
  -F/--fence, -B/--reboot, -U/--unfence NODE   fence (off, reboot, on) and wait
  -C/--confirm NODE       record that NODE was made safe by hand
  -l/--list NODE          devices that can fence NODE
  -L/--list-registered    the fence devices of the CIB
  -Q/--query DEVICE       run the device's monitor
  -H/--history NODE|*     fencing history (-c: clean it up on every node)
  -h/--last NODE          when NODE was last fenced

Through the CIB (crmd's CIB service, or CIB_file):
  -R/--register DEVICE -a AGENT [-o NAME=VALUE]...   add a fence device
  -D/--deregister DEVICE
  -r/--register-level NODE -i N -v DEVICE [-v ...]   NODE, or /REGEX/
  -d/--deregister-level NODE -i N

Without a daemon:
  -I, --list-installed    the fence agents installed on this node
  -M -a AGENT             the agent's metadata XML
`,
		Example: `  stonith_admin -I
  stonith_admin -M -a fence_dummy
  stonith_admin -B n2 -t 60 -y 5`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.help {
				return cmd.Help()
			}
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return client.UsageError(tool, "%s", err.Error())
	})
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *options) run(cmd *cobra.Command) error {
	fs := cmd.Flags()
	var given []string
	for _, name := range []string{"fence", "reboot", "unfence", "confirm", "list", "list-registered", "list-installed",
		"query", "metadata", "history", "last", "register", "deregister", "register-level", "deregister-level"} {
		if fs.Changed(name) {
			given = append(given, "--"+name)
		}
	}
	switch {
	case len(given) == 0:
		return client.UsageError(tool, "no command given (-F, -B, -U, -C, -l, -L, -I, -Q, -M, -H, -h, -R, -D, -r or -d)")
	case len(given) > 1:
		return client.UsageError(tool, "give only one command (got %s)", strings.Join(given, ", "))
	}
	if fs.Changed("cleanup") && !fs.Changed("history") {
		return client.UsageError(tool, "--cleanup goes with --history")
	}
	if o.timeout <= 0 {
		return client.UsageError(tool, "--timeout %d: must be a positive number of seconds", o.timeout)
	}
	if o.tolArg != "" {
		ms, err := cib.ParseInterval(o.tolArg)
		if err != nil || ms < 0 {
			return client.UsageError(tool, "--tolerance %q: not a duration", o.tolArg)
		}
		o.tolerance = time.Duration(ms) * time.Millisecond
	}
	if o.delay < -1 {
		return client.UsageError(tool, "--delay %d: must be -1 or more", o.delay)
	}
	for name, v := range map[string]string{"fence": o.fence, "reboot": o.reboot, "unfence": o.unfence, "confirm": o.confirm,
		"list": o.list, "query": o.query, "history": o.history, "last": o.last, "register": o.registerDev,
		"deregister": o.deregisterDev, "register-level": o.registerLevel, "deregister-level": o.deregisterLevel} {
		if fs.Changed(name) && strings.TrimSpace(v) == "" {
			return client.UsageError(tool, "--%s needs a non-empty value", name)
		}
	}
	switch given[0] {
	case "--list-installed":
		return o.listAgents(cmd.OutOrStdout())
	case "--metadata":
		if o.agent == "" {
			return client.UsageError(tool, "--metadata needs --agent AGENT")
		}
		return o.printMetadata(cmd.OutOrStdout())
	case "--register":
		if o.agent == "" {
			return client.UsageError(tool, "--register needs --agent AGENT")
		}
		for _, kv := range o.options {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return client.UsageError(tool, "--option %q is not NAME=VALUE", kv)
			}
		}
	case "--register-level":
		if o.index < 1 || o.index > 9 || len(o.devices) == 0 {
			return client.UsageError(tool, "--register-level needs --index 1..9 and at least one --device")
		}
	case "--deregister-level":
		if o.index < 1 || o.index > 9 {
			return client.UsageError(tool, "--deregister-level needs --index 1..9")
		}
	case "--deregister":
	default:
		return o.daemonCommand(given[0], cmd.OutOrStdout())
	}
	return o.cibWrite(given[0], cmd.OutOrStdout())
}

func (o *options) runner() (*agent.Runner, error) {
	cfg := agent.DefaultConfig()
	cfg.Dir = o.agentDir
	cfg.DefaultTimeout = time.Duration(o.timeout) * time.Second
	return agent.New(cfg, nil)
}

func (o *options) listAgents(out io.Writer) error {
	r, err := o.runner()
	if err != nil {
		return err
	}
	names, err := r.List()
	if err != nil {
		return &client.CLIError{Code: client.ExitNoInput, Msg: tool + ": " + err.Error(), Err: err}
	}
	for _, n := range names {
		fmt.Fprintln(out, n)
	}
	if !o.quiet {
		fmt.Fprintf(out, "%d fence devices found\n", len(names))
	}
	return nil
}

func (o *options) printMetadata(out io.Writer) error {
	r, err := o.runner()
	if err != nil {
		return err
	}
	meta, err := r.Metadata(context.Background(), o.agent, time.Duration(o.timeout)*time.Second)
	if err != nil {
		code := client.ExitError
		if strings.Contains(err.Error(), "not installed") || strings.Contains(err.Error(), "bad fence agent name") {
			code = client.ExitNoSuch
		}
		return &client.CLIError{Code: code, Msg: tool + ": " + err.Error(), Err: err}
	}
	_, err = io.WriteString(out, meta)
	return err
}
