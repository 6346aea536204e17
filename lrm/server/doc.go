// Package server is the lrmd daemon shell: one goroutine owns the
// lrm.Manager core and selects over API calls, agent completions, the
// recurring-monitor timer and shutdown; each Command the core hands out
// runs in its own goroutine through an lrm.Executor, and its result comes
// back to the loop. gRPC handlers (LRMService) only translate and post
// closures to the loop.
//
// Shutdown (context cancelled) interrupts running agents (their process
// groups are killed by the executor) and returns once every agent
// goroutine has ended, so lrmd never leaves an agent behind on a clean
// stop; after a crash the executor's state file serves the same purpose
// (executor.ReapOrphans at start). History lives in memory only: after a
// restart the CRM re-probes, as Pacemaker's controller does when its
// executor restarts.
package server
