// Command crm_standby queries and changes a node's standby state with
// Pacemaker's crm_standby flags: the "standby" node attribute, permanent
// (lifetime forever) unless -l reboot is given. It talks to the local crmd,
// or works on the CIB in CIB_file.
package main

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs crm_standby with args and returns the exit status.
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
	code, line := client.CLIExit("crm_standby", err)
	io.WriteString(stderr, line+"\n")
	return code
}

type options struct {
	value, node, lifetime string
	query, del, quiet     bool
	timeout, verbose      int

	newSource func() (*source.Source, error)
}

// AddFlags registers crm_standby's flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.query, "query", "G", false, "print the node's standby state (the default command; off when unset)")
	fs.StringVarP(&o.value, "update", "v", "", "set the standby state: on or off (true/false, yes/no)")
	fs.BoolVarP(&o.del, "delete", "D", false, "delete the standby attribute (the node is then not in standby)")
	fs.StringVarP(&o.node, "node", "N", "", "the node (default: this node)")
	fs.StringVarP(&o.lifetime, "lifetime", "l", "forever", "forever (nodes section, the default) or reboot (until the node restarts)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the value")
	fs.IntVar(&o.timeout, "timeout", 30, "seconds to wait for the cluster's answer")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
}

// NewRootCommand returns the crm_standby command.
func NewRootCommand() *cobra.Command {
	o := &options{newSource: source.FromEnv}
	cmd := &cobra.Command{
		Use:   "crm_standby [-G | -v on|off | -D] [-N NODE] [-l forever|reboot]",
		Short: "Query and change a node's standby state",
		Long: `crm_standby puts a node in standby (it runs no resources) or back, through the
node attribute "standby", as Pacemaker's crm_standby does (it is crm_attribute
-n standby, lifetime forever unless -l reboot).`,
		Example: `  crm_standby -N n2 -v on
  crm_standby -N n2 -G
  crm_standby -N n2 -D`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return client.UsageError("crm_standby", "%s", err.Error())
	})
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *options) run(cmd *cobra.Command) error {
	fs := cmd.Flags()
	op := source.AttrQuery
	n := 0
	if o.query {
		n++
	}
	if fs.Changed("update") {
		n++
		op = source.AttrUpdate
		switch strings.ToLower(o.value) {
		case "on", "off", "true", "false", "yes", "no", "1", "0", "y", "n":
		default:
			return client.UsageError("crm_standby", "invalid standby value %q (on or off)", o.value)
		}
	}
	if o.del {
		n++
		op = source.AttrDelete
	}
	if n > 1 {
		return client.UsageError("crm_standby", "give only one of -G, -v and -D")
	}
	sc := source.ScopeNodes
	switch strings.ToLower(o.lifetime) {
	case "forever":
	case "reboot":
		sc = source.ScopeStatus
	default:
		return client.UsageError("crm_standby", "invalid lifetime %q (reboot or forever)", o.lifetime)
	}
	src, err := o.newSource()
	if err != nil {
		return source.CLIError("crm_standby", err)
	}
	defer src.Close()
	ctx, cancel := client.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()
	node, err := src.ResolveNode(ctx, o.node)
	if err != nil {
		return source.CLIError("crm_standby", err)
	}
	off := "off"
	c := source.AttrCommand{Op: op, Attr: source.Attr{Scope: sc, Node: node, Name: "standby"}, Value: o.value, Quiet: o.quiet, Default: &off}
	return source.CLIError("crm_standby", src.RunAttr(ctx, c, cmd.OutOrStdout()))
}
