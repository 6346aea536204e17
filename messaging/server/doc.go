// Package server is messagingd's daemon shell: it loads ha.cf and
// authkeys, bumps and persists the generation, opens the media, and runs
// the messaging core (package messaging) in one goroutine that selects
// over received packets, the core's next deadline, API calls and
// cancellation; after every event it drains the core's Ready: writes
// packets to the media, publishes messages to subscribers and status
// changes to watchers. The gRPC MessagingService (proto/messaging/v1) is
// served on a unix socket; its handlers only pass closures to that loop.
//
// Invariants: the core is touched only by the loop goroutine; a slow
// subscriber or watcher never blocks the loop (it is cut off with
// RESOURCE_EXHAUSTED instead); the generation is on disk (fsync) before
// the first packet is sent.
package server
