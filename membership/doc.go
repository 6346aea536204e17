// Package membership is Systole's consensus membership core (the CCM of Heartbeat 2): from
// peer liveness and every node's who-hears-whom report it computes the largest fully
// connected set of nodes, agrees on it with the other members under a growing view number,
// and publishes it with a quorum flag.
//
// # Shape
//
// Node is a pure state machine in the style of etcd's raft: the shell feeds it
//
//   - PeerStatus(now, peer, up): peer liveness from the messaging layer,
//   - Step(now, from, payload): membership messages other nodes sent (opaque bytes the
//     messaging layer carried on the "membership" channel),
//   - Tick(now): timers,
//
// and drains Ready: persist Ready.HardState (fsync) before sending Ready.Messages (To ""
// means every other node), then publish Ready.View and Ready.Notices. The core reads no
// clock, does no I/O and starts no goroutines; every time is the caller's now.
//
// # Protocol
//
// Every node broadcasts a table of reports (its own set of peers it hears, and the newest
// report it holds from every other node, ordered by incarnation and sequence number)
// every ReportInterval and at once when its own report changes. Relaying lets a node learn
// the links of a peer it cannot hear itself.
//
// From the reports every node builds the same graph: an edge joins a and b only when a
// reports hearing b and b reports hearing a. It keeps the connected component holding
// itself and splits it into cliques: the maximum clique first (exact, Tomita-style branch
// and bound with a greedy colouring bound; among several of the largest size, the one whose
// sorted list of node names compares smallest), then the maximum clique of the rest, and so
// on. The clique holding the node is the member set it wants.
//
// The lowest-named node of a wanted set is its coordinator. Once the set has been stable
// for Settle, the coordinator proposes it with a number above every number it has seen.
// A member acknowledges only a number above every number it has acknowledged (a promise,
// kept across restarts through HardState) and only a set equal to the one it computes
// itself; otherwise it refuses with its highest number or with "mismatch". When every
// member acknowledged, the coordinator installs the view, tells the members to install it,
// and tells the members of its previous view that were left out. A coordinator whose
// proposal times out, or whose members do not report the installed view within
// ProposeTimeout, proposes again with a higher number.
//
// # Invariants
//
//   - A node's installed view numbers strictly grow, across restarts (HardState.MaxView);
//     the core panics rather than install a lower number.
//   - A view is identified by (number, coordinator); a coordinator never reuses a number,
//     so every node that installs a given view installs the same member list.
//   - A view is installed only after every member acknowledged it; a node never installs
//     a view it did not acknowledge, nor one holding a node it does not hear at that moment.
//   - An edge needs both directions, so asymmetric links (a hears b, b does not hear a)
//     never put a and b in one newly agreed view once b's report reflects it.
//   - A peer that went down counts as up only after HoldDown of continuous liveness, so a
//     flapping link cannot change the view more often than once per HoldDown (set it to
//     the messaging deadtime).
//   - Quorum is a strict majority of ExpectedVotes (default: the configured votes). In
//     two-node mode one vote is quorum, but only once this node has seen a view holding
//     both nodes since it started (wait for all).
//
// Eventual agreement needs a stable network: when every node hears every other one, all
// reports converge, every node computes the same set and the coordinator's proposal is
// acknowledged by all.
package membership
