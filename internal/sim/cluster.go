package sim

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"time"

	"github.com/systole/systole/membership"
)

// Epoch is virtual time zero.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configures a simulated cluster.
type Options struct {
	// Nodes is the number of nodes (1 to membership.MaxNodes). Names are n1..n9 for up to
	// nine nodes and zero-padded (n01..n64) above, so that name order is number order.
	Nodes int
	// Seed seeds the simulator's random source (loss, delay, duplication, tick phases).
	Seed int64
	// Votes overrides the votes of some nodes (default 1).
	Votes map[string]int
	// TwoNode enables membership two-node mode (needs Nodes == 2).
	TwoNode bool
	// Tick is how often every node's link and core are ticked.
	Tick time.Duration
	// Link sets the liveness timers; MinDelay and MaxDelay bound packet delay.
	Link               LinkConfig
	MinDelay, MaxDelay time.Duration
	// NewLink builds a node's messaging layer; nil means NewHeartbeatLink.
	NewLink LinkFactory
	// Membership adjusts each node's membership config after the simulator filled it in.
	Membership func(*membership.Config)
}

// DefaultOptions returns options for n nodes with fast virtual-time timers.
func DefaultOptions(n int, seed int64) Options {
	return Options{
		Nodes:    n,
		Seed:     seed,
		Tick:     50 * time.Millisecond,
		Link:     LinkConfig{Keepalive: 200 * time.Millisecond, Deadtime: time.Second},
		MinDelay: time.Millisecond,
		MaxDelay: 10 * time.Millisecond,
	}
}

// NodeName returns the name of node i (0-based) in a cluster of n nodes.
func NodeName(i, n int) string {
	if n <= 9 {
		return fmt.Sprintf("n%d", i+1)
	}
	return fmt.Sprintf("n%02d", i+1)
}

type simNode struct {
	idx      int
	name     string
	alive    bool
	gen      int
	link     Link
	core     *membership.Node
	hs       membership.HardState // "disk": survives crashes
	lastNum  uint64               // highest view number ever installed (checker)
	view     membership.View
	viewIdx  []int // member indices of view
	sawAll   bool  // installed a view of every node since the last start (wait for all)
	sent     int   // membership messages sent (all incarnations)
	sentMark int   // sent at the start of the steady-state traffic window
	installs int
	// minoritySince is when this node last became part of a minority (zero if not).
	minoritySince time.Time
}

type event struct {
	at   time.Time
	key  int64 // at as nanoseconds since Epoch: with seq, the queue's order
	seq  uint64
	tick bool
	node int
	gen  int
	from int
	data []byte
}

// eventQueue is a binary min-heap of events ordered by (virtual time, sequence). It is
// written out rather than built on container/heap: the simulator pushes and pops tens of
// millions of events, and the interface calls and time.Time comparisons were a fifth of
// its CPU time.
type eventQueue []*event

func (q eventQueue) less(i, j int) bool {
	if q[i].key != q[j].key {
		return q[i].key < q[j].key
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e *event) {
	*q = append(*q, e)
	h := *q
	for j := len(h) - 1; j > 0; {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (q *eventQueue) pop() *event {
	h := *q
	n := len(h) - 1
	h[0], h[n] = h[n], h[0]
	e := h[n]
	h[n] = nil
	h = h[:n]
	*q = h
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return e
}

type viewKey struct {
	num   uint64
	coord string
}

// Cluster is N nodes' messaging and membership cores over a simulated network, run in one
// goroutine in virtual time. Every random choice comes from one seeded source, so a run is
// replayed exactly by its seed and commands. Invariants are checked as events happen;
// violations are collected in Violations.
type Cluster struct {
	opts   Options
	rng    *rand.Rand
	now    time.Time
	seq    uint64
	queue  eventQueue
	nodes  []*simNode
	names  []string
	index  map[string]int
	votes  []int
	expect int
	mcfg   []membership.Config
	cut    [][]bool
	cutAt  [][]time.Time
	loss   [][]float64
	dup    float64
	netAt  time.Time // last change of loss or duplication settings
	views  map[viewKey][]string
	trace  []string
	quiet  bool
	// Violations lists every invariant violation found so far.
	Violations []string
	// Events counts processed events.
	Events uint64
	// SteadyChecks counts steady-state checks (see checkSteady).
	SteadyChecks int
	// Installs counts views installed on any node.
	Installs    int
	lastInstall time.Time
	free        []*event
	// changedAt is the last change of links or of the set of running nodes; steadyChecked
	// says the steady-state check ran since.
	changedAt     time.Time
	steadyChecked bool
	rateAt        time.Time // when the steady-state traffic window ends (zero: none)
}

// New builds a cluster and starts every node at virtual time zero.
func New(opts Options) (*Cluster, error) {
	if opts.Nodes < 1 || opts.Nodes > membership.MaxNodes {
		return nil, fmt.Errorf("sim: %d nodes, want 1 to %d", opts.Nodes, membership.MaxNodes)
	}
	if opts.NewLink == nil {
		opts.NewLink = NewHeartbeatLink
	}
	n := opts.Nodes
	c := &Cluster{
		opts:  opts,
		rng:   rand.New(rand.NewSource(opts.Seed)),
		now:   Epoch,
		index: make(map[string]int),
		views: make(map[viewKey][]string),
	}
	var mnodes []membership.NodeConfig
	for i := 0; i < n; i++ {
		name := NodeName(i, n)
		c.names = append(c.names, name)
		c.index[name] = i
		v := 1
		if w, ok := opts.Votes[name]; ok {
			v = w
		}
		c.votes = append(c.votes, v)
		c.expect += v
		mnodes = append(mnodes, membership.NodeConfig{Name: name, Votes: v})
	}
	for name := range opts.Votes {
		if _, ok := c.index[name]; !ok {
			return nil, fmt.Errorf("sim: votes for unknown node %q", name)
		}
	}
	dead := opts.Link.Deadtime
	for i := 0; i < n; i++ {
		cfg := membership.Config{
			Name:           c.names[i],
			Nodes:          mnodes,
			TwoNode:        opts.TwoNode,
			ReportInterval: 250 * time.Millisecond,
			ProposeTimeout: time.Second,
			RetryDelay:     250 * time.Millisecond,
			HoldDown:       dead,
			Settle:         100 * time.Millisecond,
			InitDead:       500 * time.Millisecond,
		}
		if opts.Membership != nil {
			opts.Membership(&cfg)
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("sim: node %s: %w", c.names[i], err)
		}
		c.mcfg = append(c.mcfg, cfg)
	}
	c.cut = make([][]bool, n)
	c.cutAt = make([][]time.Time, n)
	c.loss = make([][]float64, n)
	for i := range n {
		c.cut[i] = make([]bool, n)
		c.cutAt[i] = make([]time.Time, n)
		c.loss[i] = make([]float64, n)
		c.nodes = append(c.nodes, &simNode{idx: i, name: c.names[i]})
	}
	c.push(&event{at: c.now.Add(opts.Tick / 2), node: -1})
	for i := range n {
		if err := c.start(i); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Names returns the node names in order.
func (c *Cluster) Names() []string { return slices.Clone(c.names) }

// Now returns the virtual time elapsed since the start.
func (c *Cluster) Now() time.Duration { return c.now.Sub(Epoch) }

func (c *Cluster) start(i int) error {
	nd := c.nodes[i]
	core, err := membership.NewNode(c.mcfg[i], nd.hs, nil)
	if err != nil {
		return fmt.Errorf("sim: start %s: %w", nd.name, err)
	}
	var peers []string
	for j, name := range c.names {
		if j != i {
			peers = append(peers, name)
		}
	}
	nd.core = core
	nd.link = c.opts.NewLink(LinkParams{
		Self: nd.name, Peers: peers, Config: c.opts.Link, Generation: uint64(nd.gen + 1),
		Rand: rand.New(rand.NewSource(c.rng.Int63())), Now: c.now,
	})
	nd.alive = true
	nd.gen++
	nd.view, nd.viewIdx, nd.sawAll = membership.View{}, nil, false
	phase := time.Duration(c.rng.Int63n(int64(c.opts.Tick)))
	c.push(&event{at: c.now.Add(phase), tick: true, node: i, gen: nd.gen})
	c.pump(nd)
	c.topologyChanged()
	return nil
}

// newEvent takes an event from the free list (the simulator makes millions of them).
func (c *Cluster) newEvent() *event {
	if n := len(c.free); n > 0 {
		e := c.free[n-1]
		c.free = c.free[:n-1]
		return e
	}
	return new(event)
}

func (c *Cluster) push(e *event) {
	c.seq++
	e.seq = c.seq
	e.key = int64(e.at.Sub(Epoch))
	c.queue.push(e)
}

// release returns a processed event to the free list.
func (c *Cluster) release(e *event) {
	*e = event{}
	c.free = append(c.free, e)
}

func (c *Cluster) tracef(format string, args ...any) {
	if c.quiet {
		return
	}
	c.trace = append(c.trace, fmt.Sprintf("%7.3fs ", c.Now().Seconds())+fmt.Sprintf(format, args...))
}

func (c *Cluster) violate(format string, args ...any) {
	msg := fmt.Sprintf("t=%.3fs ", c.Now().Seconds()) + fmt.Sprintf(format, args...)
	if len(c.Violations) < 20 {
		c.Violations = append(c.Violations, msg)
	}
	c.trace = append(c.trace, "VIOLATION "+msg)
}

// TakeTrace returns and clears the trace collected since the last call.
func (c *Cluster) TakeTrace() []string {
	t := c.trace
	c.trace = nil
	return t
}

// SetQuiet turns tracing off (for random schedules, where only violations matter).
func (c *Cluster) SetQuiet(q bool) { c.quiet = q }

// margin is how long after a link is cut (or a node is isolated) a newly installed view may
// still reflect the old connectivity: detection (deadtime + keepalive), a proposal acked just
// before detection and completed within ProposeTimeout, and packet delays.
func (c *Cluster) margin() time.Duration {
	return c.opts.Link.Deadtime + c.opts.Link.Keepalive + c.mcfg[0].ProposeTimeout +
		4*c.opts.MaxDelay + 2*c.opts.Tick
}

// pump moves effects between a node's link, its core and the network until both are idle.
func (c *Cluster) pump(nd *simNode) {
	for nd.alive {
		lr := nd.link.Ready()
		for _, p := range lr.Peers {
			if err := nd.core.PeerStatus(c.now, p.Peer, p.Up); err != nil {
				c.violate("%s: peer status: %v", nd.name, err)
			}
		}
		for _, d := range lr.Delivered {
			if err := nd.core.Step(c.now, d.From, d.Payload); err != nil {
				c.violate("%s: step: %v", nd.name, err)
			}
		}
		for _, p := range lr.Packets {
			c.transmit(nd.idx, p)
		}
		busy := !lr.empty()
		if nd.core.HasReady() {
			busy = true
			rd := nd.core.Ready()
			if rd.HardState != nil {
				nd.hs = *rd.HardState
			}
			for _, m := range rd.Messages {
				nd.link.Send(c.now, m.To, m.Payload)
			}
			nd.sent += len(rd.Messages)
			if rd.View != nil {
				c.installed(nd, *rd.View)
			}
			for _, n := range rd.Notices {
				c.tracef("%s: left out of view %d by %s", nd.name, n.View, n.By)
			}
		}
		if !busy {
			return
		}
	}
}

func (c *Cluster) transmit(from int, p Packet) {
	if p.To == "" {
		for to := range c.nodes {
			if to != from {
				c.send(from, to, p.Data)
			}
		}
		return
	}
	to, ok := c.index[p.To]
	if !ok {
		c.violate("%s: packet for unknown node %q", c.names[from], p.To)
		return
	}
	c.send(from, to, p.Data)
}

func (c *Cluster) delay() time.Duration {
	d := c.opts.MinDelay
	if span := c.opts.MaxDelay - c.opts.MinDelay; span > 0 {
		d += time.Duration(c.rng.Int63n(int64(span)))
	}
	return d
}

func (c *Cluster) send(from, to int, data []byte) {
	if c.cut[from][to] {
		return
	}
	if l := c.loss[from][to]; l > 0 && c.rng.Float64() < l {
		return
	}
	copies := 1
	if c.dup > 0 && c.rng.Float64() < c.dup {
		copies = 2
	}
	for range copies {
		e := c.newEvent()
		*e = event{at: c.now.Add(c.delay()), node: to, from: from, data: data}
		c.push(e)
	}
}

// step processes the next event; it returns false when the queue is empty.
func (c *Cluster) step() bool {
	if len(c.queue) == 0 {
		return false
	}
	e := c.queue.pop()
	c.now = e.at
	c.Events++
	if e.node < 0 {
		c.checkPeriodic()
		e.at = c.now.Add(c.opts.Tick) // the periodic check and the ticks reuse their event
		c.push(e)
		return true
	}
	nd := c.nodes[e.node]
	if e.tick {
		if !nd.alive || e.gen != nd.gen {
			c.release(e)
			return true
		}
		nd.link.Tick(c.now)
		nd.core.Tick(c.now)
		c.pump(nd)
		e.at = c.now.Add(c.opts.Tick)
		c.push(e)
		return true
	}
	if nd.alive {
		nd.link.Receive(c.now, c.names[e.from], e.data)
		c.pump(nd)
	}
	c.release(e)
	return true
}

// RunFor advances virtual time by d.
func (c *Cluster) RunFor(d time.Duration) {
	c.RunUntil(c.now.Add(d), nil)
}

// RunUntil processes events up to deadline, stopping early (returning true) as soon as
// done reports true after an event.
func (c *Cluster) RunUntil(deadline time.Time, done func() bool) bool {
	for len(c.queue) > 0 && !c.queue[0].at.After(deadline) {
		c.step()
		if done != nil && done() {
			return true
		}
	}
	c.now = deadline
	return done != nil && done()
}

func (c *Cluster) installed(nd *simNode, v membership.View) {
	c.Installs++
	nd.installs++
	c.lastInstall = c.now
	c.tracef("%s: %v", nd.name, v)
	if !slices.Contains(v.Members, nd.name) {
		c.violate("%s installed %v without itself", nd.name, v)
	}
	if v.Number <= nd.lastNum {
		c.violate("%s: view number went from %d to %d", nd.name, nd.lastNum, v.Number)
	}
	nd.lastNum = v.Number
	key := viewKey{v.Number, v.Coordinator}
	if prev, ok := c.views[key]; ok {
		if !slices.Equal(prev, v.Members) {
			c.violate("%s installed view %d by %s as %v, another node as %v", nd.name, v.Number, v.Coordinator, v.Members, prev)
		}
	} else {
		c.views[key] = slices.Clone(v.Members)
	}
	votes := 0
	for _, m := range v.Members {
		votes += c.votes[c.index[m]]
	}
	if votes != v.Votes {
		c.violate("%s: view %d claims %d votes, members hold %d", nd.name, v.Number, v.Votes, votes)
	}
	if !c.opts.TwoNode && v.Quorum != (2*votes > c.expect) {
		c.violate("%s: view %d quorum=%v with %d of %d votes", nd.name, v.Number, v.Quorum, votes, c.expect)
	}
	if len(v.Members) == len(c.nodes) {
		nd.sawAll = true
	}
	if c.opts.TwoNode && v.Quorum && (votes < 1 || !nd.sawAll) {
		c.violate("%s: two-node view %d has quorum before seeing both nodes since start", nd.name, v.Number)
	}
	// No newly installed view holds both ends of a link cut for longer than the margin.
	for _, a := range v.Members {
		for _, b := range v.Members {
			ia, ib := c.index[a], c.index[b]
			if ia != ib && c.cut[ia][ib] && c.now.Sub(c.cutAt[ia][ib]) > c.margin() {
				c.violate("%s installed view %d holding %s and %s, cut %s>%s for %v", nd.name, v.Number, a, b, a, b, c.now.Sub(c.cutAt[ia][ib]))
			}
		}
	}
	nd.view = v
	nd.viewIdx = nd.viewIdx[:0]
	for _, m := range v.Members {
		nd.viewIdx = append(nd.viewIdx, c.index[m])
	}
}

// reach returns the alive nodes that node i exchanges packets with both ways, itself included.
func (c *Cluster) reach(i int) []int {
	var out []int
	for j, nd := range c.nodes {
		if j == i || (nd.alive && !c.cut[i][j] && !c.cut[j][i]) {
			out = append(out, j)
		}
	}
	return out
}

func (c *Cluster) minority(i int) bool {
	v := 0
	for _, j := range c.reach(i) {
		v += c.votes[j]
	}
	return 2*v <= c.expect
}

// topologyChanged re-evaluates which nodes are in a minority after a network change.
func (c *Cluster) topologyChanged() {
	c.changedAt = c.now
	c.steadyChecked = false
	c.rateAt = time.Time{}
	for i, nd := range c.nodes {
		if !nd.alive || !c.minority(i) {
			nd.minoritySince = time.Time{}
		} else if nd.minoritySince.IsZero() {
			nd.minoritySince = c.now
		}
	}
}

func (c *Cluster) lossy() bool {
	for i := range c.loss {
		for _, l := range c.loss[i] {
			if l > 0 {
				return true
			}
		}
	}
	return false
}

// quorumBound is how long a node may keep claiming quorum after it ended up in a minority
// on a loss-free network: detection, settle, a refused proposal and a retry.
func (c *Cluster) quorumBound() time.Duration {
	return 2*c.margin() + c.mcfg[0].HoldDown + 4*c.mcfg[0].ReportInterval
}

func (c *Cluster) checkPeriodic() {
	if c.opts.TwoNode || c.lossy() {
		return
	}
	c.checkStaleViews()
	c.checkSteady()
	for _, nd := range c.nodes {
		if !nd.alive || nd.minoritySince.IsZero() || !nd.view.Quorum {
			continue
		}
		since := nd.minoritySince
		if c.netAt.After(since) {
			since = c.netAt
		}
		if c.now.Sub(since) > c.quorumBound() {
			c.violate("%s claims quorum in %v while in a minority since %.3fs", nd.name, nd.view, since.Sub(Epoch).Seconds())
			nd.minoritySince = c.now // report once per bound
		}
	}
}

// checkStaleViews: on a loss-free network, no node keeps a view holding both ends of a link
// that has been cut for longer than quorumBound.
func (c *Cluster) checkStaleViews() {
	bound := c.quorumBound()
	for _, nd := range c.nodes {
		if !nd.alive {
			continue
		}
		for _, ia := range nd.viewIdx {
			for _, ib := range nd.viewIdx {
				if ia == ib || !c.cut[ia][ib] {
					continue
				}
				a, b := c.names[ia], c.names[ib]
				since := c.cutAt[ia][ib]
				if c.netAt.After(since) {
					since = c.netAt
				}
				if d := c.now.Sub(since); d > bound && d <= bound+c.opts.Tick {
					c.violate("%s still holds %v with %s and %s, cut %s>%s for %v", nd.name, nd.view, a, b, a, b, d)
				}
			}
		}
	}
}

// checkSteady: once the network has been unchanged and loss-free for ConvergeBound, every
// running node's view is installed, identically, on every one of its members (whatever the
// topology: partitions, asymmetric cuts).
func (c *Cluster) checkSteady() {
	since := c.changedAt
	if c.netAt.After(since) {
		since = c.netAt
	}
	if c.steadyChecked && !c.rateAt.IsZero() && !c.now.Before(c.rateAt) {
		c.checkSteadyTraffic()
	}
	if c.steadyChecked || c.now.Sub(since) < c.ConvergeBound() {
		return
	}
	c.steadyChecked = true
	c.rateAt = c.now.Add(steadyWindow)
	for _, nd := range c.nodes {
		nd.sentMark = nd.sent
	}
	c.SteadyChecks++
	for _, nd := range c.nodes {
		if !nd.alive {
			continue
		}
		if nd.view.Number == 0 {
			c.violate("steady network: %s has no view", nd.name)
			continue
		}
		for _, m := range nd.viewIdx {
			o := c.nodes[m]
			if !o.alive || o.view.Number != nd.view.Number || o.view.Coordinator != nd.view.Coordinator {
				c.violate("steady network: %s holds %v but member %s holds %v (alive=%v)", nd.name, nd.view, o.name, o.view, o.alive)
				break
			}
		}
	}
}

// steadyWindow is how long the steady-state traffic check measures.
const steadyWindow = 5 * time.Second

// checkSteadyTraffic: on a steady network the membership layer is quiet: each node sends
// its periodic state broadcast and nothing else (allowing one extra message per interval).
func (c *Cluster) checkSteadyTraffic() {
	c.rateAt = time.Time{}
	limit := 2 * int(steadyWindow/c.mcfg[0].ReportInterval)
	for _, nd := range c.nodes {
		if n := nd.sent - nd.sentMark; nd.alive && n > limit {
			c.violate("steady network: %s sent %d membership messages in %v (limit %d)", nd.name, n, steadyWindow, limit)
		}
	}
}

// Cut stops packets from a to b (b no longer hears a).
func (c *Cluster) Cut(a, b int) {
	if !c.cut[a][b] {
		c.cut[a][b] = true
		c.cutAt[a][b] = c.now
	}
}

// Uncut lets packets from a to b through again.
func (c *Cluster) Uncut(a, b int) { c.cut[a][b] = false }

// Partition cuts every link between different groups and restores links within a group.
// Nodes not named form one more group.
func (c *Cluster) Partition(groups [][]int) {
	group := make([]int, len(c.nodes))
	for i := range group {
		group[i] = -1
	}
	for g, members := range groups {
		for _, m := range members {
			group[m] = g
		}
	}
	for a := range c.nodes {
		for b := range c.nodes {
			if a == b {
				continue
			}
			if group[a] != group[b] {
				c.Cut(a, b)
			} else {
				c.Uncut(a, b)
			}
		}
	}
	c.topologyChanged()
}

// Heal restores every link and clears loss and duplication.
func (c *Cluster) Heal() {
	for a := range c.nodes {
		for b := range c.nodes {
			c.cut[a][b] = false
			c.loss[a][b] = 0
		}
	}
	c.dup = 0
	c.netAt = c.now
	c.topologyChanged()
}

// SetLoss sets the loss probability of link a>b (a < 0 or b < 0: every link from/to).
func (c *Cluster) SetLoss(a, b int, p float64) {
	for i := range c.nodes {
		for j := range c.nodes {
			if (a < 0 || a == i) && (b < 0 || b == j) && i != j {
				c.loss[i][j] = p
			}
		}
	}
	c.netAt = c.now
	c.steadyChecked, c.rateAt = false, time.Time{}
}

// SetDup sets the probability that a packet is delivered twice.
func (c *Cluster) SetDup(p float64) {
	c.dup = p
	c.netAt = c.now
	c.steadyChecked, c.rateAt = false, time.Time{}
}

// Crash stops node i; its persisted hard state survives.
func (c *Cluster) Crash(i int) {
	nd := c.nodes[i]
	if !nd.alive {
		return
	}
	nd.alive = false
	nd.core, nd.link = nil, nil
	nd.view, nd.viewIdx = membership.View{}, nil
	c.tracef("%s: crashed", nd.name)
	c.topologyChanged()
}

// Restart starts a crashed node again from its persisted hard state.
func (c *Cluster) Restart(i int) error {
	if c.nodes[i].alive {
		return nil
	}
	c.tracef("%s: restarted", c.names[i])
	return c.start(i)
}

// Alive reports whether node i runs.
func (c *Cluster) Alive(i int) bool { return c.nodes[i].alive }

// View returns node i's installed view.
func (c *Cluster) View(i int) membership.View { return c.nodes[i].view }

// InstallsOf returns how many views node i installed.
func (c *Cluster) InstallsOf(i int) int { return c.nodes[i].installs }

// Converged reports whether every alive node has installed the same view, holding exactly
// the alive nodes, with the expected quorum flag.
func (c *Cluster) Converged() bool {
	// Cheap test first: this runs after every event while converging.
	var first *simNode
	alive := 0
	for _, nd := range c.nodes {
		if !nd.alive {
			continue
		}
		alive++
		if first == nil {
			first = nd
		}
		if nd.view.Number == 0 || nd.view.Number != first.view.Number || nd.view.Coordinator != first.view.Coordinator {
			return false
		}
	}
	if first == nil || len(first.view.Members) != alive {
		return false
	}
	return c.convergedFull()
}

func (c *Cluster) convergedFull() bool {
	var alive []string
	votes := 0
	for i, nd := range c.nodes {
		if nd.alive {
			alive = append(alive, nd.name)
			votes += c.votes[i]
		}
	}
	var first *membership.View
	for _, nd := range c.nodes {
		if !nd.alive {
			continue
		}
		v := nd.view
		if v.Number == 0 || !slices.Equal(v.Members, alive) {
			return false
		}
		if first == nil {
			first = &v
		} else if v.Number != first.Number || v.Coordinator != first.Coordinator {
			return false
		}
		if c.opts.TwoNode && !v.Quorum || !c.opts.TwoNode && v.Quorum != (2*votes > c.expect) {
			return false
		}
	}
	return true
}

// ConvergeBound is the longest time after a heal (and restart of every node) until every
// node has converged on one view: detection, the longest (flap-damped) hold-down of peers
// that were down, initdead, report rounds and a few rounds of proposals.
func (c *Cluster) ConvergeBound() time.Duration {
	return 2*c.opts.Link.Deadtime + membership.MaxHoldDownFactor*c.mcfg[0].HoldDown + c.mcfg[0].InitDead +
		8*c.mcfg[0].ReportInterval + 3*c.mcfg[0].ProposeTimeout
}

// Converge runs until Converged or ConvergeBound passes, and records a violation if it
// does not converge. It returns how long convergence took.
func (c *Cluster) Converge() (time.Duration, bool) {
	start := c.now
	if c.RunUntil(c.now.Add(c.ConvergeBound()), c.Converged) {
		return c.now.Sub(start), true
	}
	var b strings.Builder
	for _, nd := range c.nodes {
		if nd.alive {
			fmt.Fprintf(&b, " %s:%d/%s%v", nd.name, nd.view.Number, nd.view.Coordinator, nd.view.Members)
		}
	}
	c.violate("no convergence within %v after heal:%s", c.ConvergeBound(), b.String())
	return c.now.Sub(start), false
}

// Stabilize runs until no view was installed for a quiet period (bounded by limit) and
// returns whether it got quiet.
func (c *Cluster) Stabilize(limit time.Duration) bool {
	quiet := c.opts.Link.Deadtime + c.mcfg[0].HoldDown + 2*c.mcfg[0].ProposeTimeout
	deadline := c.now.Add(limit)
	c.lastInstall = c.now
	for c.now.Before(deadline) {
		next := c.lastInstall.Add(quiet)
		if next.After(deadline) {
			next = deadline
		}
		c.RunUntil(next, nil)
		if c.now.Sub(c.lastInstall) >= quiet {
			return true
		}
	}
	return false
}
