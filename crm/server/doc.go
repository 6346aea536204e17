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
// # Not built yet
//
// lrmd (SetLRM, FailCount), the policy engine call, the attribute and
// status APIs for crm_attribute, crm_node, crm_mon and crmadmin (only the
// CIBService is served), no-quorum-policy read from crm_config, and
// leaving the membership when crmd dies (see docs/crm.md, "The daemon").
package server
