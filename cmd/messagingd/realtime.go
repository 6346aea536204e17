package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setRealtime gives every thread of the process SCHED_RR at priority
// prio; threads the runtime starts later inherit it from their creator.
// Like Heartbeat's `realtime on` and Corosync's default: a failure
// detector that is not scheduled under load reports false deaths (or
// late true ones), and ours only wakes for packets and timers, so it
// cannot starve the machine.
func setRealtime(prio int) error {
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
