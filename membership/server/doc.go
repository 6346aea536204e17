// Package server is membershipd's daemon shell around the pure membership core
// (package membership). It reads the cluster configuration from ha.cf, keeps the core's
// HardState in the state directory, talks to the local messagingd through its gRPC API
// (peer liveness from WatchPeers, membership messages on the "membership" channel), and
// serves MembershipService (proto/membership/v1) on a unix socket.
//
// # Loop
//
// One goroutine owns the core. It selects over a ticker, the events of the messagingd
// streams (peer status and deliveries, pumped by two reader goroutines), API calls (the
// gRPC handlers only pass closures to the loop) and the context. After every input it
// calls Tick and drains Ready: it writes HardState to <statedir>/membership.state (write
// temporary file, fsync, rename, fsync directory) before sending the Ready's messages,
// then sends them, then publishes the view and notices to watchers.
//
// # Invariants
//
//   - The core is touched only by the loop goroutine.
//   - Messages of a Ready are sent only after its HardState is durable; if the state
//     cannot be written the daemon stops (Run returns the error) rather than send.
//   - When the messagingd streams break (messagingd restarted or died), every peer is
//     reported down to the core at once (losing quorum is the safe side) and the shell
//     reconnects with backoff; the new WatchPeers snapshot brings the peers back.
//   - A slow watcher never blocks the loop: it is cut off with RESOURCE_EXHAUSTED.
package server
