// Package server is the pengine daemon shell: it serves
// pengine.v1.PEngineService on a unix socket and runs each Compute call
// through the pure policy engine (pengine.ParseInput and
// pengine.ComputeInput, the fast path crm_simulate uses).
//
// Invariants:
//   - The server keeps no state between calls: the answer depends only on
//     the request (and on the injected clock when the request carries no
//     time), so a restarted pengine gives the same graph for the same CIB.
//   - A CIB that cannot be read (malformed XML, no <cib> root) is refused
//     with INVALID_ARGUMENT and the parser's reason; configuration problems
//     the scheduler tolerates come back as warnings, as in crm_simulate.
//   - At most Config.MaxConcurrent computations run at once; more wait
//     (or fail with their context), so a burst of calls cannot use all
//     the memory of a node.
package server
