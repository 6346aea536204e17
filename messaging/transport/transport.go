package transport

import (
	"errors"
)

// ErrClosed is returned by Recv and Send after Close.
var ErrClosed = errors.New("transport: closed")

// MaxPacket is the largest packet a transport carries.
const MaxPacket = 65507

// Transport is one communication medium.
type Transport interface {
	// Name identifies the medium, e.g. "bcast eth0".
	Name() string
	// Send writes one packet to every peer reachable on the medium. It
	// does not block for long; it may drop the packet when the medium is
	// congested. One goroutine may call Send while another calls Recv.
	Send(pkt []byte) error
	// Recv blocks until a packet arrives, copies it into buf and returns
	// its length. After Close it returns ErrClosed. Only one goroutine may
	// call Recv.
	Recv(buf []byte) (int, error)
	// Close releases the medium and unblocks Recv. Safe to call twice.
	Close() error
}

// BatchSender is implemented by transports that can hand several packets
// to the kernel in one system call (sendmmsg). Same rules as Send.
type BatchSender interface {
	SendBatch(pkts [][]byte) error
}
