// Package server is crmd's daemon shell around the pure core crm.Node: one
// goroutine owns the Node and feeds it, in arrival order, crm messages from
// other nodes (messagingd channel "crmd"), membership views (membershipd),
// a tick every Config.Tick, and the requests of local clients (the CIB gRPC
// API that cibadmin and the other tools speak on the node's unix socket).
//
// # Order of effects
//
// After every input the loop drains crm.Node.Ready in the order the core
// requires: Ready.Persist is saved with one Store.SaveBatch (fsync) before
// anything else, and the loop stops with an error if that fails (memory
// must not run ahead of the disk; crmd is failfast, like Heartbeat's); then
// the committed versions are published to watchers; then Ready.Messages are
// queued, in order, to a sender goroutine (so that a slow messagingd never
// blocks the loop; the core retries whatever is lost); then Ready.Replies
// answer waiting clients, Ready.DC is logged and published, Ready.Lost is
// logged and kept for Status.
//
// # Invariants
//
//   - Only the loop goroutine touches the crm.Node and the CIB it owns;
//     gRPC handlers and the messaging and membership followers talk to it
//     through channels.
//   - A client write is answered only with the core's Reply, which comes
//     after the DC and every member persisted it (see package crm), or
//     with the error of Node.Write.
//   - Watchers see committed versions in version order, a patch per
//     version, or a full copy when they fall behind or the node adopted a
//     full copy.
//   - Messages this node broadcast come back from messagingd (a broadcast
//     includes the sender); they are dropped, never stepped.
//
// # The DC pipeline and lrmd (docs/dc.md)
//
// FollowLRM mirrors the local lrmd's history (WatchResults with replay,
// ListHistory at each connection) and hands it to the core with SetLRM for
// the join. ExecuteAction (DC only) forwards an action to its target's
// crmd over messaging channel crmd-exec (execmsg.go: a versioned, strictly
// validated codec) or runs it locally; the target runs it through lrmd
// once per transition key, records the result as an lrm_rsc_op (client
// crmd-te) and answers only after that write is acknowledged. Results
// nobody asked for (a monitor whose rc changed) are recorded with client
// crmd-lrm. On the active DC, runDC computes with pengine and runs graphs
// with tengine: on a view change, on becoming DC, on any persisted change
// that is not a record of an action in flight (expectations), after a
// transition that executed actions, and at the graph's recheck-by.
//
// # Invariants (pipeline)
//
//   - At most one transition runs; the DC aborts it and waits for the end
//     of its Run stream before computing again.
//   - An action answered to tengine has its record in the DC's CIB (and
//     every member's: the record write is acknowledged first).
//   - A repeated crmd-exec request (a resend, a duplicate) never runs an
//     action twice: the target remembers the last 4096 transition keys.
//   - A dispatched action whose target leaves the view fails at once with
//     UNAVAILABLE.
//   - A stonith action runs on the DC through its stonithd (fence.go) and
//     is answered as success only once the fencing is confirmed and the
//     target recorded as fenced; fence devices (class stonith) are answered
//     by crmd, not lrmd (fencedev.go). See docs/dc.md, "Fencing".
//
// # Not built yet
//
// Leaving the membership when crmd dies (see docs/crm.md, "The daemon").
package server
