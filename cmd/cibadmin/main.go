// Command cibadmin reads and changes the Cluster Information Base with
// Pacemaker's cibadmin flags. It works on the file named by CIB_file, or
// on the local CIB service (systoled) when CIB_file is not set.
package main

import (
	"io"
	"os"

	"github.com/systole/systole/cib/client"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs cibadmin with args and returns the exit status. Errors are
// printed on stderr, one line each.
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
	code, line := client.CLIExit("cibadmin", err)
	io.WriteString(stderr, line+"\n")
	return code
}
