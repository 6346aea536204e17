package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/systole/systole/supervisor/server"
)

func newStatusCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "print the phase of the node and each daemon's pid and state (exit 3 when not running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, err := readPid(o.pidFile())
			if err != nil {
				return err
			}
			st, err := server.ReadStatus(o.statusFile())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "node %s: systoled pid %d, %s\n", st.Node, pid, st.Phase)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DAEMON\tPID\tSTATE\tRESTARTS\tSINCE\tON CRASH")
			for _, d := range st.Daemons {
				p := "-"
				if d.Pid > 0 {
					p = fmt.Sprint(d.Pid)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Name, p, d.State, d.Restarts,
					time.Since(d.Since).Truncate(time.Second), restartText(d.Restart))
			}
			return tw.Flush()
		},
	}
}

func restartText(r string) string {
	if r == "alone" {
		return "restart alone"
	}
	return "restart stack"
}
