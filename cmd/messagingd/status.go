package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/systole/systole/messaging/client"
	"github.com/systole/systole/messaging/server"
)

func newStatusCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "print the running daemon's peers, links and counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client.Dial(o.socket)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			stats, err := c.Stats(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "node %s cluster %s generation %d\n", st.GetNode(), st.GetCluster(), st.GetGeneration())
			for _, p := range st.GetPeers() {
				var links []string
				for _, l := range p.GetLinks() {
					state := "down"
					if l.GetUp() {
						state = "up"
					}
					links = append(links, fmt.Sprintf("%s=%s", l.GetMedium(), state))
				}
				state := strings.ToLower(strings.TrimPrefix(p.GetState().String(), "PEER_STATE_"))
				if p.GetLate() {
					state += " (late)"
				}
				fmt.Fprintf(out, "peer %s %s gen %d silence %dms links: %s\n", p.GetNode(), state, p.GetGeneration(), p.GetSilenceMs(), strings.Join(links, ", "))
			}
			fmt.Fprintf(out, "packets in %d out %d, bad auth %d, replays %d, retransmits %d, lost %d\n",
				stats.GetPacketsIn(), stats.GetPacketsOut(), stats.GetBadAuth(), stats.GetReplays(), stats.GetRetransmits(), stats.GetLostReceived())
			return nil
		},
	}
}

func newCheckCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "parse ha.cf and authkeys and print the resulting media",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := server.LoadHaCf(o.config)
			if err != nil {
				return err
			}
			if _, err := server.LoadAuthkeys(o.authkeys); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster %s nodes %s\n", h.Cluster, strings.Join(h.Nodes, " "))
			fmt.Fprintf(out, "keepalive %v warntime %v deadtime %v initdead %v\n", h.Keepalive, h.Warntime, h.Deadtime, h.Initdead)
			for _, m := range h.MediaNames() {
				fmt.Fprintf(out, "medium %s\n", m.Name)
			}
			for _, ig := range h.Ignored {
				fmt.Fprintf(out, "ignored %s\n", ig)
			}
			return nil
		},
	}
}
