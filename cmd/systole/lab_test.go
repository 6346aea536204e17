package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestLabCommands checks the lab command tree and its errors without a
// lab; the lab itself is tested in internal/lab.
func TestLabCommands(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "status", "--dir", dir}, "no lab in " + dir},
		{[]string{"lab", "down", "--dir", dir}, "no lab in " + dir},
		{[]string{"lab", "kill", "node1", "--dir", dir}, "no lab in " + dir},
		{[]string{"lab", "kill-daemon", "node1", "--dir", dir}, "accepts 2 arg"},
		{[]string{"lab", "up", "--dir", dir, "--bin-dir", dir}, "systoled missing in " + dir},
	} {
		cmd := NewRootCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}
