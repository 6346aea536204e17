package crm

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/systole/systole/cib"
)

// View is the membership input of a Node: the agreed membership view,
// restricted by the daemon to members whose crmd is up (see doc.go).
// membership.View maps onto it field by field (Number, Members, Quorum).
type View struct {
	// Number identifies the view; it grows at every change.
	Number uint64
	// Members is the sorted list of member node names.
	Members []string
	// Quorum reports whether the members hold quorum.
	Quorum bool
}

func (v View) has(name string) bool {
	_, ok := slices.BinarySearch(v.Members, name)
	return ok
}

// Reply is the answer to a client write submitted with Write.
type Reply struct {
	// ID is the id the client gave to Write.
	ID uint64
	// Version is the CIB version that holds the write (zero on error).
	Version cib.Version
	// Err is nil when the write is committed (see doc.go for the
	// guarantee), or wraps a cib sentinel or one of this package's.
	Err error
}

// DCEvent reports a change of the DC as this node sees it.
type DCEvent struct {
	// View is the view number the decision belongs to.
	View uint64
	// DC is the elected DC, "" while there is none (election running, or
	// no quorum).
	DC string
	// Self reports that this node became DC.
	Self bool
}

// LostChange reports configuration that a partition merge discarded: the
// CIB of Node (at Version) lost against the CIB of Winner, and Patch, when
// applied to the winner's configuration, would restore the loser's. The
// daemon logs it and shows it (crm_mon); it is never dropped silently.
type LostChange struct {
	Node          string
	Version       cib.Version
	Winner        string
	WinnerVersion cib.Version
	Patch         *cib.Patch
}

// Ready is what a Node asks its caller to do, in this order: send Ahead
// (it may also be sent while Persist is being saved); save Persist (in
// order, fsync) before sending Messages and before releasing Replies;
// then send Messages (To "" means every other node); then deliver Replies,
// publish DC and log Lost.
type Ready struct {
	// Ahead holds messages that may leave before Persist is saved: the
	// DC's patches, with Config.SendAhead only (see doc.go). They precede
	// Messages: Ahead followed by Messages is the order of emission.
	Ahead    []Message
	Persist  []cib.Entry
	Messages []Message
	Replies  []Reply
	DC       *DCEvent
	Lost     []LostChange
}

// Empty reports whether r holds nothing.
func (r *Ready) Empty() bool {
	return len(r.Ahead)+len(r.Persist)+len(r.Messages)+len(r.Replies)+len(r.Lost) == 0 && r.DC == nil
}

// outWrite is a write submitted on this node (by a client or by attrd),
// waiting for the DC's answer.
type outWrite struct {
	client   uint64
	attr     *attrKey // non-nil: an attrd write
	attrGen  uint64
	req      cib.Request
	deadline time.Time
	sentTo   string // the DC it was handed to, "" = not yet
}

// dcWrite is a write the DC applied, waiting for every member's ack.
type dcWrite struct {
	origin  string
	inc     uint64 // the origin crmd's incarnation: seq restarts with it
	seq     uint64
	version cib.Version
}

type forwarded struct {
	origin string
	inc    uint64
	seq    uint64
	req    cib.Request
}

type joinState struct {
	reqs     map[string]Message
	offerAt  time.Time
	finished bool // every member's request is in; the CIB is chosen
	// After finished: base is the chosen CIB's version, and bumped the
	// version after the epoch bump and the status writes (zero until
	// every member persisted base). The DC becomes active (applies and
	// answers writes) once every member persisted bumped (see advance).
	base   cib.Version
	bumped cib.Version
}

// Node is the crm core of one node: DC election, join, CIB replication and
// node attributes. It is a deterministic state machine: it reads no clock
// and does no I/O. It is not safe for concurrent use.
type Node struct {
	cfg  Config
	name string
	log  *slog.Logger

	cib  *cib.CIB
	hist []HistEntry
	lrm  []byte

	view    View
	hasView bool
	// election
	inc       uint64            // this crmd's incarnation (see Config.Incarnation)
	incs      map[string]uint64 // the newest incarnation known of each member of the view
	key       uint64            // hash of the incarnations of the election in progress
	viewWasDC bool              // this node was DC when the view was installed
	myVote    *Message
	votes     map[string]Message
	future    map[uint64]map[string]Message
	voteAt    time.Time
	dc        string
	decided   bool
	// member
	joined     bool
	needFullAt time.Time
	// DC
	join      *joinState
	active    bool
	acked     map[string]cib.Version
	lastAckAt map[string]time.Time
	pending   []dcWrite
	queued    []forwarded
	// origin
	seq         uint64
	outstanding map[uint64]*outWrite
	// attrd
	attrs map[attrKey]*attrState

	persisted cib.Version
	savedOnce bool      // a full copy was persisted since NewNode
	now       time.Time // the latest now an input carried
	rd        Ready
}

// NewNode returns a node starting from c, the CIB its store loaded (nil for
// an empty CIB). The node owns c afterwards.
func NewNode(cfg Config, c *cib.CIB) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		c = cib.New()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, name: cfg.Name, log: log.With("node", cfg.Name), cib: c,
		future: map[uint64]map[string]Message{}, outstanding: map[uint64]*outWrite{},
		attrs: map[attrKey]*attrState{}, persisted: c.Version()}
	n.noteHistory()
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.name }

// CIB returns the node's current CIB. The caller must not modify it.
func (n *Node) CIB() *cib.CIB { return n.cib }

// Version returns the version of the node's CIB.
func (n *Node) Version() cib.Version { return n.cib.Version() }

// View returns the current view.
func (n *Node) View() View { return n.view }

// DC returns the DC this node follows ("" when none).
func (n *Node) DC() string { return n.dc }

// IsDC reports whether this node is the elected DC of its current view.
func (n *Node) IsDC() bool { return n.decided && n.dc == n.name }

// Active reports whether this node is DC and has finished the join, so
// that it applies writes.
func (n *Node) Active() bool { return n.IsDC() && n.active }

// Ready returns and clears what the caller must do.
func (n *Node) Ready() Ready {
	rd := n.rd
	n.rd = Ready{}
	return rd
}

// HasReady reports whether Ready would return something.
func (n *Node) HasReady() bool { return !n.rd.Empty() }

// Query answers a read from the local replica, as cibadmin -Q does by
// default. It changes nothing.
func (n *Node) Query(req cib.Request) (*cib.Result, error) {
	if req.Op != cib.OpQuery {
		return nil, fmt.Errorf("crm: query: %w: op %s", ErrBadRequest, req.Op)
	}
	return n.cib.Apply(req)
}

// SetLRM records this node's resource history (an <lrm id="NODE"> element,
// from the local lrmd) that the DC writes into the status section at the
// next join. An empty value clears it.
func (n *Node) SetLRM(xml []byte) error {
	if len(xml) > 0 {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(xml); err != nil || d.Root() == nil || d.Root().Tag != "lrm" {
			return fmt.Errorf("crm: set lrm: %w: not an <lrm> element", ErrBadRequest)
		}
	}
	n.lrm = slices.Clone(xml)
	return nil
}

// Write submits a client write. Its answer comes in Ready.Replies with the
// same id; ids are the caller's (unique among its pending writes).
func (n *Node) Write(now time.Time, id uint64, req cib.Request) error {
	n.now = now
	if req.Op == cib.OpQuery || req.Op == "" {
		return fmt.Errorf("crm: write: %w: op %q is not a write", ErrBadRequest, req.Op)
	}
	n.submit(now, &outWrite{client: id, req: req, deadline: now.Add(n.cfg.WriteTimeout)})
	return nil
}

func (n *Node) submit(now time.Time, w *outWrite) uint64 {
	n.seq++
	n.outstanding[n.seq] = w
	n.dispatch(now, n.seq, w)
	return n.seq
}

func (n *Node) dispatch(now time.Time, seq uint64, w *outWrite) {
	if !n.decided || n.dc == "" || w.sentTo != "" {
		return
	}
	w.sentTo = n.dc
	if n.dc == n.name {
		n.dcWrite(now, n.name, n.inc, seq, w.req)
		return
	}
	req := w.req
	n.send(Message{Type: MsgWrite, To: n.dc, View: n.view.Number, Origin: n.name, Inc: n.inc, ID: seq, Req: &req})
}

// finish answers an outstanding write on its origin.
func (n *Node) finish(seq uint64, v cib.Version, err error) {
	w, ok := n.outstanding[seq]
	if !ok {
		return
	}
	delete(n.outstanding, seq)
	if w.attr != nil {
		n.attrDone(*w.attr, w.attrGen, err)
		return
	}
	n.rd.Replies = append(n.rd.Replies, Reply{ID: w.client, Version: v, Err: err})
}

func (n *Node) send(m Message) {
	m.From = n.name
	m.Key = n.key
	n.rd.Messages = append(n.rd.Messages, m)
}

// SetView installs a new membership view.
func (n *Node) SetView(now time.Time, v View) {
	n.now = now
	v.Members = slices.Clone(v.Members)
	sort.Strings(v.Members)
	v.Members = slices.Compact(v.Members)
	if n.hasView && (v.Number < n.view.Number || v.Number == n.view.Number && v.Quorum == n.view.Quorum && slices.Equal(v.Members, n.view.Members)) {
		return // an older view, or the same one again
	}
	if n.inc == 0 {
		n.inc = n.cfg.Incarnation
		if n.inc == 0 {
			n.inc = uint64(now.UnixNano())
		}
		if n.inc == 0 {
			n.inc = 1
		}
	}
	wasDC := n.IsDC()
	n.view, n.hasView = v, true
	n.incs = map[string]uint64{n.name: n.inc}
	n.viewWasDC = wasDC
	n.resetElection()
	for k := range n.future {
		if k < v.Number {
			delete(n.future, k)
		}
	}
	fut := n.future[v.Number]
	delete(n.future, v.Number)
	if !v.has(n.name) || (!v.Quorum && n.cfg.NoQuorumPolicy != NoQuorumIgnore) {
		n.log.Info("no election", "view", v.Number, "quorum", v.Quorum, "member", v.has(n.name))
		n.dropDCState(ErrDCChanged)
		return
	}
	n.castVote(now)
	froms := make([]string, 0, len(fut))
	for from := range fut {
		froms = append(froms, from)
	}
	slices.Sort(froms)
	for _, from := range froms {
		_ = n.stepVote(now, fut[from])
	}
}

// resetElection forgets the decision of the current election.
func (n *Node) resetElection() {
	prevDC := n.dc
	n.votes = map[string]Message{}
	n.myVote = nil
	n.dc, n.decided = "", false
	n.joined = false
	n.join, n.active = nil, false
	if prevDC != "" {
		n.rd.DC = &DCEvent{View: n.view.Number}
	}
}

// incVector returns the incarnations known of the view's members, in
// member order (0 = unknown).
func (n *Node) incVector() []uint64 {
	out := make([]uint64, len(n.view.Members))
	for i, m := range n.view.Members {
		out[i] = n.incs[m]
	}
	return out
}

func incKey(incs []uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range incs {
		for i := range b {
			b[i] = byte(x >> (8 * i))
		}
		h.Write(b[:])
	}
	return h.Sum64()
}

// castVote starts the election of the current view for the incarnations
// this node knows: it forgets any earlier decision and broadcasts its
// vote. WasDC is "was DC when the view was installed" until a decision,
// and "is DC" when a member's restart interrupts a decided election (so a
// running DC keeps the role).
func (n *Node) castVote(now time.Time) {
	wasDC := n.IsDC() || (!n.decided && n.viewWasDC)
	n.resetElection()
	incs := n.incVector()
	n.key = incKey(incs)
	vote := Message{Type: MsgVote, View: n.view.Number, Members: n.view.Members, Incs: incs, WasDC: wasDC, Version: n.cib.Version()}
	n.myVote = &vote
	n.votes[n.name] = vote
	n.send(vote)
	n.voteAt = now
	n.tryDecide(now)
}

// electWinner returns the DC among complete votes: a node that was DC
// before the view changed wins, then the highest CIB version, then the
// name that sorts first.
func electWinner(votes map[string]Message) string {
	best := ""
	var bv Message
	for name, v := range votes {
		if best == "" || better(name, v, best, bv) {
			best, bv = name, v
		}
	}
	return best
}

func better(a string, av Message, b string, bv Message) bool {
	if av.WasDC != bv.WasDC {
		return av.WasDC
	}
	if c := av.Version.Compare(bv.Version); c != 0 {
		return c > 0
	}
	return a < b
}

func (n *Node) tryDecide(now time.Time) {
	if n.myVote == nil || n.decided || len(n.votes) < len(n.view.Members) || slices.Contains(n.myVote.Incs, 0) {
		return
	}
	w := electWinner(n.votes)
	n.dc, n.decided = w, true
	n.rd.DC = &DCEvent{View: n.view.Number, DC: w, Self: w == n.name}
	n.log.Info("dc elected", "view", n.view.Number, "dc", w, "key", n.key)
	if w == n.name {
		n.startJoin(now)
	} else {
		n.dropDCState(ErrDCChanged)
	}
	for _, seq := range sortedSeqs(n.outstanding) {
		o := n.outstanding[seq]
		if o.sentTo != "" && o.sentTo != w {
			o.sentTo = "" // the old DC may or may not have applied it
			if o.attr == nil {
				n.finish(seq, cib.Version{}, ErrDCChanged)
				continue
			}
			// attrd writes are absolute values: resending is safe
		}
		n.dispatch(now, seq, o)
	}
	n.attrsOnNewDC(now)
}

func sortedSeqs(m map[uint64]*outWrite) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dropDCState forgets the DC's pending and queued writes, answering them.
func (n *Node) dropDCState(err error) {
	for _, p := range n.pending {
		n.answer(p.origin, p.inc, p.seq, cib.Version{}, err)
	}
	for _, q := range n.queued {
		n.answer(q.origin, q.inc, q.seq, cib.Version{}, err)
	}
	n.pending, n.queued = nil, nil
	n.acked, n.lastAckAt = nil, nil
}

// answer replies to a write's origin (locally or by message).
func (n *Node) answer(origin string, inc, seq uint64, v cib.Version, err error) {
	if origin == n.name {
		if inc == n.inc {
			n.finish(seq, v, err)
		}
		return
	}
	m := Message{Type: MsgWriteResult, To: origin, View: n.view.Number, Origin: origin, Inc: inc, ID: seq, Version: v}
	if err != nil {
		m.Err, m.ErrCode = err.Error(), errCode(err)
	}
	n.send(m)
}

var errCodes = []struct {
	code string
	err  error
}{
	{"exists", cib.ErrExists}, {"notfound", cib.ErrNotFound}, {"invalid", cib.ErrInvalid},
	{"version", cib.ErrVersion}, {"badrequest", cib.ErrBadRequest}, {"force", cib.ErrForceRequired},
	{"malformed", cib.ErrMalformed}, {"notdc", ErrNotDC}, {"dcchanged", ErrDCChanged},
	{"lost", ErrLostInMerge}, {"nodc", ErrNoDC},
}

func errCode(err error) string {
	for _, e := range errCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return "remote"
}

func codeErr(code, text string) error {
	for _, e := range errCodes {
		if e.code == code {
			return fmt.Errorf("%w (from the DC: %s)", e.err, text)
		}
	}
	return fmt.Errorf("%w: %s", ErrRemote, text)
}

// Tick advances timers: retries, write deadlines, attribute dampening.
func (n *Node) Tick(now time.Time) {
	n.now = now
	if n.myVote != nil && !n.decided && !now.Before(n.voteAt.Add(n.cfg.Retry)) {
		n.send(*n.myVote)
		n.voteAt = now
	}
	if n.IsDC() && n.join != nil {
		if !n.join.finished && !now.Before(n.join.offerAt.Add(n.cfg.Retry)) {
			for _, m := range n.view.Members {
				if _, ok := n.join.reqs[m]; !ok {
					n.send(n.offer(m))
				}
			}
			n.join.offerAt = now
		}
		if n.join.finished {
			v := n.cib.Version()
			for _, m := range n.view.Members {
				if m != n.name && n.acked[m].Compare(v) < 0 && !now.Before(n.lastAckAt[m].Add(n.cfg.Retry)) {
					n.sendFull(m, MsgFull)
					n.lastAckAt[m] = now
				}
			}
		}
	}
	for _, seq := range sortedSeqs(n.outstanding) {
		w := n.outstanding[seq]
		if w.attr == nil && !now.Before(w.deadline) {
			err := ErrTimeout
			if w.sentTo == "" {
				err = ErrNoDC
			}
			n.finish(seq, cib.Version{}, err)
		}
	}
	n.attrTick(now)
}

func (n *Node) offer(to string) Message {
	return Message{Type: MsgJoinOffer, To: to, View: n.view.Number, Version: n.cib.Version(), Digest: digest(n.cib)}
}

func (n *Node) sendFull(to string, t MsgType) {
	n.send(Message{Type: t, To: to, View: n.view.Number, Version: n.cib.Version(), CIB: n.cib.Bytes(), History: slices.Clone(n.hist)})
}

// StepBytes decodes a message the messaging layer delivered from the
// authenticated sender from, and steps it.
func (n *Node) StepBytes(now time.Time, from string, data []byte) error {
	m, err := Decode(data)
	if err != nil {
		return err
	}
	m.From = from
	return n.Step(now, m)
}

// Step processes one message from another node. A message that does not
// fit the current state (another view, not from the DC) is ignored; a
// malformed one returns an error and changes nothing.
func (n *Node) Step(now time.Time, m Message) error {
	n.now = now
	if m.From == "" || m.From == n.name {
		return nil
	}
	if m.To != "" && m.To != n.name {
		return nil
	}
	switch m.Type {
	case MsgVote:
		return n.stepVote(now, m)
	case MsgWrite:
		if m.Req == nil {
			return fmt.Errorf("%w: write without request", ErrMalformed)
		}
		n.dcWrite(now, m.From, m.Inc, m.ID, *m.Req)
		return nil
	case MsgWriteResult:
		if w, ok := n.outstanding[m.ID]; ok && w.sentTo == m.From && m.Inc == n.inc {
			var err error
			if m.Err != "" || m.ErrCode != "" {
				err = codeErr(m.ErrCode, m.Err)
			}
			n.finish(m.ID, m.Version, err)
		}
		return nil
	}
	if !n.hasView || m.View != n.view.Number || m.Key != n.key || !n.view.has(m.From) || !n.decided {
		return nil
	}
	if n.IsDC() {
		return n.stepDC(now, m)
	}
	if m.From != n.dc {
		return nil
	}
	return n.stepMember(now, m)
}

func (n *Node) stepVote(now time.Time, m Message) error {
	if n.hasView && m.View > n.view.Number || !n.hasView {
		if len(n.future) >= 8 && n.future[m.View] == nil {
			return nil
		}
		if n.future[m.View] == nil {
			n.future[m.View] = map[string]Message{}
		}
		n.future[m.View][m.From] = m
		return nil
	}
	if m.View != n.view.Number || n.myVote == nil || !n.view.has(m.From) || !slices.Equal(m.Members, n.view.Members) || len(m.Incs) != len(m.Members) {
		return nil
	}
	own := m.Incs[slices.Index(m.Members, m.From)]
	if own == 0 || own < n.incs[m.From] {
		return nil // from a crmd of the sender that has since restarted
	}
	learned := false
	for i, member := range m.Members {
		x := m.Incs[i]
		switch {
		case member == n.name && x > n.inc:
			// someone knows a newer incarnation of this node (its clock
			// went back across a restart): take a newer one
			n.inc = x + 1
			n.incs[n.name] = n.inc
			learned = true
		case member != n.name && x > n.incs[member]:
			if n.incs[member] != 0 {
				n.log.Info("member restarted within the view; electing again", "view", n.view.Number, "member", member)
			}
			n.incs[member] = x
			learned = true
		}
	}
	if learned {
		n.castVote(now)
	}
	if !slices.Equal(m.Incs, n.myVote.Incs) {
		// the sender knows less: teach it (a reply is never answered)
		if !learned && !m.Reply {
			n.replyVote(m.From)
		}
		return nil
	}
	if _, seen := n.votes[m.From]; seen {
		if !m.Reply {
			n.replyVote(m.From)
		}
		return nil
	}
	n.votes[m.From] = m
	n.tryDecide(now)
	return nil
}

func (n *Node) replyVote(to string) {
	r := *n.myVote
	r.To, r.Reply = to, true
	n.send(r)
}

func (n *Node) stepMember(now time.Time, m Message) error {
	switch m.Type {
	case MsgJoinOffer:
		req := Message{Type: MsgJoinRequest, To: m.From, View: n.view.Number, Version: n.cib.Version(), Digest: digest(n.cib), LRM: n.lrm, History: slices.Clone(n.hist)}
		if req.Version != m.Version || req.Digest != m.Digest {
			req.CIB = n.cib.Bytes()
		}
		n.send(req)
	case MsgJoinConfirm, MsgFull:
		if len(m.CIB) > 0 {
			c, err := cib.Parse(m.CIB)
			if err != nil {
				return fmt.Errorf("crm: full copy from %s: %w", m.From, err)
			}
			if c.Version().Compare(n.cib.Version()) < 0 {
				n.log.Warn("refusing an older full copy", "from", m.From, "have", n.cib.Version(), "got", c.Version())
				return nil
			}
			n.adopt(c, m.History)
		} else {
			n.hist = mergeHist(n.hist, m.History, n.cfg.HistoryLen)
		}
		n.joined = true
		n.send(Message{Type: MsgAck, To: m.From, View: n.view.Number, Version: n.cib.Version()})
	case MsgPatch:
		if !n.joined {
			return nil
		}
		p, err := cib.ParsePatch(m.Patch)
		if err != nil {
			return fmt.Errorf("crm: patch from %s: %w", m.From, err)
		}
		cur := n.cib.Version()
		if p.Target.Compare(cur) <= 0 {
			return nil // duplicate or old
		}
		if p.Source != cur {
			n.askFull(now, m.From)
			return nil
		}
		if _, err := n.cib.ApplyPatch(p); err != nil {
			n.log.Warn("patch failed, asking for a full copy", "from", m.From, "err", err)
			n.askFull(now, m.From)
			return nil
		}
		n.persist(p)
		n.send(Message{Type: MsgAck, To: m.From, View: n.view.Number, Version: n.cib.Version()})
	}
	return nil
}

func (n *Node) askFull(now time.Time, dc string) {
	if !n.needFullAt.IsZero() && now.Before(n.needFullAt.Add(n.cfg.Retry)) {
		return
	}
	n.needFullAt = now
	n.send(Message{Type: MsgNeedFull, To: dc, View: n.view.Number, Version: n.cib.Version()})
}

func (n *Node) stepDC(now time.Time, m Message) error {
	switch m.Type {
	case MsgJoinRequest:
		if n.join != nil && !n.join.finished {
			n.join.reqs[m.From] = m
			n.tryFinishJoin(now)
		} else if n.join != nil {
			// a repeated request after the join: the confirm was lost
			n.sendFull(m.From, MsgJoinConfirm)
			n.lastAckAt[m.From] = now
		}
	case MsgAck:
		if n.join == nil || !n.join.finished {
			return nil
		}
		if m.Version.Compare(n.acked[m.From]) > 0 && m.Version.Compare(n.cib.Version()) <= 0 {
			n.acked[m.From] = m.Version
			n.lastAckAt[m.From] = now
			n.advanceJoin(now)
			n.checkPending()
		}
	case MsgNeedFull:
		if n.join != nil && n.join.finished && !now.Before(n.lastAckAt[m.From].Add(n.cfg.Retry/4)) {
			n.sendFull(m.From, MsgFull)
			n.lastAckAt[m.From] = now
		}
	}
	return nil
}

func (n *Node) startJoin(now time.Time) {
	n.join = &joinState{reqs: map[string]Message{}, offerAt: now}
	n.acked, n.lastAckAt = map[string]cib.Version{}, map[string]time.Time{}
	n.join.reqs[n.name] = Message{Type: MsgJoinRequest, View: n.view.Number, Version: n.cib.Version(), LRM: n.lrm}
	if len(n.view.Members) > 1 {
		o := n.offer("")
		n.send(o)
	}
	n.tryFinishJoin(now)
}

type candidate struct {
	node string
	c    *cib.CIB
	hist []HistEntry
}

func (n *Node) tryFinishJoin(now time.Time) {
	if len(n.join.reqs) < len(n.view.Members) {
		return
	}
	n.join.finished = true
	// every copy that differs from ours came in full: pick the newest
	cands := []candidate{{node: n.name, c: n.cib, hist: n.hist}}
	for _, m := range n.view.Members {
		r := n.join.reqs[m]
		if m == n.name || len(r.CIB) == 0 {
			continue
		}
		c, err := cib.Parse(r.CIB)
		if err != nil {
			n.log.Warn("join: unreadable cib", "from", m, "err", err)
			continue
		}
		cands = append(cands, candidate{node: m, c: c, hist: r.History})
	}
	win := cands[0]
	for _, c := range cands[1:] {
		if c.c.Version().Compare(win.c.Version()) > 0 {
			win = c
		}
	}
	wd := configDigest(win.c)
	anc, ext := n.ancestry(win, cands)
	selfLost := false
	for _, c := range cands {
		if c.node == win.node {
			continue
		}
		v := c.c.Version()
		if cd := configDigest(c.c); cd == wd || anc[cd] {
			continue // the same configuration, or one the winner's line went through
		}
		p := configOnly(cib.Diff(win.c, c.c))
		lc := LostChange{Node: c.node, Version: v, Winner: win.node, WinnerVersion: win.c.Version(), Patch: p}
		n.rd.Lost = append(n.rd.Lost, lc)
		n.log.Warn("configuration changes lost in a merge", "loser", c.node, "version", v, "winner", win.node, "winner_version", win.c.Version(), "changes", len(p.Changes))
		if c.node == n.name {
			selfLost = true
		}
	}
	if win.node != n.name {
		if selfLost {
			for _, p := range n.pending {
				n.answer(p.origin, p.inc, p.seq, cib.Version{}, ErrLostInMerge)
			}
			n.pending = nil
		}
		n.log.Info("join: adopting a newer cib", "from", win.node, "version", win.c.Version())
		n.adopt(win.c.Clone(), win.hist)
	}
	n.hist = mergeHist(ext, n.hist, n.cfg.HistoryLen)
	dg := digest(n.cib)
	for _, m := range n.view.Members {
		if m == n.name {
			continue
		}
		r := n.join.reqs[m]
		n.lastAckAt[m] = now
		if r.Version == n.cib.Version() && r.Digest == dg {
			n.send(Message{Type: MsgJoinConfirm, To: m, View: n.view.Number, Version: n.cib.Version(), History: slices.Clone(n.hist)})
		} else {
			n.sendFull(m, MsgJoinConfirm)
		}
	}
	n.acked[n.name] = n.cib.Version()
	n.join.base = n.cib.Version()
	n.advanceJoin(now)
}

// advanceJoin moves a finished join on: once every member has persisted
// the chosen CIB (base), the DC bumps the epoch by Window+1 and writes the
// status section; once every member has persisted that (bumped), it bumps
// the epoch once more and becomes active. So every write this DC
// acknowledges is at least Window+2 epochs above a CIB every member
// persisted before the bump, and a DC that goes stale mid-join holds
// nothing above base but the bump and the status (see doc.go).
func (n *Node) advanceJoin(now time.Time) {
	j := n.join
	if j == nil || !j.finished || n.active {
		return
	}
	if j.bumped == (cib.Version{}) {
		if n.low().Compare(j.base) < 0 {
			return
		}
		n.bumpForJoin(now, n.cfg.Window+1)
		n.writeStatus(now)
		j.bumped = n.cib.Version()
	}
	if n.low().Compare(j.bumped) < 0 {
		return
	}
	n.bumpForJoin(now, 1)
	n.active = true
	n.checkPending()
}

// ancestry returns the configuration digests on the winner's line: its
// lineage, extended (ancestry is transitive) by the lineage of every copy
// whose configuration is already on it, such as a node that kept an older
// lineage than a winner that restarted. ext lists those extra entries.
func (n *Node) ancestry(win candidate, cands []candidate) (map[uint64]bool, []HistEntry) {
	anc := map[uint64]bool{configDigest(win.c): true}
	for _, h := range win.hist {
		anc[h.Digest] = true
	}
	type line struct {
		d    uint64
		hist []HistEntry
	}
	var lines []line
	for _, c := range cands {
		lines = append(lines, line{configDigest(c.c), c.hist})
	}
	own := configDigest(n.cib)
	for _, m := range n.view.Members {
		if r := n.join.reqs[m]; m != n.name && len(r.CIB) == 0 {
			lines = append(lines, line{own, r.History}) // same CIB as this DC's
		}
	}
	var ext []HistEntry
	used := make([]bool, len(lines))
	for changed := true; changed; {
		changed = false
		for i, l := range lines {
			if used[i] || !anc[l.d] {
				continue
			}
			used[i], changed = true, true
			for _, h := range l.hist {
				if !anc[h.Digest] {
					anc[h.Digest] = true
					ext = append(ext, h)
				}
			}
		}
	}
	return anc, mergeHist(nil, ext, n.cfg.HistoryLen)
}

// bumpForJoin raises the epoch by k (see advanceJoin and doc.go).
func (n *Node) bumpForJoin(now time.Time, k int) {
	before := n.cib.Clone()
	for i := 0; i < k; i++ {
		if _, err := n.cib.Apply(cib.Request{Op: cib.OpBump}); err != nil {
			panic(fmt.Sprintf("crm: node %s: epoch bump: %v", n.name, err))
		}
	}
	n.commit(now, cib.Diff(before, n.cib))
}

// writeStatus records the join in the status section: node_state of every
// member (with its resource history) and of every node that left.
func (n *Node) writeStatus(now time.Time) {
	quorum := "0"
	if n.view.Quorum {
		quorum = "1"
	}
	n.internalWrite(now, cib.Request{Op: cib.OpModify, XML: []byte(fmt.Sprintf(`<cib dc-uuid="%s" have-quorum="%s"/>`, n.name, quorum))})
	for _, m := range n.view.Members {
		r := n.join.reqs[m]
		state := fmt.Sprintf(`<node_state id="%s" uname="%s" in_ccm="true" crmd="online" join="member" expected="member">`, m, m)
		if len(r.LRM) > 0 {
			if _, err := n.cib.Apply(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm", m)}); err == nil {
				n.internalWrite(now, cib.Request{Op: cib.OpDeleteAll, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm", m)})
			}
			if !n.internalWrite(now, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: append(append([]byte(state), r.LRM...), "</node_state>"...)}) {
				n.internalWrite(now, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: []byte(state + "</node_state>")})
			}
		} else {
			n.internalWrite(now, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: []byte(state + "</node_state>")})
		}
	}
	if st := n.cib.Root().SelectElement("status"); st != nil {
		var gone []string
		for _, ns := range st.SelectElements("node_state") {
			id := ns.SelectAttrValue("id", "")
			if id != "" && validName(id) && !n.view.has(id) && (ns.SelectAttrValue("in_ccm", "") != "false" || ns.SelectAttrValue("crmd", "") != "offline" || ns.SelectElement("transient_attributes") != nil) {
				gone = append(gone, id)
			}
		}
		for _, id := range gone {
			n.internalWrite(now, cib.Request{Op: cib.OpModify, Scope: "status", XML: []byte(fmt.Sprintf(`<node_state id="%s" in_ccm="false" crmd="offline" join="down"/>`, id))})
			if _, err := n.cib.Apply(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/transient_attributes", id)}); err == nil {
				n.internalWrite(now, cib.Request{Op: cib.OpDeleteAll, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/transient_attributes", id)})
			}
		}
	}
}

// internalWrite applies a DC-originated write at once (no client).
func (n *Node) internalWrite(now time.Time, req cib.Request) bool {
	res, err := n.cib.Apply(n.housekeeping(now, n.name, req))
	if err != nil {
		n.log.Warn("dc write failed", "op", req.Op, "err", err)
		return false
	}
	if res.Patch != nil {
		n.commit(now, res.Patch)
	}
	return true
}

func (n *Node) housekeeping(now time.Time, origin string, req cib.Request) cib.Request {
	if req.LastWritten == "" {
		req.LastWritten = now.UTC().Format("Mon Jan _2 15:04:05 2006")
	}
	if req.Origin == "" {
		req.Origin = origin
	}
	if req.Client == "" {
		req.Client = "crmd"
	}
	return req
}

// dcWrite applies a client write on the DC (or queues it during the join).
func (n *Node) dcWrite(now time.Time, origin string, inc, seq uint64, req cib.Request) {
	if !n.IsDC() || !n.view.has(origin) {
		n.answer(origin, inc, seq, cib.Version{}, ErrNotDC)
		return
	}
	n.queued = append(n.queued, forwarded{origin, inc, seq, req})
	n.checkPending()
}

// dcWriteNow applies a write on the active DC; it is answered once every
// member has persisted it.
func (n *Node) dcWriteNow(origin string, inc, seq uint64, req cib.Request) {
	res, err := n.cib.Apply(n.housekeeping(n.now, origin, req))
	if err != nil {
		n.answer(origin, inc, seq, cib.Version{}, err)
		return
	}
	if res.Patch != nil {
		n.commit(n.now, res.Patch)
	}
	n.pending = append(n.pending, dcWrite{origin: origin, inc: inc, seq: seq, version: n.cib.Version()})
}

// commit persists and broadcasts a patch the DC applied.
func (n *Node) commit(now time.Time, p *cib.Patch) {
	prev := n.acked[n.name]
	pb := p.Bytes()
	n.persist(p)
	n.acked[n.name] = n.cib.Version()
	for _, m := range n.view.Members {
		if m != n.name && n.acked[m] == prev {
			n.lastAckAt[m] = now // it was up to date: give it Retry to ack
		}
	}
	if len(n.view.Members) > 1 {
		m := Message{Type: MsgPatch, From: n.name, Key: n.key, View: n.view.Number, Version: p.Target, Patch: pb}
		if n.cfg.SendAhead && len(n.rd.Messages) == 0 {
			// nothing emitted before it waits for Persist, so sending it
			// ahead keeps the order of emission (see doc.go for safety)
			n.rd.Ahead = append(n.rd.Ahead, m)
		} else {
			n.rd.Messages = append(n.rd.Messages, m)
		}
	}
}

// low returns the newest version every member has persisted.
func (n *Node) low() cib.Version {
	low := n.cib.Version()
	for _, m := range n.view.Members {
		if a := n.acked[m]; a.Compare(low) < 0 {
			low = a
		}
	}
	return low
}

// windowFull reports whether the DC's CIB is Window epochs ahead of what
// every member persisted (or in another admin_epoch).
func (n *Node) windowFull() bool {
	low, cur := n.low(), n.cib.Version()
	return low.AdminEpoch != cur.AdminEpoch || cur.Epoch-low.Epoch >= int64(n.cfg.Window)
}

// checkPending answers the DC's writes that every member has persisted,
// and applies queued writes the window now admits.
func (n *Node) checkPending() {
	for len(n.queued) > 0 && n.active && !n.windowFull() {
		f := n.queued[0]
		n.queued = n.queued[1:]
		n.dcWriteNow(f.origin, f.inc, f.seq, f.req)
	}
	if len(n.pending) == 0 || !n.active {
		return
	}
	low := n.low()
	k := 0
	for _, p := range n.pending {
		if p.version.Compare(low) <= 0 {
			n.answer(p.origin, p.inc, p.seq, p.version, nil)
			continue
		}
		n.pending[k] = p
		k++
	}
	n.pending = n.pending[:k]
}

// persist records the current CIB, reached by patch p, in Ready.Persist; p nil records a full copy. A patch entry points at the
// live CIB, as cib.Store allows (it writes a full copy only from an entry
// whose CIB is still at the entry's version), so Ready must be saved
// before the next call into the Node; a full-copy entry is a snapshot.
func (n *Node) persist(p *cib.Patch) {
	v := n.cib.Version()
	if v.Compare(n.persisted) < 0 {
		panic(fmt.Sprintf("crm: node %s: cib version going back from %s to %s", n.name, n.persisted, v))
	}
	n.persisted = v
	c := n.cib
	if p == nil || !n.savedOnce {
		// the first entry of a node's life is a full copy, so that the
		// store needs no base (an empty store, or one that lost its tail)
		c, p = c.Clone(), nil
		n.savedOnce = true
	}
	n.rd.Persist = append(n.rd.Persist, cib.Entry{CIB: c, Patch: p})
	n.noteHistory()
}

// adopt replaces the CIB by a full copy (never older) and the lineage by
// the copy's: this node's former line is no longer its ancestry.
func (n *Node) adopt(c *cib.CIB, hist []HistEntry) {
	n.cib = c
	n.hist = mergeHist(nil, hist, n.cfg.HistoryLen)
	n.persist(nil)
}

// noteHistory records the digest of the configuration's content when the
// epoch changed. Content (not a chain of patches) so that a node that
// restarted, and lost its in-memory lineage, is still recognised as stale.
func (n *Node) noteHistory() {
	v := n.cib.Version()
	if l := len(n.hist); l > 0 && n.hist[l-1].AdminEpoch == v.AdminEpoch && n.hist[l-1].Epoch == v.Epoch {
		return
	}
	n.hist = mergeHist(n.hist, []HistEntry{{AdminEpoch: v.AdminEpoch, Epoch: v.Epoch, Digest: configDigest(n.cib)}}, n.cfg.HistoryLen)
}

// mergeHist merges two lineages; on a clash the newer (b) wins.
func mergeHist(a, b []HistEntry, max int) []HistEntry {
	if len(b) == 1 && (len(a) == 0 || histLess(a[len(a)-1], b[0])) {
		a = append(a, b[0]) // the common case: one newer entry
		if len(a) > max {
			a = append(a[:0], a[len(a)-max:]...)
		}
		return a
	}
	m := map[[2]int64]uint64{}
	for _, h := range a {
		m[[2]int64{h.AdminEpoch, h.Epoch}] = h.Digest
	}
	for _, h := range b {
		m[[2]int64{h.AdminEpoch, h.Epoch}] = h.Digest
	}
	out := make([]HistEntry, 0, len(m))
	for k, d := range m {
		out = append(out, HistEntry{AdminEpoch: k[0], Epoch: k[1], Digest: d})
	}
	sort.Slice(out, func(i, j int) bool { return histLess(out[i], out[j]) })
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

func histLess(a, b HistEntry) bool {
	if a.AdminEpoch != b.AdminEpoch {
		return a.AdminEpoch < b.AdminEpoch
	}
	return a.Epoch < b.Epoch
}

func hasHist(h []HistEntry, d uint64) bool {
	for _, e := range h {
		if e.Digest == d {
			return true
		}
	}
	return false
}

func digest(c *cib.CIB) uint64 {
	h := fnv.New64a()
	h.Write(c.Bytes())
	return h.Sum64()
}

// configDigest hashes the configuration section only, canonically:
// tags, attributes in order and trimmed text, whatever the indentation.
func configDigest(c *cib.CIB) uint64 {
	h := fnv.New64a()
	if cfg := c.Root().SelectElement("configuration"); cfg != nil {
		hashElement(h, cfg)
	}
	return h.Sum64()
}

func hashElement(h hash.Hash64, e *etree.Element) {
	h.Write([]byte{'<'})
	h.Write([]byte(e.Tag))
	for _, a := range e.Attr {
		h.Write([]byte{' '})
		h.Write([]byte(a.Key))
		h.Write([]byte{'='})
		h.Write([]byte(a.Value))
		h.Write([]byte{0})
	}
	h.Write([]byte{'>'})
	for _, t := range e.Child {
		switch x := t.(type) {
		case *etree.Element:
			hashElement(h, x)
		case *etree.CharData:
			if d := strings.TrimSpace(x.Data); d != "" {
				h.Write([]byte{'"'})
				h.Write([]byte(d))
				h.Write([]byte{0})
			}
		}
	}
	h.Write([]byte{'/', '>'})
}

// configOnly keeps the configuration changes of a patch.
func configOnly(p *cib.Patch) *cib.Patch {
	out := &cib.Patch{Source: p.Source, Target: p.Target}
	for _, c := range p.Changes {
		if strings.HasPrefix(c.Path, "/cib/configuration") {
			out.Changes = append(out.Changes, c)
		}
	}
	return out
}
