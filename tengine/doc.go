// Package tengine is Systole's transition engine: it executes the
// transition graph the policy engine computed (Pacemaker's
// <transition_graph> XML) by handing its actions, in order, to the caller.
//
// The core is a deterministic state machine in the style of etcd raft: no
// clock, no I/O, no goroutines. ParseGraph reads a graph; an Engine runs
// one graph and is driven by explicit inputs, each with an explicit now:
//
//   - Result(now, id, Result): an action's outcome came back;
//   - Tick(now): deadlines (an action that has not answered by its
//     deadline failed with a timeout);
//   - Abort(now, reason): stop starting actions (a CIB change, a new
//     graph is needed);
//   - NodeLost(now, node): the running actions on that node failed.
//
// Ready returns what the caller must do next: the actions to dispatch
// (each with its deadline and transition key), progress events, and, once,
// Finished with the outcome and counts. Call Ready after every input.
//
// Invariants:
//   - An action starts only when every action its synapse waits for is
//     confirmed (finished with its expected result); pseudo events are
//     confirmed the moment their inputs are.
//   - At most batch-limit non-pseudo actions run at once (0 = no limit)
//     and at most migration-limit migrate_to/migrate_from actions run on
//     one node (-1 = no limit).
//   - After an abort or a failed action no action starts; the actions
//     already running are waited for (their results still count).
//   - Finished is reported exactly once, when nothing runs and nothing
//     more will start; completed + failed + skipped is the number of
//     non-pseudo actions in the graph, and the outcome is COMPLETE only
//     if every action was confirmed.
//   - An Engine is not safe for concurrent use.
package tengine
