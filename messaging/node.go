package messaging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"
)

// PeerState is the liveness of a peer node as this node sees it.
type PeerState int

// Peer states.
const (
	// PeerUnknown: never heard since start, initdead not yet passed.
	PeerUnknown PeerState = iota
	// PeerUp: a valid packet arrived within deadtime.
	PeerUp
	// PeerDead: no valid packet for deadtime (or never heard by initdead).
	PeerDead
)

// String returns "unknown", "up" or "dead".
func (s PeerState) String() string {
	switch s {
	case PeerUnknown:
		return "unknown"
	case PeerUp:
		return "up"
	case PeerDead:
		return "dead"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// PeerEvent reports a change in a peer's liveness.
type PeerEvent struct {
	// Node is the peer's name.
	Node string
	// State is its new state.
	State PeerState
	// Generation is the peer's generation as last seen (0 if never heard).
	Generation uint64
	// Late is set (with State PeerUp) when warntime passed without a
	// packet; an event with State PeerUp and Late unset follows when the
	// peer is heard again before deadtime.
	Late bool
	// Restarted is set when a packet with a higher generation arrived from
	// a peer that was already known: its reliable stream starts afresh.
	Restarted bool
}

// LinkEvent reports that the link to a peer over one medium went up or
// down. Links are tracked apart from the node: a peer stays up while any
// of its links is up.
type LinkEvent struct {
	Node   string
	Medium int
	Up     bool
}

// Message is a reliable message delivered to this node.
type Message struct {
	// From is the sending node (this node for local deliveries).
	From string
	// Generation is the sender's generation.
	Generation uint64
	// Seq is the stream sequence number of the message's last fragment
	// (0 for local deliveries); it grows with every message of a sender
	// generation.
	Seq uint64
	// Channel is the name the sender chose, e.g. "crmd".
	Channel string
	// Dest is the node it was addressed to, or "" for every node.
	Dest string
	// Payload is the message body; the receiver owns it.
	Payload []byte
}

// LostEvent reports sequence numbers of a sender that this node will never
// receive: the sender no longer had them when asked (it answered a NACK
// with a lost packet). Messages with a fragment in the range are not
// delivered.
type LostEvent struct {
	From        string
	Generation  uint64
	First, Last uint64
}

// Packet is an encoded packet to send on one medium.
type Packet struct {
	Medium int
	Data   []byte
}

// Ready is what a Node asks its caller to do: send Packets, deliver
// Messages to local clients, publish status changes. Everything in it is
// owned by the caller.
type Ready struct {
	Packets  []Packet
	Messages []Message
	Peers    []PeerEvent
	Links    []LinkEvent
	Lost     []LostEvent
}

// Empty reports whether r holds nothing.
func (r *Ready) Empty() bool {
	return len(r.Packets)+len(r.Messages)+len(r.Peers)+len(r.Links)+len(r.Lost) == 0
}

// Stats are cumulative counters of one Node.
type Stats struct {
	PacketsIn, PacketsOut uint64 // valid and invalid packets received; packets handed out (per medium)
	BytesIn, BytesOut     uint64
	BadAuth               uint64 // HMAC or GCM failure, or clear packet in an encrypted cluster
	UnknownKey            uint64 // key id not in authkeys
	Truncated             uint64
	Malformed             uint64
	ForeignCluster        uint64
	UnknownNode           uint64
	Replays               uint64 // older generation, or packet number older than the replay window
	Duplicates            uint64 // the same packet again (normally: over a second medium)
	DupData               uint64 // a data seq already received (retransmissions others asked for)
	Own                   uint64 // our own broadcasts echoed back
	Retransmits           uint64
	NacksSent             uint64
	NacksReceived         uint64
	LostSent              uint64 // seqs reported lost to a requester
	LostReceived          uint64 // seqs a sender reported lost to us
	MessagesSent          uint64
	MessagesDelivered     uint64 // messages from peers delivered locally
	WindowDrops           uint64 // data too far ahead of the receive window
	FlowBlocked           uint64 // times the send window was full with data queued
}

// PeerStatus is a snapshot of one peer.
type PeerStatus struct {
	Node       string
	State      PeerState
	Generation uint64
	Late       bool
	LastHeard  time.Time
	// Links holds per-medium link state, indexed like Config.Media.
	Links []bool
}

const replayWords = 16 // 1024-packet anti-replay window

type link struct {
	lastHeard time.Time
	up        bool
	maxPkt    uint64 // highest packet number heard on this medium (this generation)
}

type peer struct {
	name      string
	state     PeerState
	late      bool
	lastHeard time.Time
	links     []link
	gen       uint64
	maxPkt    uint64
	win       [replayWords]uint64
	rs        *stream   // their stream, nil until first contact in gen
	ackSeq    uint64    // their cumulative ack of our stream (our generation)
	joined    bool      // they acked our current generation at least once
	ackAt     time.Time // last time their ack advanced or was complete
}

// stream is the receive state of one sender generation.
type stream struct {
	expected uint64 // next seq to deliver
	high     uint64 // highest seq known to exist
	buf      map[uint64]*packet
	nackAt   time.Time
	sinceAck int
	ackDue   bool

	asmActive bool
	asmMine   bool
	asmNext   uint32
	asmCount  uint32
	asmTotal  uint32
	asmCh     string
	asmDest   string
	asm       []byte
}

type outMsg struct {
	dest, channel string
	payload       []byte
	off           int
	index, count  uint32
}

type histEntry struct {
	p        *packet
	lastSent time.Time
}

// Node is the messaging protocol state machine of one cluster node:
// heartbeats, liveness, authentication, and reliable, ordered, fragmented
// messages. It does no I/O and reads no clock: the caller passes packets
// to Step, calls Tick regularly (NextDeadline says when it must), and
// drains Ready. Not safe for concurrent use.
type Node struct {
	cfg     Config
	codec   *codec
	rng     *rand.Rand
	log     *slog.Logger
	start   time.Time
	pktno   uint64
	nextSeq uint64
	hist    []histEntry
	histLow uint64
	queue   []*outMsg
	queued  int
	lastHB  time.Time
	peers   map[string]*peer
	order   []*peer
	rd      Ready
	stats   Stats
	recvWin uint64
	ackEach int
}

// NewNode returns a Node started at now. rng drives the random NACK
// delays; pass a seeded source in tests and a randomly seeded one in the
// daemon.
func NewNode(cfg Config, keys *Keys, rng *rand.Rand, now time.Time) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("%w: nil random source", ErrConfig)
	}
	c, err := newCodec(cfg.Cluster, keys, cfg.Encrypt)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := &Node{cfg: cfg, codec: c, rng: rng, log: log.With("node", cfg.Node), start: now,
		nextSeq: 1, histLow: 1, hist: make([]histEntry, cfg.History), peers: map[string]*peer{},
		recvWin: uint64(2 * cfg.History), ackEach: max(1, cfg.Window/4)}
	names := slices.Clone(cfg.Nodes)
	slices.Sort(names)
	for _, name := range names {
		if name == cfg.Node {
			continue
		}
		p := &peer{name: name, links: make([]link, len(cfg.Media))}
		n.peers[name] = p
		n.order = append(n.order, p)
	}
	if n.codec.overhead(cfg.Node, string(make([]byte, 255)), string(make([]byte, 255)))+64 > cfg.MaxPacket {
		return nil, fmt.Errorf("%w: max packet %d too small for headers", ErrConfig, cfg.MaxPacket)
	}
	return n, nil
}

// Ready returns the pending effects and clears them.
func (n *Node) Ready() Ready {
	r := n.rd
	n.rd = Ready{}
	return r
}

// HasReady reports whether Ready would return anything.
func (n *Node) HasReady() bool { return !n.rd.Empty() }

// Stats returns the counters.
func (n *Node) Stats() Stats { return n.stats }

// Generation returns this node's generation.
func (n *Node) Generation() uint64 { return n.cfg.Generation }

// Config returns the node's configuration.
func (n *Node) Config() Config { return n.cfg }

// Queued returns the bytes of messages waiting for the send window.
func (n *Node) Queued() int { return n.queued }

// Peers returns a snapshot of every peer, sorted by name.
func (n *Node) Peers() []PeerStatus {
	out := make([]PeerStatus, 0, len(n.order))
	for _, p := range n.order {
		ps := PeerStatus{Node: p.name, State: p.state, Generation: p.gen, Late: p.late, LastHeard: p.lastHeard}
		for _, l := range p.links {
			ps.Links = append(ps.Links, l.up)
		}
		out = append(out, ps)
	}
	return out
}

// Send queues a reliable message for dest ("" = every node, this one
// included) on channel. A message to this node, or the local copy of a
// broadcast, is delivered at once through Ready. Messages leave in Send
// order; they are fragmented to fit MaxPacket and held back while a live
// peer is more than Window packets behind. Send copies nothing: the
// caller must not modify payload afterwards.
func (n *Node) Send(dest, channel string, payload []byte, now time.Time) error {
	if channel == "" || len(channel) > 255 {
		return ErrBadChannel
	}
	if dest != "" && dest != n.cfg.Node && n.peers[dest] == nil {
		return fmt.Errorf("%w: %q", ErrBadDest, dest)
	}
	if len(payload) > n.cfg.MaxMessage {
		return fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(payload), n.cfg.MaxMessage)
	}
	if dest != n.cfg.Node && len(n.order) > 0 && n.queued+len(payload) > n.cfg.MaxQueued {
		return ErrQueueFull
	}
	n.stats.MessagesSent++
	if dest == "" || dest == n.cfg.Node {
		n.rd.Messages = append(n.rd.Messages, Message{From: n.cfg.Node, Generation: n.cfg.Generation,
			Channel: channel, Dest: dest, Payload: slices.Clone(payload)})
		if dest == n.cfg.Node || len(n.order) == 0 {
			return nil
		}
	}
	chunk := n.cfg.MaxPacket - n.codec.overhead(n.cfg.Node, channel, dest)
	count := max(1, (len(payload)+chunk-1)/chunk)
	n.queue = append(n.queue, &outMsg{dest: dest, channel: channel, payload: payload, count: uint32(count)})
	n.queued += len(payload)
	n.pump(now)
	return nil
}

// Step handles one received packet that arrived on medium. Invalid
// packets (truncated, forged, replayed, foreign) are dropped, counted in
// Stats, and reported by the returned error, which the caller may log; the
// node's state is unchanged by them. Step does not retain pkt.
func (n *Node) Step(pkt []byte, medium int, now time.Time) error {
	n.stats.PacketsIn++
	n.stats.BytesIn += uint64(len(pkt))
	if medium < 0 || medium >= len(n.cfg.Media) {
		panic(fmt.Sprintf("messaging: node %s: Step on medium %d of %d", n.cfg.Node, medium, len(n.cfg.Media)))
	}
	p, err := n.codec.decodeFrom(pkt, n.cfg.Node)
	if errors.Is(err, errOwn) {
		n.stats.Own++
		return nil
	}
	if err != nil {
		n.countDecodeError(err)
		return err
	}
	pe := n.peers[p.Src]
	if pe == nil {
		n.stats.UnknownNode++
		return fmt.Errorf("%w: %q", ErrUnknownNode, p.Src)
	}
	if p.Gen < pe.gen {
		n.stats.Replays++
		return fmt.Errorf("%w: %s generation %d < %d", ErrReplay, p.Src, p.Gen, pe.gen)
	}
	if p.Gen > pe.gen {
		restarted := pe.gen != 0
		pe.gen, pe.maxPkt, pe.win, pe.rs, pe.ackSeq, pe.joined = p.Gen, 0, [replayWords]uint64{}, nil, 0, false
		for i := range pe.links {
			pe.links[i].maxPkt = 0
		}
		if restarted && pe.state == PeerUp {
			n.log.Info("peer restarted", "peer", pe.name, "gen", p.Gen)
			n.rd.Peers = append(n.rd.Peers, PeerEvent{Node: pe.name, State: PeerUp, Generation: p.Gen, Restarted: true})
		}
	}
	fresh, tooOld := pe.replayCheck(p.Pktno)
	if tooOld {
		n.stats.Replays++
		return fmt.Errorf("%w: %s packet %d", ErrReplay, p.Src, p.Pktno)
	}
	if !fresh {
		n.stats.Duplicates++
		// A duplicate proves the sender alive only on a medium that has
		// not carried this packet number or a later one yet: the same
		// packet arriving over a second medium. A copy on a medium that
		// already carried it is a network duplicate or a replay, and a
		// captured packet replayed again and again must not keep a dead
		// node up.
		if p.Pktno > pe.links[medium].maxPkt {
			n.heard(pe, medium, p.Pktno, now)
		}
		return nil
	}
	n.heard(pe, medium, p.Pktno, now)
	// Any packet may open the sender's stream: delivery starts at the
	// first seq the sender had not yet sent when it sent this packet (or at
	// this fresh data packet), so every message sent after both nodes saw
	// each other up is delivered.
	first := p.NextSeq
	if p.Type == typeData && p.Flags&flagRexmit == 0 {
		first = p.Seq
	}
	rs := n.openStream(pe, first)
	if p.NextSeq-1 > rs.high {
		rs.high = p.NextSeq - 1
	}
	switch p.Type {
	case typeHeartbeat, typeAck:
		n.handleAcks(pe, p, now)
	case typeData:
		n.handleData(pe, p, now)
	case typeNack:
		if p.Target == n.cfg.Node && p.TargetGen == n.cfg.Generation {
			n.stats.NacksReceived++
			n.handleNack(pe, p, now)
		}
	case typeLost:
		if p.Target == n.cfg.Node {
			n.handleLost(pe, p, now)
		}
	}
	n.checkGap(rs, now)
	n.flushAcks()
	n.pump(now)
	return nil
}

func (n *Node) countDecodeError(err error) {
	switch {
	case errors.Is(err, ErrBadAuth):
		n.stats.BadAuth++
	case errors.Is(err, ErrUnknownKey):
		n.stats.UnknownKey++
	case errors.Is(err, ErrTruncated):
		n.stats.Truncated++
	case errors.Is(err, ErrForeignCluster):
		n.stats.ForeignCluster++
	default:
		n.stats.Malformed++
	}
}

// replayCheck records pktno in the anti-replay window. fresh is false for
// a packet seen before; tooOld is set for one older than the window.
func (p *peer) replayCheck(pktno uint64) (fresh, tooOld bool) {
	const bits = replayWords * 64
	if pktno > p.maxPkt {
		shift := pktno - p.maxPkt
		if shift >= bits {
			p.win = [replayWords]uint64{}
		} else {
			for i := uint64(0); i < shift; i++ { // shift by one bit per step: shift is small in practice
				idx := (p.maxPkt + 1 + i) % bits
				p.win[idx/64] &^= 1 << (idx % 64)
			}
		}
		p.maxPkt = pktno
		idx := pktno % bits
		p.win[idx/64] |= 1 << (idx % 64)
		return true, false
	}
	if p.maxPkt-pktno >= bits {
		return false, true
	}
	idx := pktno % bits
	if p.win[idx/64]&(1<<(idx%64)) != 0 {
		return false, false
	}
	p.win[idx/64] |= 1 << (idx % 64)
	return true, false
}

// heard records a valid packet numbered pktno from pe on medium.
func (n *Node) heard(pe *peer, medium int, pktno uint64, now time.Time) {
	pe.lastHeard = now
	if pe.state != PeerUp || pe.late {
		if pe.state != PeerUp {
			n.log.Info("peer up", "peer", pe.name, "gen", pe.gen)
		}
		pe.state, pe.late = PeerUp, false
		n.rd.Peers = append(n.rd.Peers, PeerEvent{Node: pe.name, State: PeerUp, Generation: pe.gen})
	}
	l := &pe.links[medium]
	l.lastHeard = now
	l.maxPkt = max(l.maxPkt, pktno)
	if !l.up {
		l.up = true
		n.rd.Links = append(n.rd.Links, LinkEvent{Node: pe.name, Medium: medium, Up: true})
	}
}

// openStream returns pe's receive stream, creating it on first contact so
// that delivery starts at seq first.
func (n *Node) openStream(pe *peer, first uint64) *stream {
	if pe.rs == nil {
		pe.rs = &stream{expected: first, high: first - 1, buf: map[uint64]*packet{}, ackDue: true}
	}
	return pe.rs
}

func (n *Node) handleAcks(pe *peer, p *packet, now time.Time) {
	for _, a := range p.Acks {
		if a.Node == n.cfg.Node && a.Gen == n.cfg.Generation {
			seq := min(a.Seq, n.nextSeq-1)
			if !pe.joined || seq > pe.ackSeq || seq == n.nextSeq-1 {
				pe.ackSeq, pe.joined, pe.ackAt = max(seq, pe.ackSeq), true, now
			}
		}
	}
}

func (n *Node) handleData(pe *peer, p *packet, now time.Time) {
	rs := pe.rs
	switch {
	case p.Seq < rs.expected || rs.buf[p.Seq] != nil:
		n.stats.DupData++
		return
	case p.Seq >= rs.expected+n.recvWin:
		n.stats.WindowDrops++
	default:
		rs.buf[p.Seq] = p
	}
	if p.Seq > rs.high {
		rs.high = p.Seq
	}
	n.deliver(pe, rs)
}

// deliver hands every in-order fragment to reassembly.
func (n *Node) deliver(pe *peer, rs *stream) {
	for {
		p := rs.buf[rs.expected]
		if p == nil {
			break
		}
		delete(rs.buf, rs.expected)
		rs.expected++
		rs.sinceAck++
		n.reassemble(pe, rs, p)
	}
	if rs.sinceAck >= n.ackEach {
		rs.ackDue = true
	}
}

func (n *Node) reassemble(pe *peer, rs *stream, p *packet) {
	if p.FragIndex == 0 {
		mine := p.Dest == "" || p.Dest == n.cfg.Node
		if mine && int(p.Total) > n.cfg.MaxMessage {
			mine = false
			n.stats.Malformed++
		}
		rs.asmActive, rs.asmMine, rs.asmNext, rs.asmCount, rs.asmTotal = true, mine, 0, p.FragCount, p.Total
		rs.asmCh, rs.asmDest, rs.asm = p.Channel, p.Dest, nil
		if mine && p.FragCount > 1 {
			rs.asm = make([]byte, 0, p.Total)
		}
	} else if !rs.asmActive || p.FragIndex != rs.asmNext || p.FragCount != rs.asmCount || p.Total != rs.asmTotal {
		rs.asmActive = false // the start of this message was before our join point or lost
		return
	}
	if rs.asmMine {
		if p.FragCount == 1 {
			rs.asm = p.Payload
		} else if len(rs.asm)+len(p.Payload) <= int(rs.asmTotal) {
			rs.asm = append(rs.asm, p.Payload...)
		} else {
			n.stats.Malformed++
			rs.asmMine = false
		}
	}
	rs.asmNext++
	if rs.asmNext < rs.asmCount {
		return
	}
	rs.asmActive = false
	if rs.asmMine && len(rs.asm) == int(rs.asmTotal) {
		n.stats.MessagesDelivered++
		n.rd.Messages = append(n.rd.Messages, Message{From: pe.name, Generation: pe.gen, Seq: p.Seq,
			Channel: rs.asmCh, Dest: rs.asmDest, Payload: rs.asm})
	} else if rs.asmMine {
		n.stats.Malformed++
	}
	rs.asm = nil
}

func (n *Node) checkGap(rs *stream, now time.Time) {
	if rs.high >= rs.expected {
		if rs.nackAt.IsZero() {
			rs.nackAt = now.Add(n.randDelay(n.cfg.NackDelay))
		}
	} else {
		rs.nackAt = time.Time{}
	}
}

func (n *Node) randDelay(d time.Duration) time.Duration {
	return time.Duration(n.rng.Int64N(int64(d))) + 1
}

func (n *Node) sendNack(pe *peer, rs *stream) {
	var ranges []seqRange
	end := min(rs.high, rs.expected+n.recvWin-1)
	for s := rs.expected; s <= end && len(ranges) < 64; s++ {
		if rs.buf[s] != nil {
			continue
		}
		if k := len(ranges) - 1; k >= 0 && ranges[k].Last == s-1 {
			ranges[k].Last = s
		} else {
			ranges = append(ranges, seqRange{First: s, Last: s})
		}
	}
	if len(ranges) == 0 {
		return
	}
	n.stats.NacksSent++
	n.emit(&packet{Type: typeNack, Target: pe.name, TargetGen: pe.gen, Ranges: ranges}, n.dataMedia())
}

func (n *Node) handleNack(pe *peer, p *packet, now time.Time) {
	var lost []seqRange
	budget := n.cfg.Window
	media := n.dataMedia()
	for _, r := range p.Ranges {
		last := min(r.Last, n.nextSeq-1)
		if r.First > last {
			continue
		}
		if r.First < n.histLow {
			lost = append(lost, seqRange{First: r.First, Last: min(last, n.histLow-1)})
		}
		for s := max(r.First, n.histLow); s <= last && budget > 0; s++ {
			e := &n.hist[s%uint64(len(n.hist))]
			if now.Sub(e.lastSent) < n.cfg.NackDelay {
				continue // just sent: one retransmission serves every receiver
			}
			e.lastSent = now
			budget--
			n.stats.Retransmits++
			q := *e.p
			q.Flags |= flagRexmit
			n.emit(&q, media)
		}
	}
	if len(lost) > 0 {
		for _, r := range lost {
			n.stats.LostSent += r.Last - r.First + 1
		}
		n.log.Warn("peer asked for messages no longer in history", "peer", pe.name, "first", lost[0].First)
		n.emit(&packet{Type: typeLost, Target: pe.name, Ranges: lost}, media)
	}
}

func (n *Node) handleLost(pe *peer, p *packet, now time.Time) {
	rs := pe.rs
	if rs == nil {
		return
	}
	for _, r := range p.Ranges {
		// A sender reports only seqs it has sent, and its packet's nextseq
		// has already raised rs.high past them; clamp anyway so a buggy
		// peer cannot make us skip the future.
		last := min(r.Last, rs.high)
		if r.First > rs.expected || last < rs.expected {
			continue
		}
		n.stats.LostReceived += last - rs.expected + 1
		n.log.Error("irretrievably lost messages", "peer", pe.name, "gen", pe.gen, "first", rs.expected, "last", last)
		n.rd.Lost = append(n.rd.Lost, LostEvent{From: pe.name, Generation: pe.gen, First: rs.expected, Last: last})
		for s := range rs.buf {
			if s <= last {
				delete(rs.buf, s)
			}
		}
		rs.expected = last + 1
		rs.asmActive = false
		rs.ackDue = true
		n.deliver(pe, rs)
	}
	n.checkGap(rs, now)
}

// dataMedia returns the media for data, acks and NACKs: every fast medium,
// plus the slow ones when some live peer has no fast link up (or there is
// no fast medium at all).
func (n *Node) dataMedia() []int {
	var fast, slow []int
	for i, m := range n.cfg.Media {
		if m.Slow {
			slow = append(slow, i)
		} else {
			fast = append(fast, i)
		}
	}
	if len(slow) == 0 || len(fast) == 0 {
		return append(fast, slow...)
	}
	for _, p := range n.order {
		if p.state != PeerUp {
			continue
		}
		ok := false
		for _, i := range fast {
			ok = ok || p.links[i].up
		}
		if !ok {
			return append(fast, slow...)
		}
	}
	return fast
}

func (n *Node) allMedia() []int {
	m := make([]int, len(n.cfg.Media))
	for i := range m {
		m[i] = i
	}
	return m
}

// emit signs p once and queues the same bytes on every medium in media,
// so that copies arriving over several media are recognised as one.
func (n *Node) emit(p *packet, media []int) {
	n.pktno++
	p.Src, p.Gen, p.Pktno, p.NextSeq = n.cfg.Node, n.cfg.Generation, n.pktno, n.nextSeq
	b := n.codec.encode(p)
	for _, m := range media {
		n.stats.PacketsOut++
		n.stats.BytesOut += uint64(len(b))
		n.rd.Packets = append(n.rd.Packets, Packet{Medium: m, Data: b})
	}
}

func (n *Node) acks() []ackEntry {
	var out []ackEntry
	for _, p := range n.order {
		if p.rs != nil {
			out = append(out, ackEntry{Node: p.name, Gen: p.gen, Seq: p.rs.expected - 1})
			p.rs.sinceAck, p.rs.ackDue = 0, false
		}
	}
	return out
}

// emitAcks sends the acks in a packet of type typ, split over several
// packets (the first of type typ, the rest acks) so that none exceeds
// MaxPacket however many and however long the node names.
func (n *Node) emitAcks(typ ptype, media []int) {
	acks := n.acks()
	budget := n.cfg.MaxPacket - n.codec.overhead(n.cfg.Node, "", "")
	for first := true; first || len(acks) > 0; first = false {
		k, size := 0, 0
		for k < len(acks) && k < 255 && size+1+len(acks[k].Node)+16 <= budget {
			size += 1 + len(acks[k].Node) + 16
			k++
		}
		n.emit(&packet{Type: typ, Acks: acks[:k]}, media)
		acks, typ = acks[k:], typeAck
	}
}

func (n *Node) flushAcks() {
	for _, p := range n.order {
		if p.rs != nil && p.rs.ackDue {
			n.emitAcks(typeAck, n.dataMedia())
			return
		}
	}
}

// windowLow returns the lowest cumulative ack of the live peers that can
// still catch up from history; sending is held while nextSeq-1-windowLow
// reaches Window. A peer whose ack has not moved for Deadtime while data
// is outstanding (it hears us no more, though we hear it: a one-way
// failure) stops holding the others back; it catches up from history
// later, or gets a lost report.
func (n *Node) windowLow(now time.Time) uint64 {
	low := n.nextSeq - 1
	for _, p := range n.order {
		if p.state != PeerUp || !p.joined || p.ackSeq+1 < n.histLow || p.ackSeq >= low {
			continue
		}
		if now.Sub(p.ackAt) >= n.cfg.Deadtime {
			continue
		}
		low = p.ackSeq
	}
	return low
}

func (n *Node) pump(now time.Time) {
	if len(n.queue) == 0 {
		return
	}
	low := n.windowLow(now)
	media := n.dataMedia()
	for len(n.queue) > 0 {
		if n.nextSeq-1-low >= uint64(n.cfg.Window) {
			n.stats.FlowBlocked++
			return
		}
		m := n.queue[0]
		chunk := n.cfg.MaxPacket - n.codec.overhead(n.cfg.Node, m.channel, m.dest)
		end := min(m.off+chunk, len(m.payload))
		p := &packet{Type: typeData, Seq: n.nextSeq, FragIndex: m.index, FragCount: m.count,
			Total: uint32(len(m.payload)), Channel: m.channel, Dest: m.dest, Payload: m.payload[m.off:end]}
		n.queued -= end - m.off
		m.off = end
		m.index++
		if m.index == m.count {
			n.queue[0] = nil
			n.queue = n.queue[1:]
		}
		n.hist[n.nextSeq%uint64(len(n.hist))] = histEntry{p: p, lastSent: now}
		n.nextSeq++
		if n.nextSeq-n.histLow > uint64(len(n.hist)) {
			n.histLow = n.nextSeq - uint64(len(n.hist))
		}
		n.emit(p, media)
	}
}

// Tick advances timers to now: heartbeats, warn/dead/link timeouts,
// initdead, NACK retries, flow control. Call it at least at NextDeadline.
func (n *Node) Tick(now time.Time) {
	if n.lastHB.IsZero() || now.Sub(n.lastHB) >= n.cfg.Keepalive {
		n.lastHB = now
		n.emitAcks(typeHeartbeat, n.allMedia())
	}
	for _, p := range n.order {
		switch p.state {
		case PeerUnknown:
			if now.Sub(n.start) >= n.cfg.Initdead {
				p.state = PeerDead
				n.log.Warn("peer dead: never heard within initdead", "peer", p.name)
				n.rd.Peers = append(n.rd.Peers, PeerEvent{Node: p.name, State: PeerDead})
			}
		case PeerUp:
			silence := now.Sub(p.lastHeard)
			for i := range p.links {
				if l := &p.links[i]; l.up && now.Sub(l.lastHeard) >= n.cfg.Deadtime {
					l.up = false
					n.rd.Links = append(n.rd.Links, LinkEvent{Node: p.name, Medium: i, Up: false})
				}
			}
			if silence >= n.cfg.Deadtime {
				p.state, p.late = PeerDead, false
				n.log.Warn("peer dead", "peer", p.name, "gen", p.gen, "silence", silence)
				n.rd.Peers = append(n.rd.Peers, PeerEvent{Node: p.name, State: PeerDead, Generation: p.gen})
				if p.rs != nil {
					p.rs.nackAt = time.Time{}
				}
			} else if !p.late && silence >= n.cfg.Warntime {
				p.late = true
				n.log.Warn("late heartbeat", "peer", p.name, "silence", silence)
				n.rd.Peers = append(n.rd.Peers, PeerEvent{Node: p.name, State: PeerUp, Generation: p.gen, Late: true})
			}
		}
		if rs := p.rs; rs != nil && p.state == PeerUp && !rs.nackAt.IsZero() && !now.Before(rs.nackAt) {
			n.sendNack(p, rs)
			rs.nackAt = now.Add(n.cfg.NackRetry + n.randDelay(n.cfg.NackDelay))
		}
	}
	n.flushAcks()
	n.pump(now)
}

// NextDeadline returns the latest time by which Tick must be called for
// the timers to be exact.
func (n *Node) NextDeadline() time.Time {
	if n.lastHB.IsZero() {
		return n.start
	}
	d := n.lastHB.Add(n.cfg.Keepalive)
	var warnBase, deadBase time.Time // earliest last-heard times; Add once at the end
	earliest := func(cur *time.Time, t time.Time) {
		if !t.IsZero() && (cur.IsZero() || t.Before(*cur)) {
			*cur = t
		}
	}
	unknown := false
	for _, p := range n.order {
		switch p.state {
		case PeerUnknown:
			unknown = true
		case PeerUp:
			if p.late {
				earliest(&deadBase, p.lastHeard)
			} else {
				earliest(&warnBase, p.lastHeard) // warntime <= deadtime
			}
			for i := range p.links {
				if p.links[i].up {
					earliest(&deadBase, p.links[i].lastHeard)
				}
			}
			if p.rs != nil {
				earliest(&d, p.rs.nackAt)
			}
		}
	}
	if unknown {
		earliest(&d, n.start.Add(n.cfg.Initdead))
	}
	if !warnBase.IsZero() {
		earliest(&d, warnBase.Add(n.cfg.Warntime))
	}
	if !deadBase.IsZero() {
		earliest(&d, deadBase.Add(n.cfg.Deadtime))
	}
	return d
}
