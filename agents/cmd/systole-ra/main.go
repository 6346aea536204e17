// Command systole-ra is the multi-call binary of the OCF resource agents
// Systole ships. Installed as OCF_ROOT/resource.d/systole/.systole-ra with
// a symlink per agent (Dummy, IPaddr, Stateful, anything, ping), it runs
// the agent named by the link: `Dummy start`. It can also be run as
// `systole-ra AGENT ACTION`.
package main

import (
	"os"
	"path/filepath"

	"github.com/systole/systole/agents/ra"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if _, ok := ra.Lookup(name); !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	os.Exit(ra.Main(name, args, os.Environ(), os.Stdout, os.Stderr))
}
