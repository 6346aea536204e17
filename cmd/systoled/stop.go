package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func newStopCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "ask the running systoled to stop the node's stack, and wait until it has",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid, err := readPid(o.pidFile())
			if err != nil {
				return err
			}
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				return fmt.Errorf("signal pid %d: %w", pid, err)
			}
			deadline := time.Now().Add(o.timeout)
			for alive(pid) {
				if time.Now().After(deadline) {
					return fmt.Errorf("pid %d still running after %v", pid, o.timeout)
				}
				time.Sleep(50 * time.Millisecond)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "systoled (pid %d) stopped\n", pid)
			return nil
		},
	}
}

// readPid returns the pid of a running systoled from its pidfile.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w (no %s)", errNotRunning, path)
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", path, strings.TrimSpace(string(b)))
	}
	if !alive(pid) {
		return 0, fmt.Errorf("%w (stale pidfile %s, pid %d)", errNotRunning, path, pid)
	}
	return pid, nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
