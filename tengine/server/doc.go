// Package server is the tengine daemon shell: it serves
// tengine.v1.TransitionService on a unix socket and runs each graph with
// the pure tengine.Engine, dispatching every rsc_op and crm_event as one
// crm.v1.CRMService.ExecuteAction call on the local crmd.
//
// One graph runs at a time: the Run handler owns the Engine for the whole
// graph and selects over action results (one goroutine per call in
// flight), the next action deadline, Abort requests and the end of its own
// call. A second Run is refused with FAILED_PRECONDITION until the first
// one has finished (including the actions still running after an abort).
//
// Invariants:
//   - Every ExecuteAction call carries the graph's fields verbatim and a
//     deadline of CRM_meta_timeout + cluster-delay; the engine fails an
//     action that has not answered by then (op-status timeout) even if the
//     call hangs.
//   - Cancelling the Run call aborts the graph: no action starts, the
//     running ones are waited for, and only then is the slot free.
//   - The transition key of every action is
//     "ACTION:TRANSITION:TARGET_RC:UUID" with the UUID of this tengine
//     instance (Config.UUID), so results of an older tengine are told apart.
package server
