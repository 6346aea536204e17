// Command systole is Systole's command-line tool. Subcommands live one per
// file; NewRootCommand assembles them.
package main

import (
	"fmt"
	"os"
)

func main() {
	cmd := NewRootCommand()
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "systole:", err)
		os.Exit(1)
	}
}
