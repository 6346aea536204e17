// Command crm_resource inspects and controls cluster resources with
// Pacemaker 2.1's crm_resource flags, messages and exit codes: list and
// locate resources, move, ban and clear them, edit their parameters, meta
// attributes and utilization, clean up their history, restart them, run
// their agent directly (--force-start, --force-stop, --force-check),
// explain their placement (--why), and list agents and their meta-data.
//
// It works on the CIB file named by CIB_file (Pacemaker's offline mode)
// or on the local crmd (CIBService and CRMService on CIB_socket). The
// agent commands (--list-agents, --show-metadata, ...) need no CIB at all.
package main

import (
	"io"
	"os"

	"github.com/systole/systole/cib/client"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs crm_resource with args and returns the exit status. Errors are
// printed on stderr.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(newOptions(), args, stdin, stdout, stderr)
}

func run(o *options, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := newRootCommand(o)
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	code, line := client.CLIExit(tool, err)
	if line != "" {
		io.WriteString(stderr, line+"\n")
	}
	return code
}
