package membership

import (
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"time"
)

// HardState is what a node must keep across restarts: the shell persists it (fsync) before
// it sends the messages of the same Ready, and passes it back to NewNode after a restart.
// It is what makes view numbers grow across crashes and keeps a restarted node from
// acknowledging a proposal older than one it already accepted.
type HardState struct {
	// Incarnation counts the starts of this node; it orders the node's reports.
	Incarnation uint64
	// MaxView is the highest view number this node proposed, acknowledged or installed.
	MaxView uint64
}

// View is an installed membership view.
type View struct {
	// Number grows at every view installed on a node, across restarts.
	Number uint64
	// Coordinator is the node that proposed the view (the lowest-named member). Number
	// and Coordinator together identify a view cluster-wide.
	Coordinator string
	// Members is the sorted list of member names.
	Members []string
	// Votes is the sum of the members' votes.
	Votes int
	// Quorum reports whether the members hold quorum (see Config.ExpectedVotes, TwoNode).
	Quorum bool
}

// Equal reports whether v and w are the same view with the same quorum flag.
func (v View) Equal(w View) bool {
	return v.Number == w.Number && v.Coordinator == w.Coordinator && v.Votes == w.Votes &&
		v.Quorum == w.Quorum && slices.Equal(v.Members, w.Members)
}

// String formats the view for logs and simulator traces.
func (v View) String() string {
	q := "noquorum"
	if v.Quorum {
		q = "quorum"
	}
	return fmt.Sprintf("view %d by %s %v votes=%d %s", v.Number, v.Coordinator, v.Members, v.Votes, q)
}

// Envelope is a message the shell must send over the messaging layer.
type Envelope struct {
	// To is the destination node, or "" for every other node.
	To string
	// Type is the message type, for logs and counters.
	Type MessageType
	// Payload is the encoded message; the receiver passes it to Node.Step.
	Payload []byte
}

// MaxViewNumber is the largest view number a message may carry: far beyond any real
// cluster's lifetime, and low enough that incrementing never wraps around.
const MaxViewNumber = 1 << 62

// NoticeKind says what a Notice reports.
type NoticeKind uint8

// Notice kinds.
const (
	// NoticeLeftOut: the coordinator of a newer view with quorum, a member of our current
	// view, left us out of it. If our view had quorum, the node has installed a view of
	// itself alone (so it stops claiming quorum at once) and forms a new view from there.
	NoticeLeftOut NoticeKind = 1
)

// Notice reports an event the shell may want to log or publish.
type Notice struct {
	Kind NoticeKind
	// By is the coordinator that sent the notice; View is the number of its new view.
	By   string
	View uint64
}

// Ready is what the core hands the shell after inputs: persist HardState (if set) first,
// then send Messages, then publish View (if set) and Notices.
type Ready struct {
	HardState *HardState
	Messages  []Envelope
	View      *View
	Notices   []Notice
}

// Stats counts dropped and refused inputs.
type Stats struct {
	// Malformed counts payloads that did not decode or named unconfigured nodes.
	Malformed uint64
	// Foreign counts messages from a node with a different cluster configuration.
	Foreign uint64
	// Ignored counts well-formed messages that were stale, duplicated or not for us.
	Ignored uint64
	// Refused counts proposals or installs this node refused.
	Refused uint64
}

type peer struct {
	raw      bool // the messaging layer says up
	eff      bool // counted as up (after hold-down)
	wasDown  bool // went down at least once: coming back needs a hold-down
	upSince  time.Time
	effSince time.Time
	flaps    int // recent downs after short ups: the hold-down is HoldDown << flaps
}

// maxFlaps caps the flap damping: the hold-down grows to at most MaxHoldDownFactor x HoldDown.
const maxFlaps = 3

// MaxHoldDownFactor is the most a flapping peer's hold-down grows: it doubles for every
// failure soon after coming back, up to MaxHoldDownFactor x Config.HoldDown.
const MaxHoldDownFactor = 1 << maxFlaps

// stableFactor: a peer counted up for this many of its current hold-downs is stable again.
const stableFactor = 4

func (n *Node) holdDown(p *peer) time.Duration { return n.cfg.HoldDown << p.flaps }

type proposal struct {
	number  uint64
	members nodeSet
	acks    nodeSet
	sentAt  time.Time
}

type ackedProposal struct {
	number uint64
	coord  int
}

// Node is one node's membership core: a deterministic state machine driven by PeerStatus,
// Step and Tick, whose effects come out of Ready. It does no I/O, reads no clock and starts
// no goroutines. It is not safe for concurrent use.
type Node struct {
	cfg      Config
	log      *slog.Logger
	names    []string
	index    map[string]int
	votes    []int
	expected int
	all      nodeSet
	self     int
	fp       uint64

	hs      HardState
	hsDirty bool

	started bool
	start   time.Time

	peers      []peer
	reports    []Report
	have       nodeSet
	ownChanged bool
	lastSent   time.Time
	sentOnce   bool

	view      View
	viewSet   nodeSet
	viewCoord int
	viewAt    time.Time
	everFull  bool

	acked ackedProposal

	graphDirty bool
	cur        nodeSet
	want       nodeSet
	wantSince  time.Time
	prop       *proposal
	retryAt    time.Time

	scratch Message // decode buffer reused across Step calls
	stateM  Message // state message reused across broadcasts
	out     []Envelope
	newView *View
	notices []Notice
	stats   Stats
}

// NewNode returns a core for cfg. hs is the persisted HardState (zero on first start); the
// node starts a new incarnation, which the first Ready asks the shell to persist. logger
// may be nil.
func NewNode(cfg Config, hs HardState, logger *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nodes := cfg.sortedNodes()
	n := &Node{
		cfg:       cfg,
		log:       logger.With("node", cfg.Name),
		index:     make(map[string]int, len(nodes)),
		hs:        hs,
		hsDirty:   true,
		viewCoord: -1,
	}
	h := fnv.New64a()
	for i, nc := range nodes {
		n.names = append(n.names, nc.Name)
		n.index[nc.Name] = i
		n.votes = append(n.votes, nc.votes())
		n.expected += nc.votes()
		n.all |= bit(i)
		fmt.Fprintf(h, "%s\x00%d\x00", nc.Name, nc.votes())
	}
	if cfg.ExpectedVotes > 0 {
		n.expected = cfg.ExpectedVotes
	}
	fmt.Fprintf(h, "expected=%d twonode=%v", n.expected, cfg.TwoNode)
	n.fp = h.Sum64()
	n.self = n.index[cfg.Name]
	n.hs.Incarnation++
	n.peers = make([]peer, len(nodes))
	n.reports = make([]Report, len(nodes))
	n.reports[n.self] = Report{
		Origin:      uint8(n.self),
		Incarnation: n.hs.Incarnation,
		Hears:       uint64(bit(n.self)),
		ViewCoord:   NoNode,
	}
	n.have = bit(n.self)
	n.ownChanged = true
	n.graphDirty = true
	return n, nil
}

// Name returns the local node's name.
func (n *Node) Name() string { return n.cfg.Name }

// View returns the installed view (Number 0 and no members before the first install).
func (n *Node) View() View {
	v := n.view
	v.Members = slices.Clone(v.Members)
	return v
}

// HardState returns the current hard state.
func (n *Node) HardState() HardState { return n.hs }

// Stats returns the drop counters.
func (n *Node) Stats() Stats { return n.stats }

// HasReady reports whether Ready would return anything.
func (n *Node) HasReady() bool {
	return n.hsDirty || len(n.out) > 0 || n.newView != nil || len(n.notices) > 0
}

// Ready returns the pending effects and clears them (see Ready for the order of handling).
func (n *Node) Ready() Ready {
	var rd Ready
	if n.hsDirty {
		hs := n.hs
		rd.HardState = &hs
		n.hsDirty = false
	}
	rd.Messages, n.out = n.out, nil
	rd.View, n.newView = n.newView, nil
	rd.Notices, n.notices = n.notices, nil
	return rd
}

func (n *Node) observe(now time.Time) {
	if !n.started {
		n.started = true
		n.start = now
	}
}

// PeerStatus tells the core that the messaging layer now considers peer up or down. A
// peer that went down counts as up again only after being up for a hold-down: HoldDown,
// doubled for every time it failed again soon after coming back (at most 8 x HoldDown),
// and back to HoldDown once it stayed up for four hold-downs.
func (n *Node) PeerStatus(now time.Time, peerName string, up bool) error {
	n.observe(now)
	i, ok := n.index[peerName]
	if !ok {
		return fmt.Errorf("membership: peer status for %q: %w", peerName, ErrUnknownNode)
	}
	if i == n.self {
		return nil
	}
	p := &n.peers[i]
	if up {
		if !p.raw {
			p.raw = true
			p.upSince = now
			if !p.wasDown || n.cfg.HoldDown == 0 {
				p.eff = true
				p.effSince = now
			}
		}
	} else if p.raw {
		if p.eff && p.wasDown && now.Sub(p.effSince) < stableFactor*n.holdDown(p) && p.flaps < maxFlaps {
			p.flaps++ // it came back and failed again soon: damp it harder
		}
		p.raw = false
		p.eff = false
		p.wasDown = true
	}
	n.refreshOwn()
	return nil
}

// hears returns the set of nodes this node counts as up, itself included.
func (n *Node) hears() nodeSet {
	s := bit(n.self)
	for i := range n.peers {
		if n.peers[i].eff {
			s |= bit(i)
		}
	}
	return s
}

// refreshOwn rebuilds the local report; a change bumps its sequence number and schedules a
// broadcast.
func (n *Node) refreshOwn() {
	r := &n.reports[n.self]
	hears := uint64(n.hears())
	coord := NoNode
	if n.viewCoord >= 0 {
		coord = uint8(n.viewCoord)
	}
	if r.Hears == hears && r.View == n.view.Number && r.ViewCoord == coord {
		return
	}
	if r.Hears != hears {
		n.graphDirty = true
	}
	r.Hears, r.View, r.ViewCoord = hears, n.view.Number, coord
	r.Seq++
	n.ownChanged = true
}

// Tick advances the core's timers to now. Call it often (every 50-100ms); every timer
// (report interval, hold-down, settle, propose timeout) is checked against now here.
func (n *Node) Tick(now time.Time) {
	n.observe(now)
	for i := range n.peers {
		p := &n.peers[i]
		if p.raw && !p.eff && now.Sub(p.upSince) >= n.holdDown(p) {
			p.eff = true
			p.effSince = now
		}
		if p.eff && p.flaps > 0 && now.Sub(p.effSince) >= stableFactor*n.holdDown(p) {
			p.flaps = 0
		}
	}
	n.refreshOwn()
	if n.ownChanged || !n.sentOnce || now.Sub(n.lastSent) >= n.cfg.ReportInterval {
		n.broadcastState(now)
	}
	n.coordinate(now)
}

func (n *Node) header(t MessageType) Message {
	return Message{Type: t, Fingerprint: n.fp, From: uint8(n.self)}
}

func (n *Node) send(to int, m Message) {
	env := Envelope{Type: m.Type, Payload: m.Encode(nil)}
	if to >= 0 {
		env.To = n.names[to]
	}
	n.out = append(n.out, env)
}

func (n *Node) broadcastState(now time.Time) {
	m := &n.stateM
	reports := m.Reports[:0]
	*m = n.header(MsgState)
	for i := range n.reports {
		if n.have.has(i) {
			reports = append(reports, n.reports[i])
		}
	}
	m.Reports = reports
	n.send(-1, *m)
	n.ownChanged = false
	n.sentOnce = true
	n.lastSent = now
}

// Step hands the core a membership payload that the messaging layer delivered from node
// from (authenticated by the messaging layer). Malformed or foreign payloads change nothing
// and return an error wrapping ErrMalformed, ErrFingerprint or ErrUnknownNode.
func (n *Node) Step(now time.Time, from string, payload []byte) error {
	n.observe(now)
	src, ok := n.index[from]
	if !ok {
		n.stats.Malformed++
		return fmt.Errorf("membership: message from %q: %w", from, ErrUnknownNode)
	}
	m := &n.scratch
	if err := decodeInto(payload, m); err != nil {
		n.stats.Malformed++
		return fmt.Errorf("membership: message from %s: %w", from, err)
	}
	if m.Fingerprint != n.fp {
		n.stats.Foreign++
		return fmt.Errorf("membership: %v from %s: %w", m.Type, from, ErrFingerprint)
	}
	if int(m.From) != src {
		n.stats.Malformed++
		return fmt.Errorf("membership: %v from %s claims sender index %d: %w", m.Type, from, m.From, ErrUnknownNode)
	}
	if err := n.check(m); err != nil {
		n.stats.Malformed++
		return fmt.Errorf("membership: %v from %s: %w", m.Type, from, err)
	}
	if src == n.self {
		n.stats.Ignored++
		return nil
	}
	switch m.Type {
	case MsgState:
		n.stepState(m)
	case MsgPropose:
		n.stepPropose(src, m)
	case MsgAck:
		n.stepAck(now, src, m)
	case MsgInstall:
		n.stepInstall(now, src, m)
	case MsgLeave:
		n.stepLeave(now, src, m)
	}
	return nil
}

// check validates node indices and sets against the configuration.
func (n *Node) check(m *Message) error {
	cnt := len(n.names)
	for _, r := range m.Reports {
		if int(r.Origin) >= cnt || nodeSet(r.Hears)&^n.all != 0 || (r.ViewCoord != NoNode && int(r.ViewCoord) >= cnt) {
			return fmt.Errorf("%w: report names an unconfigured node", ErrMalformed)
		}
	}
	if nodeSet(m.Members)&^n.all != 0 {
		return fmt.Errorf("%w: member set names an unconfigured node", ErrMalformed)
	}
	if m.Number > MaxViewNumber || m.MaxSeen > MaxViewNumber {
		return fmt.Errorf("%w: view number beyond %d", ErrMalformed, uint64(MaxViewNumber))
	}
	for _, r := range m.Reports {
		if r.View > MaxViewNumber {
			return fmt.Errorf("%w: view number beyond %d", ErrMalformed, uint64(MaxViewNumber))
		}
	}
	if m.Type == MsgAck && int(m.Coord) >= cnt {
		return fmt.Errorf("%w: ack for an unconfigured coordinator", ErrMalformed)
	}
	return nil
}

func newer(a, b Report) bool {
	if a.Incarnation != b.Incarnation {
		return a.Incarnation > b.Incarnation
	}
	return a.Seq > b.Seq
}

func (n *Node) stepState(m *Message) {
	for _, r := range m.Reports {
		o := int(r.Origin)
		if o == n.self {
			// Our own report is authoritative, but a report of ours newer than the one
			// we hold means our HardState was lost: move past it, or peers would ignore
			// our reports for good.
			if newer(r, n.reports[n.self]) {
				n.log.Warn("report from a later incarnation of this node: hard state was lost", "incarnation", r.Incarnation)
				n.hs.Incarnation = r.Incarnation + 1
				n.hsDirty = true
				own := &n.reports[n.self]
				own.Incarnation, own.Seq = n.hs.Incarnation, own.Seq+1
				n.ownChanged = true
			}
			continue
		}
		if n.have.has(o) && !newer(r, n.reports[o]) {
			continue
		}
		if !n.have.has(o) || n.reports[o].Hears != r.Hears {
			n.graphDirty = true
		}
		n.reports[o] = r
		n.have |= bit(o)
	}
}

// current returns the member set this node computes for itself: build the graph of mutual
// hearing from the reports, keep the connected component holding this node, split it into
// cliques largest first (ties to the lexicographically smallest name list) and take the
// clique holding this node.
func (n *Node) current() nodeSet {
	if !n.graphDirty {
		return n.cur
	}
	var g Graph
	for i := range n.reports {
		if !n.have.has(i) {
			continue
		}
		hi := nodeSet(n.reports[i].Hears)
		for j := i + 1; j < len(n.reports); j++ {
			if n.have.has(j) && hi.has(j) && nodeSet(n.reports[j].Hears).has(i) {
				g.Adj[i] |= uint64(bit(j))
				g.Adj[j] |= uint64(bit(i))
			}
		}
	}
	comp := g.component(n.have, n.self)
	n.cur = g.partitionOf(comp, n.self)
	n.graphDirty = false
	return n.cur
}

func (n *Node) coordinate(now time.Time) {
	want := n.current()
	if want != n.want {
		n.want = want
		n.wantSince = now
	}
	if want.lowest() != n.self {
		n.prop = nil
		return
	}
	// Settle coalesces cascades of peer events. A set that only drops a
	// minority of the installed view's members is proposed at once: the
	// messaging deadtime already waited for the loss (this is the common
	// node failure; it saves Settle on every failover). A set that keeps
	// half or less (a partition still being discovered, reports not yet
	// fresh) settles, so no node installs a transient quorumless view.
	settle := n.cfg.Settle
	if n.viewSet != 0 && want != n.viewSet && want.subsetOf(n.viewSet) && 2*want.count() > n.viewSet.count() {
		settle = 0
	}
	if now.Sub(n.start) < n.cfg.InitDead || now.Sub(n.wantSince) < settle {
		return
	}
	if n.consistent(now, want) {
		n.prop = nil
		return
	}
	if n.prop != nil && n.prop.members == want && now.Sub(n.prop.sentAt) < n.cfg.ProposeTimeout {
		return
	}
	if now.Before(n.retryAt) {
		return
	}
	n.propose(now, want)
}

// consistent reports whether the installed view is the one we want and every member has
// reported installing it (or may still be about to, within ProposeTimeout).
func (n *Node) consistent(now time.Time, want nodeSet) bool {
	if n.viewSet != want || n.viewCoord != n.self {
		return false
	}
	for s := want &^ bit(n.self); s != 0; s &^= bit(s.lowest()) {
		r := n.reports[s.lowest()]
		if r.View != n.view.Number || int(r.ViewCoord) != n.self {
			return now.Sub(n.viewAt) < n.cfg.ProposeTimeout
		}
	}
	return true
}

func (n *Node) propose(now time.Time, members nodeSet) {
	n.hs.MaxView++
	n.hsDirty = true
	num := n.hs.MaxView
	n.prop = &proposal{number: num, members: members, acks: bit(n.self), sentAt: now}
	n.acked = ackedProposal{number: num, coord: n.self}
	n.log.Debug("propose", "view", num, "members", n.namesOf(members))
	m := n.header(MsgPropose)
	m.Number, m.Members = num, uint64(members)
	for s := members &^ bit(n.self); s != 0; s &^= bit(s.lowest()) {
		n.send(s.lowest(), m)
	}
	if n.prop.acks == members {
		n.finish(now)
	}
}

func (n *Node) stepPropose(src int, m *Message) {
	members := nodeSet(m.Members)
	if !members.has(n.self) {
		n.stats.Ignored++
		return
	}
	ack := n.header(MsgAck)
	ack.Number, ack.Coord = m.Number, uint8(src)
	switch {
	case m.Number == n.acked.number && src == n.acked.coord:
		ack.Result = AckOK // a duplicate of the proposal we accepted
	case m.Number <= n.hs.MaxView:
		ack.Result = AckStale
	case n.current() != members || members.lowest() != src:
		ack.Result = AckMismatch
	default:
		ack.Result = AckOK
		n.hs.MaxView = m.Number
		n.hsDirty = true
		n.acked = ackedProposal{number: m.Number, coord: src}
		// A proposal from another coordinator supersedes ours.
		n.prop = nil
	}
	if ack.Result != AckOK {
		n.stats.Refused++
	}
	ack.MaxSeen = n.hs.MaxView
	n.send(src, ack)
}

func (n *Node) stepAck(now time.Time, src int, m *Message) {
	if m.MaxSeen > n.hs.MaxView {
		n.hs.MaxView = m.MaxSeen
		n.hsDirty = true
	}
	p := n.prop
	if p == nil || int(m.Coord) != n.self || m.Number != p.number || !p.members.has(src) {
		n.stats.Ignored++
		return
	}
	switch m.Result {
	case AckOK:
		p.acks |= bit(src)
		if p.acks == p.members {
			n.finish(now)
		}
	case AckStale:
		n.prop = nil
		n.retryAt = now
	case AckMismatch:
		n.prop = nil
		n.retryAt = now.Add(n.cfg.RetryDelay)
	}
}

// finish installs the proposal every member acknowledged and tells the members, and the
// members of our previous view that are left out.
func (n *Node) finish(now time.Time) {
	p := n.prop
	n.prop = nil
	if p.members&^n.hears() != 0 {
		// A member went silent while we collected acknowledgements.
		n.retryAt = now.Add(n.cfg.RetryDelay)
		return
	}
	old := n.viewSet
	n.install(now, p.number, n.self, p.members)
	m := n.header(MsgInstall)
	m.Number, m.Members = p.number, uint64(p.members)
	for s := p.members &^ bit(n.self); s != 0; s &^= bit(s.lowest()) {
		n.send(s.lowest(), m)
	}
	// Members of our previous view that are left out of a view with quorum must stop
	// claiming quorum in the old view at once; the others will find out themselves.
	if n.view.Quorum {
		l := n.header(MsgLeave)
		l.Number = p.number
		for s := old &^ p.members &^ bit(n.self); s != 0; s &^= bit(s.lowest()) {
			n.send(s.lowest(), l)
		}
	}
}

func (n *Node) stepInstall(now time.Time, src int, m *Message) {
	members := nodeSet(m.Members)
	switch {
	case !members.has(n.self), m.Number != n.acked.number || src != n.acked.coord, m.Number <= n.view.Number:
		n.stats.Ignored++
	case members&^n.hears() != 0:
		// We stopped hearing a member since we acknowledged: never hold a view with a
		// node we do not hear. The coordinator sees our report and proposes again.
		n.stats.Refused++
	default:
		n.install(now, m.Number, src, members)
	}
}

func (n *Node) stepLeave(now time.Time, src int, m *Message) {
	if !n.viewSet.has(src) || m.Number <= n.view.Number {
		n.stats.Ignored++
		return
	}
	n.notices = append(n.notices, Notice{Kind: NoticeLeftOut, By: n.names[src], View: m.Number})
	if !n.view.Quorum {
		return // nothing to give up; the normal protocol forms our next view
	}
	n.log.Info("left out of view", "by", n.names[src], "view", m.Number)
	if m.Number > n.hs.MaxView {
		n.hs.MaxView = m.Number
	}
	n.hs.MaxView++
	n.hsDirty = true
	n.prop = nil
	n.install(now, n.hs.MaxView, n.self, bit(n.self))
}

func (n *Node) install(now time.Time, num uint64, coord int, members nodeSet) {
	if num <= n.view.Number {
		panic(fmt.Sprintf("membership: node %s: view number would go from %d to %d", n.cfg.Name, n.view.Number, num))
	}
	if num > n.hs.MaxView {
		n.hs.MaxView = num
		n.hsDirty = true
	}
	if members == n.all {
		n.everFull = true
	}
	votes := 0
	for s := members; s != 0; s &^= bit(s.lowest()) {
		votes += n.votes[s.lowest()]
	}
	n.view = View{
		Number:      num,
		Coordinator: n.names[coord],
		Members:     n.namesOf(members),
		Votes:       votes,
		Quorum:      n.quorum(votes),
	}
	n.viewSet, n.viewCoord, n.viewAt = members, coord, now
	v := n.View()
	n.newView = &v
	n.log.Info("view installed", "view", num, "coord", n.names[coord], "members", v.Members, "quorum", v.Quorum)
	n.refreshOwn()
}

func (n *Node) quorum(votes int) bool {
	if n.cfg.TwoNode {
		return votes >= 1 && n.everFull
	}
	return 2*votes > n.expected
}

func (n *Node) namesOf(s nodeSet) []string {
	out := make([]string, 0, s.count())
	for ; s != 0; s &^= bit(s.lowest()) {
		out = append(out, n.names[s.lowest()])
	}
	return out
}

// PeerInfo is the core's view of one configured node, for status displays.
type PeerInfo struct {
	Name string
	// Up is what the messaging layer last said; Counted is whether the node counts it as up
	// (Up for at least HoldDown); HoldDown is its current, possibly damped, hold-down.
	Up, Counted bool
	HoldDown    time.Duration
	// Report is the newest who-hears-whom report held from the node (HasReport false if none).
	HasReport bool
	Report    Report
}

// Peers returns every configured node other than this one, in name order.
func (n *Node) Peers() []PeerInfo {
	out := make([]PeerInfo, 0, len(n.names)-1)
	for i, name := range n.names {
		if i == n.self {
			continue
		}
		p := &n.peers[i]
		out = append(out, PeerInfo{
			Name: name, Up: p.raw, Counted: p.eff, HoldDown: n.holdDown(p),
			HasReport: n.have.has(i), Report: n.reports[i],
		})
	}
	return out
}
