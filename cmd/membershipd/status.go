package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/systole/systole/membership/client"
	"github.com/systole/systole/membership/server"
)

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newStatusCommand(o *options) *cobra.Command {
	var peers bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "print the running daemon's view and quorum (and peers with --peers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client.Dial(o.apiSocket())
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			v, node, err := c.View(ctx)
			if err != nil {
				return err
			}
			q, err := c.Quorum(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if v.GetNumber() == 0 {
				fmt.Fprintf(out, "node %s view none\n", node)
			} else {
				fmt.Fprintf(out, "node %s view %d coordinator %s members %s\n", node, v.GetNumber(), v.GetCoordinator(), strings.Join(v.GetMembers(), " "))
			}
			fmt.Fprintf(out, "quorum %s votes %d expected %d two_node %s", yesNo(q.GetQuorum()), q.GetVotes(), q.GetExpectedVotes(), yesNo(q.GetTwoNode()))
			if q.GetWaitingForAll() {
				fmt.Fprint(out, " (waiting for all)")
			}
			fmt.Fprintln(out)
			if !peers {
				return nil
			}
			p, err := c.Peers(ctx)
			if err != nil {
				return err
			}
			if !p.GetMessagingConnected() {
				fmt.Fprintln(out, "messagingd: not connected")
			}
			for _, pe := range p.GetPeers() {
				state := "down"
				switch {
				case pe.GetCounted():
					state = "up"
				case pe.GetUp():
					state = "up (hold-down)"
				}
				fmt.Fprintf(out, "peer %s %s hold-down %dms", pe.GetNode(), state, pe.GetHoldDownMs())
				if pe.GetHasReport() {
					fmt.Fprintf(out, " report inc %d seq %d view %d hears %s", pe.GetReportIncarnation(), pe.GetReportSeq(), pe.GetReportView(), strings.Join(pe.GetHears(), ","))
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&peers, "peers", false, "also print every peer's liveness and who-hears-whom report")
	return cmd
}

func newCheckCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "parse ha.cf and print the membership configuration (nodes, votes, timers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			out := cmd.OutOrStdout()
			var nodes []string
			total := 0
			for _, n := range core.Nodes {
				nodes = append(nodes, fmt.Sprintf("%s=%d", n.Name, n.Votes))
				total += n.Votes
			}
			expected := core.ExpectedVotes
			if expected == 0 {
				expected = total
			}
			fmt.Fprintf(out, "node %s\nnodes %s\n", core.Name, strings.Join(nodes, " "))
			fmt.Fprintf(out, "expected_votes %d two_node %s\n", expected, yesNo(core.TwoNode))
			fmt.Fprintf(out, "report %v propose-timeout %v retry %v hold-down %v settle %v initdead %v\n",
				core.ReportInterval, core.ProposeTimeout, core.RetryDelay, core.HoldDown, core.Settle, core.InitDead)
			return nil
		},
	}
}
