// Command crm_node reports this node's name and id, the cluster's nodes,
// the current partition and quorum, and removes nodes, with Pacemaker's
// crm_node flags. It asks the local crmd; with CIB_file set it answers from
// the CIB in the file (what its status section recorded).
package main

import (
	"context"
	"errors"
	"fmt"
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

// Main runs crm_node with args and returns the exit status.
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
	code, line := client.CLIExit("crm_node", err)
	io.WriteString(stderr, line+"\n")
	return code
}

type options struct {
	name, id, list, partition, quorum, force bool
	remove, nameFor                          string
	timeout, verbose                         int

	newSource func() (*source.Source, error)
	now       func() time.Time
}

// AddFlags registers crm_node's flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.name, "name", "n", false, "print this node's name")
	fs.BoolVarP(&o.id, "cluster-id", "i", false, "print this node's id")
	fs.StringVarP(&o.nameFor, "name-for-id", "N", "", "print the name of the node with this id")
	fs.BoolVarP(&o.list, "list", "l", false, "list the cluster's nodes: id, name and state (member or lost)")
	fs.BoolVarP(&o.partition, "partition", "p", false, "print the members of this node's partition, space-separated")
	fs.BoolVarP(&o.quorum, "quorum", "q", false, "print 1 if this node's partition has quorum, 0 if not")
	fs.StringVarP(&o.remove, "remove", "R", "", "forget a node that left the cluster for good (needs --force)")
	fs.BoolVarP(&o.force, "force", "f", false, "allow -R")
	fs.IntVar(&o.timeout, "timeout", 30, "seconds to wait for the cluster's answer")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
}

// NewRootCommand returns the crm_node command.
func NewRootCommand() *cobra.Command {
	o := &options{newSource: source.FromEnv, now: time.Now}
	cmd := &cobra.Command{
		Use:   "crm_node (-n | -i | -N ID | -l | -p | -q | -R NODE --force)",
		Short: "Report node names, ids, membership and quorum; remove nodes",
		Long: `crm_node answers questions about nodes as Pacemaker's crm_node does.

Live (no CIB_file), membership and quorum are crmd's current view. With
CIB_file=FILE, -n is the host name and -l, -p and -q report what the file's
status section recorded (its node_state entries and have-quorum), not a live
membership; -R edits the file.`,
		Example: `  crm_node -n
  crm_node -l
  crm_node -q
  crm_node -R n4 --force`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return client.UsageError("crm_node", "%s", err.Error())
	})
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *options) run(cmd *cobra.Command) error {
	fs := cmd.Flags()
	n := 0
	for _, b := range []bool{o.name, o.id, o.list, o.partition, o.quorum, fs.Changed("remove"), fs.Changed("name-for-id")} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return client.UsageError("crm_node", "no command given (-n, -i, -N, -l, -p, -q or -R)")
	case n > 1:
		return client.UsageError("crm_node", "give only one command")
	}
	if fs.Changed("remove") && !o.force {
		return &client.CLIError{Code: client.ExitUnsafe, Msg: fmt.Sprintf("crm_node: removing node %s cannot be undone: add --force", o.remove)}
	}
	src, err := o.newSource()
	if err != nil {
		return source.CLIError("crm_node", err)
	}
	defer src.Close()
	ctx, cancel := client.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()
	out := cmd.OutOrStdout()
	err = o.do(ctx, src, out)
	return source.CLIError("crm_node", err)
}

func (o *options) do(ctx context.Context, src *source.Source, out io.Writer) error {
	switch {
	case o.name:
		name, err := src.LocalNode(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, name)
		return err
	case o.id:
		name, err := src.LocalNode(ctx)
		if err != nil {
			return err
		}
		id, err := src.NodeID(ctx, name)
		if errors.Is(err, source.ErrNoNode) && src.Live() {
			id, err = name, nil // Systole's crmd names members by their node name
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, id)
		return err
	case o.nameFor != "":
		nodes, _, err := src.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ID == o.nameFor {
				_, err = fmt.Fprintln(out, n.Name)
				return err
			}
		}
		return fmt.Errorf("no node with id %s: %w", o.nameFor, source.ErrNoNode)
	case o.list:
		nodes, _, err := src.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			state := "lost"
			if n.Member {
				state = "member"
			}
			if _, err := fmt.Fprintf(out, "%s %s %s\n", n.ID, n.Name, state); err != nil {
				return err
			}
		}
		return nil
	case o.partition:
		nodes, _, err := src.Nodes(ctx)
		if err != nil {
			return err
		}
		var ms []string
		for _, n := range nodes {
			if n.Member {
				ms = append(ms, n.Name)
			}
		}
		_, err = fmt.Fprintln(out, strings.Join(ms, " "))
		return err
	case o.quorum:
		q, err := o.hasQuorum(ctx, src)
		if err != nil {
			return err
		}
		v := "0"
		if q {
			v = "1"
		}
		_, err = fmt.Fprintln(out, v)
		return err
	case o.remove != "":
		return src.RemoveNode(ctx, o.remove)
	}
	return nil
}

func (o *options) hasQuorum(ctx context.Context, src *source.Source) (bool, error) {
	if src.Live() {
		st, err := src.GetStatus(ctx)
		if err != nil {
			return false, err
		}
		return st.Quorum, nil
	}
	c, _, err := src.Cluster(ctx, o.now().Unix())
	if err != nil {
		return false, err
	}
	return c.Quorum, nil
}
