package sim

import (
	"fmt"
	"io/fs"
	randv2 "math/rand/v2"
	"time"

	"github.com/systole/systole/messaging"
)

// MembershipChannel is the messaging channel membership payloads travel on.
const MembershipChannel = "membership"

// messagingLink runs the real messaging core (messaging.Node: heartbeats, HMAC, per-sender
// reliable ordered delivery with NACK/retransmit) as a node's Link, over one simulated
// broadcast medium.
type messagingLink struct {
	self string
	node *messaging.Node
	out  LinkReady
	err  error
}

// simAuthkeys is the authkeys file of simulated clusters.
const simAuthkeys = "auth 1\n1 sha256 systole-simulator-key\n"

// NewMessagingLink is a LinkFactory that runs the real messaging core. Keepalive and
// deadtime come from cfg; warntime is half the deadtime and initdead equals deadtime.
func NewMessagingLink(p LinkParams) Link {
	self, cfg := p.Self, p.Config
	l := &messagingLink{self: self}
	keys, err := messaging.ParseAuthkeys("sim-authkeys", []byte(simAuthkeys), fs.FileMode(0o600))
	if err != nil {
		panic(fmt.Sprintf("sim: authkeys: %v", err))
	}
	mc := messaging.DefaultConfig()
	mc.Cluster = "sim"
	mc.Node = self
	mc.Nodes = append([]string{self}, p.Peers...)
	mc.Generation = p.Generation
	mc.Keepalive = cfg.Keepalive
	mc.Deadtime = cfg.Deadtime
	mc.Warntime = cfg.Deadtime / 2
	mc.Initdead = cfg.Deadtime
	mc.Media = []messaging.Medium{{Name: "sim"}}
	n, err := messaging.NewNode(mc, keys, randv2.New(randv2.NewPCG(p.Rand.Uint64(), p.Rand.Uint64())), p.Now)
	if err != nil {
		panic(fmt.Sprintf("sim: messaging node %s: %v", self, err))
	}
	l.node = n
	return l
}

func (l *messagingLink) Tick(now time.Time) {
	l.node.Tick(now)
	l.collect()
}

func (l *messagingLink) Send(now time.Time, to string, payload []byte) {
	if err := l.node.Send(to, MembershipChannel, payload, now); err != nil && l.err == nil {
		l.err = fmt.Errorf("sim: %s: messaging send to %q: %w", l.self, to, err)
	}
	l.collect()
}

func (l *messagingLink) Receive(now time.Time, _ string, packet []byte) {
	// Invalid packets are the messaging core's business (it counts and drops them); the
	// sender is authenticated inside the packet.
	_ = l.node.Step(packet, 0, now)
	l.collect()
}

func (l *messagingLink) collect() {
	for l.node.HasReady() {
		rd := l.node.Ready()
		for _, p := range rd.Packets {
			l.out.Packets = append(l.out.Packets, Packet{Data: p.Data})
		}
		for _, e := range rd.Peers {
			l.out.Peers = append(l.out.Peers, PeerEvent{Peer: e.Node, Up: e.State == messaging.PeerUp})
		}
		for _, m := range rd.Messages {
			if m.From != l.self && m.Channel == MembershipChannel {
				l.out.Delivered = append(l.out.Delivered, Delivery{From: m.From, Payload: m.Payload})
			}
		}
	}
}

func (l *messagingLink) Ready() LinkReady {
	r := l.out
	l.out = LinkReady{}
	return r
}

// Err returns the first error the link hit (a refused Send), for the simulator's checks.
func (l *messagingLink) Err() error { return l.err }
