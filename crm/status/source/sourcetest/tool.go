package sourcetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ToolEnv is the variable that makes a tool's test binary act as the tool
// (see ToolMain).
const ToolEnv = "SYSTOLE_TEST_TOOL"

// ToolMain is for a tool's TestMain: when the test binary runs as the tool
// (ToolEnv=1, started through the link Tool makes), it runs main and exits.
func ToolMain(m interface{ Run() int }, main func() int) {
	if os.Getenv(ToolEnv) == "1" {
		os.Exit(main())
	}
	os.Exit(m.Run())
}

// Tool returns a directory holding a link named name to the running test
// binary, so a shell finds "name" and runs the tool in a real process.
func Tool(t testing.TB, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Sh runs a shell command line with bin first in PATH, CIB_file and
// CIB_socket cleared and then set from env ("K=V" entries), and returns
// the exit status, stdout and stderr.
func Sh(t testing.TB, bin string, env []string, line string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "CIB_file=", "CIB_socket=", ToolEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// Live returns the environment that points the tools at f.
func (f *Fake) Live() []string { return []string{"CIB_socket=" + f.Socket} }
