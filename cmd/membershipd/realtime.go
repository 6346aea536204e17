package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setRealtime gives every thread of the process SCHED_RR at priority prio; threads the
// runtime starts later inherit it from their creator. As for messagingd (this is a copy of
// its setRealtime): a peer whose membershipd sends nothing for twice the deadtime counts
// as down, so the daemon must be scheduled under load. It only wakes for messages, API
// calls and a 50 ms tick, so it cannot starve the machine.
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
