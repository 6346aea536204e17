// Package lrm is the core of the local resource manager (lrmd): it decides
// which resource agent action runs when, and keeps the operation history.
// It does not run anything itself; the daemon shell in lrm/server feeds it
// events and executes the Commands it hands out through an Executor (see
// lrm/executor for the real fork/exec implementation and a scripted fake).
//
// The Manager is a deterministic state machine in the shape of etcd's raft:
// Submit, Cancel, Complete and Tick take an explicit now, and Ready returns
// the effects accumulated since the last call: Commands to execute and
// Results to publish. It uses no clock, goroutine, file or process.
//
// Invariants:
//   - At most one operation of a resource runs at a time (per-resource
//     serialization); operations of one resource run in submission order.
//   - At most Config.MaxParallel operations run at once across resources;
//     a resource whose turn comes waits in arrival order (first queued,
//     first run).
//   - Every operation gets a call id, unique and increasing for the life
//     of a Manager; a recurring monitor keeps its call id across runs, as
//     Pacemaker's executor does.
//   - A recurring monitor is due Interval after its previous run finished;
//     its first run is immediate. Its result is published only when the
//     (rc, status) pair differs from the previous run, or when it is the
//     first run, or when it is cancelled; one-shot results are always
//     published.
//   - When a stop starts, it cancels the resource's recurring operations
//     submitted before it (their cancellation is published), so a stopped
//     resource is never monitored by a stale op; monitors submitted after
//     the stop (a restart) survive.
//   - History keeps, per resource and per operation key (action and
//     interval, as Pacemaker's lrm_rsc_op id), the last result with its
//     call id, rc, status, exit reason, bounded output, last run,
//     last-rc-change, exec and queue time, and the last failure.
//
// The Manager is not safe for concurrent use: one goroutine owns it.
package lrm
