// Package messaging is Systole's bottom layer: authenticated heartbeats
// and reliable cluster messages between the nodes of one cluster, in the
// manner of Heartbeat's messaging (ha.cf, authkeys, per-sender sequence
// numbers, NACK/retransmit from a bounded history).
//
// The package holds the pure protocol core (Node), the parsers of ha.cf
// (ParseHaCf) and authkeys (ParseAuthkeys), and the wire codec. Media (UDP
// broadcast/multicast/unicast, serial lines, an in-memory network) live in
// messaging/transport, the daemon and its gRPC service in
// messaging/server, a client library in messaging/client.
//
// # Ready contract
//
// A Node is driven by three inputs and one output, like etcd's raft:
//
//   - Step(pkt, medium, now) for every packet read from a medium;
//   - Tick(now), at least at NextDeadline() (a ticker also works);
//   - Send(dest, channel, payload, now) for local clients' messages;
//   - Ready() returns and clears what the caller must do: Packets to write
//     on the named media (best effort: a write error is a lost packet),
//     Messages to deliver to local subscribers in order, Peers and Links
//     status changes and Lost reports to publish.
//
// The core never reads a clock, opens a socket, starts a goroutine or uses
// a global random source; randomness comes from the *rand.Rand passed to
// NewNode, so a seeded simulation replays exactly.
//
// # Invariants
//
//   - Every packet carries cluster name, source node, generation, packet
//     number, the sender's next data seq and a type, and is signed with
//     HMAC (SHA-256 by default) under the active authkeys key; with
//     Encrypt the body is sealed with AES-256-GCM first. A packet that does
//     not verify, belongs to another cluster or node set, comes from an
//     older generation or falls behind the 1024-packet anti-replay window
//     is dropped and counted and changes nothing.
//   - The same packet received over several media is processed once.
//   - Per sender generation, messages are delivered in send order, each at
//     most once. Every message a sender sends after both nodes have seen
//     each other up is delivered, as long as both stay up: gaps are NACKed
//     after a random delay in (0, NackDelay] and retransmitted from a
//     history of History data packets; flow control keeps every live peer
//     within Window packets, so such a peer never needs a packet that left
//     the history. A peer that was declared dead and comes back may find
//     its gap gone: the sender answers with a lost packet and the receiver
//     reports a LostEvent and skips the gap.
//   - A peer is up from its first valid packet, late after Warntime and
//     dead after Deadtime without one; a configured peer never heard is
//     dead after Initdead. A link (peer, medium) has the same timers
//     applied to packets from that peer on that medium, and is reported
//     apart from the node.
//   - Messages larger than one packet are fragmented; fragments take
//     consecutive seqs, so in-order delivery also reassembles.
package messaging
