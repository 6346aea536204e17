// Command crm_attribute queries, sets and deletes node attributes and
// cluster options with Pacemaker's crm_attribute flags. It talks to the
// local crmd (node attributes through its CRM service, options through the
// CIB service), or works on the CIB in CIB_file.
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

// Main runs crm_attribute with args and returns the exit status.
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
	code, line := client.CLIExit("crm_attribute", err)
	io.WriteString(stderr, line+"\n")
	return code
}

type options struct {
	name, value, node, lifetime, typ, promotion, def, setName string
	query, del, quiet                                         bool
	timeout, verbose                                          int

	newSource func() (*source.Source, error)
	getenv    func(string) string
}

// AddFlags registers crm_attribute's flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.name, "name", "n", "", "the attribute's name")
	fs.StringVarP(&o.value, "update", "v", "", "set the attribute to this value")
	fs.BoolVarP(&o.query, "query", "G", false, "print the attribute's value (the default command)")
	fs.BoolVarP(&o.del, "delete", "D", false, "delete the attribute")
	fs.StringVarP(&o.node, "node", "N", "", "the node whose attribute it is (default: this node)")
	fs.StringVarP(&o.lifetime, "lifetime", "l", "", "reboot (status section) or forever (nodes section): a node attribute")
	fs.StringVarP(&o.typ, "type", "t", "", "where the attribute lives: crm_config (default), rsc_defaults, op_defaults, nodes, status")
	fs.StringVarP(&o.promotion, "promotion", "p", "", "operate on the promotion score master-RSC of this node (RSC from OCF_RESOURCE_INSTANCE by default)")
	fs.Lookup("promotion").NoOptDefVal = "\x00"
	fs.StringVarP(&o.def, "default", "d", "", "with -G, print this value when the attribute is not set")
	fs.StringVarP(&o.setName, "set-name", "s", "", "the attribute set (options; default: cib-bootstrap-options or SECTION-options)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the value")
	fs.IntVar(&o.timeout, "timeout", 30, "seconds to wait for the cluster's answer")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
}

// NewRootCommand returns the crm_attribute command.
func NewRootCommand() *cobra.Command {
	o := &options{newSource: source.FromEnv, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "crm_attribute -n NAME [-G | -v VALUE | -D] [options]",
		Short: "Query and change node attributes and cluster options",
		Long: `crm_attribute queries, sets and deletes attributes as Pacemaker's does.

Where the attribute lives (-t, or -l for node attributes):
  crm_config    a cluster property (the default without -N, -l or -p)
  rsc_defaults  a resource default;  op_defaults  an operation default
  nodes         a permanent node attribute (-l forever; the default with -N)
  status        a transient node attribute (-l reboot; the default with -p)

With CIB_file=FILE it works on the file; otherwise on the local crmd.`,
		Example: `  crm_attribute -n stonith-enabled -v false
  crm_attribute -n stonith-enabled -G -q
  crm_attribute -N n1 -n standby -v on -l forever
  crm_attribute -N n1 -n pingd -l reboot -G
  crm_attribute -p d1 -v 10        # master-d1 on this node (crm_master)`,
		Args:          cobra.MaximumNArgs(1),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return client.UsageError("crm_attribute", "%s", err.Error())
	})
	o.AddFlags(cmd.Flags())
	return cmd
}

// scope decides where the attribute lives, Pacemaker's way.
func (o *options) scope(promo bool) (source.Scope, error) {
	typ := strings.ToLower(o.typ)
	switch strings.ToLower(o.lifetime) {
	case "":
	case "reboot":
		typ = "status"
	case "forever":
		typ = "nodes"
	default:
		return "", client.UsageError("crm_attribute", "invalid lifetime %q (reboot or forever)", o.lifetime)
	}
	switch typ {
	case "":
		switch {
		case promo:
			return source.ScopeStatus, nil
		case o.node != "":
			return source.ScopeNodes, nil
		}
		return source.ScopeCRMConfig, nil
	case "reboot":
		return source.ScopeStatus, nil
	case "forever":
		return source.ScopeNodes, nil
	case "status", "nodes", "crm_config", "rsc_defaults", "op_defaults":
		return source.Scope(typ), nil
	case "tickets":
		return "", client.UsageError("crm_attribute", "tickets are not supported yet")
	}
	return "", client.UsageError("crm_attribute", "invalid type %q (crm_config, rsc_defaults, op_defaults, nodes, status)", o.typ)
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	promo := fs.Changed("promotion")
	name := o.name
	if len(args) > 0 && !(promo && o.promotion == "\x00") {
		return client.UsageError("crm_attribute", "unexpected argument %q", args[0])
	}
	if promo {
		rsc := o.promotion
		if rsc == "\x00" && len(args) == 1 {
			rsc = args[0] // "-p RSC" as well as "-pRSC" and "--promotion=RSC"
		}
		if rsc == "\x00" {
			rsc = o.getenv("OCF_RESOURCE_INSTANCE")
		}
		if i := strings.LastIndexByte(rsc, ':'); i > 0 {
			rsc = rsc[:i] // clone instance: the score belongs to the clone's primitive
		}
		if rsc == "" {
			return client.UsageError("crm_attribute", "-p needs a resource: -p RSC, or OCF_RESOURCE_INSTANCE in the environment")
		}
		name = "master-" + rsc
	}
	if name == "" {
		return client.UsageError("crm_attribute", "no attribute name given (-n NAME)")
	}
	n := 0
	op := source.AttrQuery
	if o.query {
		n++
	}
	if fs.Changed("update") {
		n++
		op = source.AttrUpdate
	}
	if o.del {
		n++
		op = source.AttrDelete
	}
	if n > 1 {
		return client.UsageError("crm_attribute", "give only one of -G, -v and -D")
	}
	sc, err := o.scope(promo)
	if err != nil {
		return err
	}
	if !sc.NodeScope() && o.node != "" {
		return client.UsageError("crm_attribute", "-N applies to node attributes (-t nodes/status or -l)")
	}
	src, err := o.newSource()
	if err != nil {
		return source.CLIError("crm_attribute", err)
	}
	defer src.Close()
	ctx, cancel := client.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()
	a := source.Attr{Scope: sc, Name: name, SetID: o.setName}
	if sc.NodeScope() {
		if a.Node, err = src.ResolveNode(ctx, o.node); err != nil {
			return source.CLIError("crm_attribute", err)
		}
	}
	c := source.AttrCommand{Op: op, Attr: a, Value: o.value, Quiet: o.quiet}
	if fs.Changed("default") {
		c.Default = &o.def
	}
	return source.CLIError("crm_attribute", src.RunAttr(ctx, c, cmd.OutOrStdout()))
}
