package main

import "github.com/spf13/cobra"

// NewRootCommand returns the `systole` command with every subcommand. It
// keeps no state in package variables, so tests can build as many as they
// like.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "systole",
		Short:         "Systole high-availability cluster tools",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAgentCommand())
	root.AddCommand(newLabCommand())
	root.AddCommand(newCTSCommand())
	return root
}
