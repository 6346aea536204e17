// Package realtime gives a daemon's threads real-time scheduling, as
// Heartbeat's `realtime on` and Corosync's default do: a failure detector
// that is not scheduled under load reports false deaths (or late true
// ones). The daemons that use it (messagingd, membershipd) only wake for
// packets, API calls and short ticks, so they cannot starve the machine.
package realtime

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Set gives every thread of the process SCHED_RR at priority prio (1-99);
// threads the Go runtime starts later inherit it from their creator. It
// fails without privileges (CAP_SYS_NICE); callers log and carry on.
func Set(prio int) error {
	if prio < 1 || prio > 99 {
		return fmt.Errorf("realtime: priority %d is not in 1..99", prio)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("realtime: %w", err)
	}
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(prio)}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
			return fmt.Errorf("realtime: thread %d: %w", tid, err)
		}
	}
	return nil
}
