// Package transport provides the media of the messaging layer behind one
// interface: UDP broadcast, multicast and unicast (IPv4 and IPv6), serial
// lines (SLIP framing over go.bug.st/serial, which also drives
// pseudo-terminals) and an in-memory network for tests.
//
// Invariants: Send never blocks for long (a congested medium drops the
// packet, as a lossy network would; the protocol retransmits); Recv
// returns whole packets, one per call, until Close, after which it returns
// ErrClosed.
package transport
