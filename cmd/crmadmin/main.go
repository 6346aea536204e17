// Command crmadmin asks the local controller (crmd) about the Designated
// Controller, the cluster's nodes and a controller's state, with
// Pacemaker's crmadmin flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs crmadmin with args and returns the exit status.
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
	code, line := client.CLIExit("crmadmin", err)
	io.WriteString(stderr, line+"\n")
	return code
}

type options struct {
	dc, nodes, quiet bool
	status           string
	timeout, verbose int

	newSource func() (*source.Source, error)
}

// AddFlags registers crmadmin's flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.dc, "dc_lookup", "D", false, "print the Designated Controller")
	fs.BoolVarP(&o.nodes, "nodes", "N", false, "list the cluster's nodes")
	fs.StringVarP(&o.status, "status", "S", "", "print the state of NODE's controller")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the answer (the DC's name, the node names, the state)")
	fs.IntVarP(&o.timeout, "timeout", "t", 30, "seconds to wait for the controller's answer")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
}

// NewRootCommand returns the crmadmin command.
func NewRootCommand() *cobra.Command {
	o := &options{newSource: source.FromEnv}
	cmd := &cobra.Command{
		Use:   "crmadmin (-D | -N | -S NODE) [-q]",
		Short: "Ask the controller about the DC, the nodes and controller states",
		Long: `crmadmin asks the local crmd, as Pacemaker's crmadmin asks its controller.
-D and -S need the running cluster; with CIB_file set only -N works (it lists
the nodes the file's CIB knows).

Controller states (-S): S_IDLE (the DC, no transition running),
S_POLICY_ENGINE (the DC is computing), S_TRANSITION_ENGINE (the DC runs a
transition or waits for one to abort), S_NOT_DC (a member that is not the DC),
S_PENDING (a member while no DC is elected). The DC's own state is known only
on the DC: asked on another node, crmadmin -S DC fails and names the node to
ask.`,
		Example: `  crmadmin -D
  crmadmin -Dq
  crmadmin -N
  crmadmin -S n1`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return client.UsageError("crmadmin", "%s", err.Error())
	})
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *options) run(cmd *cobra.Command) error {
	n := 0
	for _, b := range []bool{o.dc, o.nodes, cmd.Flags().Changed("status")} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return client.UsageError("crmadmin", "no command given (-D, -N or -S NODE)")
	case n > 1:
		return client.UsageError("crmadmin", "give only one command")
	}
	src, err := o.newSource()
	if err != nil {
		return source.CLIError("crmadmin", err)
	}
	defer src.Close()
	ctx, cancel := client.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()
	return source.CLIError("crmadmin", o.do(ctx, src, cmd.OutOrStdout()))
}

func (o *options) do(ctx context.Context, src *source.Source, out io.Writer) error {
	if o.nodes {
		nodes, _, err := src.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if o.quiet {
				fmt.Fprintln(out, n.Name)
			} else {
				fmt.Fprintf(out, "member node: %s (%s)\n", n.Name, n.ID)
			}
		}
		return nil
	}
	st, err := src.GetStatus(ctx)
	if err != nil {
		return err
	}
	if o.dc {
		if st.Dc == "" {
			return fmt.Errorf("no Designated Controller: none is elected in %s's partition (quorum: %v)", st.Node, st.Quorum)
		}
		if o.quiet {
			_, err = fmt.Fprintln(out, st.Dc)
		} else {
			_, err = fmt.Fprintf(out, "Designated Controller is: %s\n", st.Dc)
		}
		return err
	}
	state, err := controllerState(st, o.status)
	if err != nil {
		return err
	}
	if o.quiet {
		_, err = fmt.Fprintln(out, state)
	} else {
		_, err = fmt.Fprintf(out, "Controller on %s in state %s: ok\n", o.status, state)
	}
	return err
}

// controllerState names node's controller state as this node's crmd sees it.
func controllerState(st *crmv1.GetStatusResponse, node string) (string, error) {
	member := node == st.Node
	for _, m := range st.Members {
		if m == node {
			member = true
		}
	}
	if !member {
		return "", fmt.Errorf("controller on %s is not reachable: %s is not a member of %s's partition", node, node, st.Node)
	}
	switch {
	case st.Dc == "":
		return "S_PENDING", nil
	case node != st.Dc:
		return "S_NOT_DC", nil
	case !st.IsDc:
		return "", fmt.Errorf("%s is the DC; its transition state is known only there: run crmadmin -S %s on %s", node, node, node)
	}
	switch st.TransitionState {
	case crmv1.TransitionState_TRANSITION_STATE_COMPUTING:
		return "S_POLICY_ENGINE", nil
	case crmv1.TransitionState_TRANSITION_STATE_EXECUTING, crmv1.TransitionState_TRANSITION_STATE_ABORTING:
		return "S_TRANSITION_ENGINE", nil
	}
	return "S_IDLE", nil
}
