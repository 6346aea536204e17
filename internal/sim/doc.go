// Package sim is Systole's deterministic cluster simulator: it runs N nodes' messaging and
// membership cores in one goroutine over a simulated network, in virtual time, with every
// random choice (loss, delay, duplication, tick phases) drawn from one seeded source. The
// same seed and commands replay a run exactly.
//
// # Pieces
//
//   - Cluster: the nodes, an event queue ordered by (virtual time, sequence), and the
//     network: per directed link cut flags, loss probabilities, a global duplication
//     probability and a delay range. A node crash drops its in-memory cores and keeps its
//     persisted membership.HardState ("disk"); a restart builds new cores from it.
//   - Link: the seam to the messaging layer. NewHeartbeatLink is a minimal stand-in (a
//     heartbeat every keepalive, a peer is down after deadtime of silence, no
//     retransmission); NewMessagingLink runs the real messaging core (messaging.Node:
//     HMAC-signed packets, generations, reliable per-sender delivery with NACK and
//     retransmit) over one simulated broadcast medium. Scripts choose with
//     "cluster ... link=messaging".
//   - Runner: datadriven-style scripts (testdata/*.txt): partition, heal, cut a>b (b stops
//     hearing a), cut a<>b, drop, dup, crash, restart, tick N, run D, stabilize, converge,
//     flap, views, installs. The trace of view installs is the expected output;
//     GOLDEN_UPDATE=1 go test ./internal/sim/ rewrites it.
//   - RandomSchedule / RunSchedule: seeded random fault schedules on 3 to 16 nodes, ending
//     with a heal, a restart of every crashed node and a bounded convergence check.
//
// # Invariants checked as events happen
//
//   - Agreement: a view (number, coordinator) has one member list on every node that
//     installs it, and the installing node is a member.
//   - Monotonic: a node's installed view numbers strictly grow, across crash and restart.
//   - Quorum: a view's quorum flag is a strict majority of the expected votes (two-node
//     mode: at least one vote).
//   - Cuts: no view installed later than margin() after a link a>b was cut holds both a
//     and b (this covers partitions and asymmetric links); on a loss-free network no node
//     still holds such a view quorumBound() after the cut.
//   - Minority: on a loss-free network, a node whose two-way reachable alive nodes hold
//     no majority of votes does not claim quorum for longer than quorumBound().
//   - Steady state: once the network has been unchanged and loss-free for
//     ConvergeBound(), whatever the topology (partitions, asymmetric cuts), every running
//     node's view is installed, identically, on every one of its members, and for the
//     next 5 s no node sends more than two membership messages per report interval.
//   - Convergence: after heal (and restart of every node), every node installs one view of
//     all nodes within ConvergeBound().
//   - Two-node mode: a node claims quorum only after it installed a view of both nodes
//     since its last start (wait for all).
//
// A failing random schedule is reported with its seed; go test ./internal/sim -run
// TestRandomSchedules -sim.seed=N replays it and prints its commands.
package sim
