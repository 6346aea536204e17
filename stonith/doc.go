// Package stonith is the pure core of stonithd: it reads fence devices and
// the fencing topology from the CIB, decides which fence agent runs with
// which arguments to fence a target, and keeps the fencing history. It runs
// nothing itself: stonith/agent runs the commands it hands out.
//
// The Fencer is a deterministic state machine in the shape of etcd's raft
// (and of lrm.Manager): Request, Complete, Confirm and Tick take an
// explicit now; Ready returns the effects accumulated since the last call:
// Commands (run agent X, action Y, with these stdin arguments) and
// Completions (a fencing operation ended). Random fencing delays
// (pcmk_delay_max) come from the seeded *rand.Rand the caller passes.
//
// Invariants:
//   - At most one fencing operation per target is active at a time. A
//     request for a target that has an operation with the same action
//     (active or queued) joins it and gets the same operation id; a
//     request with another action queues behind, in arrival order.
//   - An operation tries fencing levels in index order. A level succeeds
//     when every one of its devices succeeded; the first level that
//     succeeds completes the operation as done; when every level failed
//     (or the operation's timeout passed) it completes as failed. Failed
//     fencing is never reported as done.
//   - Without a topology for the target, each device that can fence the
//     target (pcmk_host_check) is a level of its own, ordered by the
//     priority meta attribute (highest first) then id.
//   - At most one agent command of an operation runs at a time; devices of
//     a level run in their listed order. A reboot on a level with several
//     devices turns every device off, then every device on.
//   - Delays (pcmk_delay_base/max, or Request.PriorityDelay instead, plus
//     Request.Delay) are applied once, before an operation's first agent.
//   - With stonith-watchdog-timeout (SetWatchdog), an operation no device
//     can serve completes done after the timeout (the target's watchdog
//     reset it), or fails at once with the reason when this node has no
//     watchdog; a device failure is never replaced by the watchdog.
//   - Observe adds an ended entry of another node to the history, once per
//     id, in completion order; it never starts or ends anything.
//   - Every operation ends in exactly one Completion and one history entry
//     with state done or failed, the executioner (delegate), the origin
//     and the completion time. Results of commands that belong to an
//     operation that already ended are ignored.
//
// The Fencer is not safe for concurrent use: one goroutine owns it.
package stonith
