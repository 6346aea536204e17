// Command crm_verify checks a CIB for configuration errors, with
// Pacemaker's crm_verify flags and output: each problem on its own
// "error: ..." line naming the element, then "Errors found during check:
// config not valid", and a non-zero exit status. A valid CIB prints
// nothing and exits 0.
package main

import (
	"io"
	"os"

	"github.com/systole/systole/cib/client"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs crm_verify with args and returns the exit status.
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
	code, line := client.CLIExit("crm_verify", err)
	if line != "" {
		io.WriteString(stderr, line+"\n")
	}
	return code
}
