// Package crm is the pure core of crmd, the Cluster Resource Manager of
// every node: DC election, join, CIB replication and node attributes (the
// attrd role). It is a deterministic state machine in the style of etcd's
// raft. The daemon shell (crm/server, cmd/crmd) wires it to messagingd,
// membershipd, the bbolt CIB store and the CIB gRPC service the CLIs use;
// lrmd and the policy engine are not wired yet (see below and docs/crm.md).
//
// # Shape
//
// A Node is driven by
//
//   - SetView(now, View): the agreed membership view (membership.View's
//     Number, Members and Quorum, restricted by the daemon to members
//     whose crmd is up);
//   - Step(now, Message) or StepBytes(now, from, bytes): crm messages from
//     other nodes (channel "crmd" of the messaging layer; from is the
//     authenticated sender);
//   - Tick(now): retries, write deadlines, attribute dampening;
//   - API calls: Write (cibadmin writes), Query (local reads), SetAttr,
//     FailCount, GetAttr (crm_attribute, crm_standby), SetLRM (the local
//     lrmd's resource history).
//
// Ready() returns and clears what the caller must do, in this order:
// with Config.SendAhead, send Ready.Ahead (the DC's patches; they may
// leave before or while Persist is saved); save Ready.Persist (cib.Entry values, in order, with fsync: cib.Store's
// SaveBatch) before anything else, and before calling the Node again (a
// patch entry points at the node's live CIB, which cib.Store allows); then send Ready.Messages (Encode; To
// "" means every other node); then deliver Ready.Replies to local
// clients, publish Ready.DC and log and show Ready.Lost.
//
// # Protocol (details in docs/crm.md)
//
//   - Election: on every view every member broadcasts a vote (view number,
//     member list, "I was DC", CIB version). With every member's vote for
//     the same view each node computes the same winner: a node that was DC
//     when the view changed, then the highest CIB version, then the name
//     that sorts first. A partition without quorum elects no DC unless
//     Config.NoQuorumPolicy is "ignore". A vote also carries the crmd
//     incarnation of every member as its sender knows them; votes count
//     only between nodes that know the same incarnations, and learning a
//     newer one makes a node vote again, so a crmd that restarts within an
//     unchanged view (same view number) causes a new election in it.
//   - Join: the DC offers its CIB version and digest; each member answers
//     with its version, digest, configuration lineage, resource history
//     and, when its CIB differs, the CIB itself. The newest CIB (highest
//     admin_epoch, epoch, num_updates) wins; a losing copy whose
//     configuration is not in the winner's lineage is reported in
//     Ready.Lost. The DC sends the CIB to members that differ; once every
//     member persisted it, bumps the epoch by Window+1 and writes
//     node_state (in_ccm, crmd, join, expected), each member's lrm
//     section, dc-uuid and have-quorum; once every member persisted that,
//     bumps the epoch once more and starts applying writes.
//   - Replication: writes go to the DC, which applies them (cib.Apply),
//     persists and broadcasts the patch. Replicas apply patches in version
//     order; a gap or a failed patch makes them ask for a full copy; the
//     DC also resends a full copy to a member that has not acknowledged
//     for Retry.
//
// # Invariants
//
//   - At most one DC per view: every member computes the winner from the
//     same complete set of votes, each fixed when its sender installed the
//     view. With no-quorum-policy other than ignore, a node whose view
//     lacks quorum is never DC.
//   - A node's CIB version never goes back: patches apply only forward,
//     full copies older than the current CIB are refused, and persist
//     panics on a step back.
//   - A write is acknowledged only when the DC and every member of its
//     (quorate) view have persisted a version holding it (patches sent
//     ahead do not change this: answers and acks follow the sender's own
//     save). Every later quorate view shares a member with that view, the
//     join adopts the newest CIB, the DC never runs more than Window
//     epochs ahead of what all members persisted, and a join holds
//     nothing above what every member persisted but its Window+1 bump and
//     the status until every member persisted those, after which one more
//     bump precedes any write; so a stale DC (one not yet told it lost its
//     partition) stays below every version a later quorate partition
//     acknowledges, and an acknowledged write is in the CIB of every later
//     quorate DC. Exceptions, by
//     design: no-quorum-policy=ignore (both sides write; the loser's
//     changes are reported lost), and writes that set admin_epoch (erase,
//     replace with a higher admin_epoch), which are the administrator's
//     explicit override.
//   - A merge never drops configuration silently: every copy whose
//     configuration differs from the winner's and is not in its lineage
//     is reported (it may be a stale copy when the lineage was lost: the
//     lineage is kept in memory, merged across nodes at every join, and
//     lost when every node restarts).
//   - Attribute writes carry absolute values (fail counts are incremented
//     locally), so repeating one after a DC change is harmless.
//
// # Not built yet
//
// In the daemon (crm/server): lrmd calls (SetLRM, probes where the history
// is unknown, fail counts from results), the policy engine call on every
// relevant change, and the gRPC APIs of crm_attribute, crm_standby,
// crm_node and crm_mon.
// The core is not safe for concurrent use.
package crm
