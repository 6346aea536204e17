package main

import "github.com/spf13/cobra"

// newAgentCommand groups the commands for resource agent authors.
func newAgentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Tools for OCF resource agents",
	}
	cmd.AddCommand(newAgentCheckCommand())
	return cmd
}
