// Package server is the shell of stonithd around the stonith core: one
// goroutine owns the Fencer and feeds it API calls, agent results and
// timer ticks with the real clock; the agents its Ready hands out run in
// goroutines through an Executor (stonith/agent.Runner, or a fake in
// tests).
//
// It has a Go API only (Fence, Confirm, History, CleanupHistory,
// SetTopology, Topology); the gRPC StonithService, the CIB watch and the
// cluster-wide execution are not built yet (see docs/stonith.md).
//
// Invariants: the Fencer is touched only by the loop goroutine; every
// Fence call returns the completion of its operation (or an error when the
// caller's context ends or the server stops); when Run returns, no agent
// started by it is still running.
package server
