package sim

import (
	"math/rand"
	"slices"
	"time"
)

// Link is one node's messaging layer as the simulator drives it: it turns the node's
// outgoing membership payloads into network packets, and packets from the network into peer
// liveness events and delivered payloads. The simulator's heartbeat link implements it; the
// real messaging core (messaging/) can be wrapped to implement it too, so that simulations
// run the real heartbeat, retransmission and ordering code. Implementations are pure: no
// clock (now is passed in), no goroutines. Not safe for concurrent use.
type Link interface {
	// Tick advances the link's timers (keepalive, deadtime) to now.
	Tick(now time.Time)
	// Send queues payload for node to ("" for every peer).
	Send(now time.Time, to string, payload []byte)
	// Receive hands the link a packet the network delivered from node from.
	Receive(now time.Time, from string, packet []byte)
	// Ready returns and clears the pending effects.
	Ready() LinkReady
}

// Packet is a network packet to send; To "" means every peer.
type Packet struct {
	To   string
	Data []byte
}

// PeerEvent reports a peer going up or down.
type PeerEvent struct {
	Peer string
	Up   bool
}

// Delivery is a payload received from a peer, in order per sender.
type Delivery struct {
	From    string
	Payload []byte
}

// LinkReady is what a Link hands the simulator: packets for the network, peer events and
// payloads for the membership core.
type LinkReady struct {
	Packets   []Packet
	Peers     []PeerEvent
	Delivered []Delivery
}

func (r *LinkReady) empty() bool {
	return len(r.Packets) == 0 && len(r.Peers) == 0 && len(r.Delivered) == 0
}

// LinkConfig sets the heartbeat link's timers.
type LinkConfig struct {
	// Keepalive is the interval between heartbeats.
	Keepalive time.Duration
	// Deadtime is how long a peer may be silent before it is declared down.
	Deadtime time.Duration
}

// LinkParams is what a LinkFactory gets to build one node's link.
type LinkParams struct {
	// Self is the node; Peers are the other configured nodes.
	Self  string
	Peers []string
	// Config holds the liveness timers.
	Config LinkConfig
	// Generation grows at every (re)start of the node.
	Generation uint64
	// Rand is the link's own source, seeded from the simulation seed.
	Rand *rand.Rand
	// Now is the virtual time of the start.
	Now time.Time
}

// LinkFactory builds a node's link; restarts build a new one.
type LinkFactory func(LinkParams) Link

const (
	pktHeartbeat byte = 0
	pktData      byte = 1
)

// heartbeatLink is a minimal Heartbeat-style liveness layer: a heartbeat every keepalive,
// a peer is up when any packet arrives from it and down after deadtime of silence. Data
// is carried without retransmission (the membership protocol repairs losses itself).
type heartbeatLink struct {
	self      string
	peers     []string
	cfg       LinkConfig
	index     map[string]int
	lastHeard []time.Time
	up        []bool
	lastSent  time.Time
	sent      bool
	out       LinkReady
}

// NewHeartbeatLink returns the simulator's heartbeat link; it is the default LinkFactory.
func NewHeartbeatLink(p LinkParams) Link {
	l := &heartbeatLink{
		self:      p.Self,
		peers:     slices.Clone(p.Peers),
		cfg:       p.Config,
		index:     make(map[string]int, len(p.Peers)),
		lastHeard: make([]time.Time, len(p.Peers)),
		up:        make([]bool, len(p.Peers)),
	}
	for i, p := range p.Peers {
		l.index[p] = i
	}
	return l
}

func (l *heartbeatLink) Tick(now time.Time) {
	if !l.sent || now.Sub(l.lastSent) >= l.cfg.Keepalive {
		l.sent = true
		l.lastSent = now
		l.out.Packets = append(l.out.Packets, Packet{Data: []byte{pktHeartbeat}})
	}
	silentSince := now.Add(-l.cfg.Deadtime) // up peers last heard before this are down
	for i, p := range l.peers {
		if l.up[i] && l.lastHeard[i].Before(silentSince) {
			l.up[i] = false
			l.out.Peers = append(l.out.Peers, PeerEvent{Peer: p})
		}
	}
}

func (l *heartbeatLink) Send(_ time.Time, to string, payload []byte) {
	data := make([]byte, 1+len(payload))
	data[0] = pktData
	copy(data[1:], payload)
	l.out.Packets = append(l.out.Packets, Packet{To: to, Data: data})
}

func (l *heartbeatLink) Receive(now time.Time, from string, packet []byte) {
	i, ok := l.index[from]
	if len(packet) == 0 || !ok {
		return
	}
	l.lastHeard[i] = now
	if !l.up[i] {
		l.up[i] = true
		l.out.Peers = append(l.out.Peers, PeerEvent{Peer: from, Up: true})
	}
	if packet[0] == pktData {
		l.out.Delivered = append(l.out.Delivered, Delivery{From: from, Payload: packet[1:]})
	}
}

func (l *heartbeatLink) Ready() LinkReady {
	r := l.out
	l.out = LinkReady{}
	return r
}
