// Package server is stonithd's shell around the stonith core: one
// goroutine owns the Fencer and feeds it API calls, agent results and
// timer ticks with the real clock; the agents its Ready hands out run in
// goroutines through an Executor (stonith/agent.Runner, or a fake in
// tests).
//
// Around the loop:
//   - grpc.go: the StonithService handlers (proto/stonith/v1) and the
//     error table (bad request -> INVALID_ARGUMENT, unknown device or
//     agent -> NOT_FOUND, stopping -> UNAVAILABLE, fencing this node with
//     no other member up -> FAILED_PRECONDITION; a failed fencing is an
//     entry with state FAILED, not an RPC error); peercred.go: the socket's
//     access rule (SO_PEERCRED: root, own uid, group haclient).
//   - follow.go: WatchCIB (crmd's CIBService.Watch: devices, levels,
//     stonith-timeout, stonith-watchdog-timeout; a bad configuration is
//     logged and the previous one kept), FollowMessaging and FollowPeers
//     (messagingd).
//   - peers.go, msg.go: the cluster side over messaging channel
//     "stonithd" (a strict versioned codec): every operation this node
//     ends is broadcast and observed by the others (Fencer.Observe), a
//     node asks every node for its history when it subscribes and each
//     peer when it comes up, a cleanup is broadcast, and fencing of this
//     node itself (off, reboot) is forwarded to another member, the first
//     up by name.
//   - monitor.go: the devices' recurring monitor; watchdog.go: petting
//     /dev/watchdog while stonith-watchdog-timeout > 0; unfence.go:
//     unfencing this node at start.
//
// Invariants: the Fencer is touched only by the loop goroutine; every
// Fence call returns the completion of its operation (or an error when the
// caller's context ends or the server stops); when Run returns, no agent
// started by it is still running. History entries are identified by id
// across the cluster (FirstID makes them unique), so an entry received
// twice is recorded once.
package server
