// Package pengine is Systole's policy engine: a pure, deterministic function
// from a CIB (configuration plus status, with an explicit "now") to a
// transition graph and its summary, compatible with Pacemaker's scheduler.
//
// Invariants:
//   - No I/O: the package reads nothing but its arguments and writes nothing
//     but its results. It does not import os, net, os/exec or call time.Now;
//     a test enforces the import rule.
//   - Deterministic: the same CIB and Config always give byte-identical
//     output. Nodes are kept in natural uname order, resources in priority
//     order (stable), and every map iteration that affects output is sorted.
//   - Never panics on any input: malformed values fall back to defaults the
//     way Pacemaker does; structurally broken XML is rejected by cib.Parse.
//
// The pipeline (see ../shared/SCHEDULER.md) is: unpack options, nodes,
// resources and constraints; unpack status (node states, resource history);
// apply location criteria; create internal constraints; check configuration
// changes; assign resources to nodes; create actions (probes, per-resource
// actions, fencing and shutdowns); apply orderings and propagate action
// flags to a fixpoint; then build the transition graph and the summary.
//
// Entry points: Compute (a *cib.CIB) and ComputeDoc (an etree document,
// e.g. from ParseXML, a lean reader for large status sections) and
// ComputeInput (from ParseInput, which keeps lrm_rsc_op history entries out
// of the element tree in compact form; it must give the same result as
// ComputeDoc over ParseXML, which the golden test checks). Result
// carries the transition graph (Graph.XML in Pacemaker's
// <transition_graph> shape), the Transition Summary, the simulated
// execution and the cluster-status text crm_simulate prints.
//
// Scope: primitives, groups and their constraints (tier 1) are complete
// enough to match Pacemaker on its regression corpus. Clones (tier 2):
// early assignment of active instances (optimal per node, slot
// reservation), clone-node-max for cloned groups, clone-min and
// require-all=false (clone-one-or-more pseudo actions), interleaved
// orderings (instance to same-node instance, unpaired instances
// unassigned), promotable clones (promotion scores and where they apply,
// instance priority from them, role colocations incl. node-attribute and
// clone primaries, on-fail=demote, no-quorum freeze) and notifications.
// Live migration (migration.go): migrate_to/migrate_from instead of
// stop/start, and migrations recorded in the history as Pacemaker 2.1.5
// reads them: partial (continued, or stopped on both nodes when the target
// changed), dangling (source stopped), failed migrate_to or migrate_from,
// a pending migrate_to on a lost node; orderings are repeated for the
// migration actions. priority-fencing-delay is computed as in Pacemaker
// 2.1 (CRM_meta_priority_fencing_delay on the fencing of a lost node), and
// a placement strategy orders stops and starts around load_stopped_<node>
// pseudo actions. migration-limit is not enforced; bundles, remote/guest
// nodes, tickets and unfencing are not implemented.
//
// The internal working set is single-use and not safe for concurrent use;
// Compute itself may be called concurrently on different inputs.
package pengine
