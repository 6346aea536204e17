package pengine

import (
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

func (s *sched) unpackStatus() {
	st := s.section("status")
	if st == nil {
		return
	}
	var states []*etree.Element
	s.nodeStates = st.SelectElements("node_state")
	for _, ns := range s.nodeStates {
		id := ns.SelectAttrValue("id", "")
		uname := ns.SelectAttrValue("uname", "")
		n := s.nodeByID[id]
		if n == nil {
			n = s.nodeByUname[uname]
		}
		if n == nil || n.hasState {
			continue
		}
		n.hasState = true
		states = append(states, ns)
		// transient attributes
		for _, ta := range ns.SelectElements("transient_attributes") {
			s.unpackNV(s.nvBlocks([]*etree.Element{ta}, "instance_attributes", ""), n.Attrs, &ruleCtx{now: s.now}, true)
			um := map[string]string{}
			s.unpackNV(s.nvBlocks([]*etree.Element{ta}, "utilization", ""), um, &ruleCtx{now: s.now}, true)
			for k, v := range um {
				n.Utilization[k] = parseUtil(v)
			}
		}
		if v, ok := n.Attrs["standby"]; ok && isTrue(v) {
			n.Standby = true
		}
		if v, ok := n.Attrs["maintenance"]; ok && isTrue(v) {
			n.Maintenance = true
		}
		if v, ok := n.Attrs["resource-discovery-enabled"]; ok && !isTrue(v) {
			n.discoveryDisabled = true
		}
		n.Unclean = false
		n.Unseen = false
		s.determineOnline(ns, n)
	}
	// history: nodes in status order; without fencing, online nodes first
	done := map[*Node]bool{}
	pass := func(all bool) {
		for _, ns := range states {
			n := s.nodeByID[ns.SelectAttrValue("id", "")]
			if n == nil {
				n = s.nodeByUname[ns.SelectAttrValue("uname", "")]
			}
			if n == nil || done[n] {
				continue
			}
			// Pacemaker's unpack_node_history: without fencing, the
			// history of an offline node is never unpacked (what ran
			// there is assumed stopped), in either pass.
			if !s.fencingEnabled && !n.Online {
				continue
			}
			done[n] = true
			s.unpackNodeLRM(n, ns)
		}
	}
	pass(false)
	pass(true)
}

func (s *sched) nodeStandbyConfig(n *Node) {}

func shutdownRequested(n *Node) bool {
	v, ok := n.Attrs["shutdown"]
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	return v != "" && v != "0"
}

func (s *sched) unpackMember(ns *etree.Element) int64 {
	v := ns.SelectAttr("in_ccm")
	if v == nil {
		return -1
	}
	if b, ok := parseBool(v.Value); ok {
		if b {
			if s.now > 0 {
				return s.now
			}
			return 1
		}
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func unpackOnline(ns *etree.Element) int64 {
	v := ns.SelectAttrValue("crmd", "")
	switch strings.ToLower(v) {
	case "", "offline":
		return 0
	case "online":
		return 1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (s *sched) determineOnline(ns *etree.Element, n *Node) {
	exp := ns.SelectAttrValue("expected", "")
	n.Shutdown = false
	n.ExpectedUp = false
	if shutdownRequested(n) {
		n.Shutdown = true
	} else if strings.EqualFold(exp, "member") {
		n.ExpectedUp = true
	}
	var online bool
	if !s.fencingEnabled {
		online = s.onlineNoFencing(ns, n)
	} else {
		online = s.onlineFencing(ns, n)
	}
	n.Online = online
}

func (s *sched) onlineNoFencing(ns *etree.Element, n *Node) bool {
	join := ns.SelectAttrValue("join", "")
	member := s.unpackMember(ns)
	on := unpackOnline(ns)
	if member <= 0 {
		return false
	}
	if on > 0 {
		return strings.EqualFold(join, "member")
	}
	if n.ExpectedUp {
		s.fenceNode(n, "peer is unexpectedly down", false)
	}
	return false
}

func (s *sched) onlineFencing(ns *etree.Element, n *Node) bool {
	join := ns.SelectAttrValue("join", "")
	exp := ns.SelectAttr("expected")
	member := s.unpackMember(ns)
	on := unpackOnline(ns)
	terminate := false
	if v, ok := n.Attrs["terminate"]; ok {
		if b, ok := parseBool(v); ok {
			terminate = b
		} else if x, err := strconv.Atoi(v); err == nil && x > 0 {
			terminate = true
		}
	}
	if n.Shutdown && member >= 0 {
		if on > 0 && member > 0 {
			return true
		}
		return false
	}
	if member < 0 {
		s.fenceNode(n, "peer has not been seen by the cluster", false)
		return false
	}
	switch {
	case join == "banned":
		s.fenceNode(n, "peer failed Pacemaker membership criteria", false)
	case terminate:
		if member <= 0 && on <= 0 && join == "down" {
			return false
		}
		s.fenceNode(n, "fencing was requested", false)
	case exp == nil || exp.Value == "down":
		if s.pendingTooLong(member, on) {
			s.fenceNode(n, "peer pending timed out on joining the process group", false)
		} else if member > 0 || on > 0 {
			n.Standby = true
			n.Pending = true
		}
	case member <= 0:
		s.fenceNode(n, "peer is no longer part of the cluster", true)
	case on <= 0:
		s.fenceNode(n, "peer process is no longer available", false)
	case join == "member":
	case join == "pending" || join == "down":
		n.Standby = true
		n.Pending = true
	default:
		s.fenceNode(n, "peer was in an unknown state", false)
	}
	return member > 0
}

// ------------------------------------------------------------------ history

// histOp is one lrm_rsc_op history entry in the compact form the
// scheduler reads: the parsed numbers plus the few raw attributes consulted
// later (digests, call-id). It holds no reference to the XML element, so
// ParseInput can build it without an etree element.
type histOp struct {
	id        string
	task      string
	key       string
	callIDRaw string // call-id as written ("" when absent)
	digest    string // op-digest
	// rare is set when the entry has a restart or secure digest or a
	// force-restart list (has says which)
	rare     *histRare
	interval int64
	lastChg  int64
	rc       int
	status   int
	expected int
	callID   int
	has      uint8 // hasXxx bits: which optional attributes were present
}

// histRare holds the attributes only some history entries need.
type histRare struct {
	restartDigest string // op-restart-digest
	forceRestart  string // op-force-restart
	secureDigest  string // op-secure-digest
	secureParams  string // op-secure-params (default " passwd password user ")
	featureSet    string // crm_feature_set
	migSource     string // migrate_source
	migTarget     string // migrate_target
}

const (
	hasDigest uint8 = 1 << iota
	hasRestartDigest
	hasForceRestart
	hasSecureDigest
	hasLastRC
	hasMigrate // migrate_source or migrate_target present (in rare)
)

// histRaw collects an lrm_rsc_op's attributes (first occurrence wins, as
// with etree's SelectAttr) before they are turned into a histOp.
type histRaw struct {
	seen     uint32
	interval string
	rc       string
	status   string
	callID   string
	lastRC   string
	lastRun  string
	tkey     string
	tmagic   string
	rare     histRare
}

// Bits of histRaw.seen, one per attribute histRaw.set tracks.
const (
	haID uint32 = 1 << iota
	haOperation
	haInterval
	haRC
	haStatus
	haCallID
	haLastRC
	haLastRun
	haTKey
	haTMagic
	haOpKey
	haDigest
	haRestartDigest
	haForceRestart
	haSecureDigest
	haSecureParams
	haFeatureSet
	haMigSource
	haMigTarget
)

// first marks bit as seen and reports whether it was new.
func (raw *histRaw) first(bit uint32) bool {
	if raw.seen&bit != 0 {
		return false
	}
	raw.seen |= bit
	return true
}

// set records one attribute (its name without any prefix) of the entry.
func (raw *histRaw) set(h *histOp, k, v string) {
	switch k {
	case "id":
		if raw.first(haID) {
			h.id = v
		}
	case "operation":
		if raw.first(haOperation) {
			h.task = v
		}
	case "interval":
		if raw.first(haInterval) {
			raw.interval = v
		}
	case "rc-code":
		if raw.first(haRC) {
			raw.rc = v
		}
	case "op-status":
		if raw.first(haStatus) {
			raw.status = v
		}
	case "call-id":
		if raw.first(haCallID) {
			raw.callID = v
			h.callIDRaw = v
		}
	case "last-rc-change":
		if raw.first(haLastRC) {
			raw.lastRC = v
			h.has |= hasLastRC
		}
	case "last-run":
		if raw.first(haLastRun) {
			raw.lastRun = v
		}
	case "transition-key":
		if raw.first(haTKey) {
			raw.tkey = v
		}
	case "transition-magic":
		if raw.first(haTMagic) {
			raw.tmagic = v
		}
	case "operation_key":
		if raw.first(haOpKey) {
			h.key = v
		}
	case "op-digest":
		if raw.first(haDigest) {
			h.digest = v
			h.has |= hasDigest
		}
	case "op-restart-digest":
		if raw.first(haRestartDigest) {
			raw.rare.restartDigest = v
			h.has |= hasRestartDigest
		}
	case "op-force-restart":
		if raw.first(haForceRestart) {
			raw.rare.forceRestart = v
			h.has |= hasForceRestart
		}
	case "op-secure-digest":
		if raw.first(haSecureDigest) {
			raw.rare.secureDigest = v
			h.has |= hasSecureDigest
		}
	case "op-secure-params":
		if raw.first(haSecureParams) {
			raw.rare.secureParams = v
		}
	case "crm_feature_set":
		if raw.first(haFeatureSet) {
			raw.rare.featureSet = v
		}
	case "migrate_source":
		if raw.first(haMigSource) {
			raw.rare.migSource = v
			h.has |= hasMigrate
		}
	case "migrate_target":
		if raw.first(haMigTarget) {
			raw.rare.migTarget = v
			h.has |= hasMigrate
		}
	}
}

// get returns the attribute value v (with bit bit) or def when absent.
func (raw *histRaw) get(bit uint32, v, def string) string {
	if raw.seen&bit == 0 {
		return def
	}
	return v
}

// finish computes the parsed fields of h from the collected attributes.
func (raw *histRaw) finish(h *histOp) {
	if h.has&(hasRestartDigest|hasForceRestart|hasSecureDigest|hasMigrate) != 0 {
		rare := raw.rare
		if raw.seen&haSecureParams == 0 {
			rare.secureParams = " passwd password user "
		}
		h.rare = &rare
	}
	iv := raw.get(haInterval, raw.interval, "0")
	if ms, ok := parseIntervalMS(iv); ok {
		h.interval = ms
		// history intervals are in ms already
		if v, err := strconv.ParseInt(iv, 10, 64); err == nil {
			h.interval = v
		}
	}
	h.rc, _ = strconv.Atoi(raw.get(haRC, raw.rc, "0"))
	h.status, _ = strconv.Atoi(raw.get(haStatus, raw.status, "0"))
	h.callID, _ = strconv.Atoi(raw.get(haCallID, raw.callID, "0"))
	h.lastChg, _ = strconv.ParseInt(raw.get(haLastRC, raw.lastRC, raw.get(haLastRun, raw.lastRun, "0")), 10, 64)
	h.expected = -1
	if tk := raw.get(haTKey, raw.tkey, ""); tk != "" {
		if f, ok := thirdField(tk); ok {
			if v, err := strconv.Atoi(f); err == nil {
				h.expected = v
			}
		}
	} else if tm := raw.get(haTMagic, raw.tmagic, ""); tm != "" {
		if i := strings.Index(tm, ";"); i >= 0 {
			if f, ok := thirdField(tm[i+1:]); ok {
				if v, err := strconv.Atoi(f); err == nil {
					h.expected = v
				}
			}
		}
	}
}

// thirdField returns the third ':'-separated field of s, if s has one
// (like strings.Split(s, ":")[2], without allocating).
func thirdField(s string) (string, bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", false
	}
	s = s[i+1:]
	i = strings.IndexByte(s, ':')
	if i < 0 {
		return "", false
	}
	s = s[i+1:]
	if i = strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s, true
}

// histOpFromAttrs builds a history entry from an lrm_rsc_op's attributes
// into h.
func histOpFromAttrs(h *histOp, attrs []etree.Attr) {
	var raw histRaw
	for _, a := range attrs {
		// like etree's SelectAttr, a plain name matches any prefix
		raw.set(h, a.Key, a.Value)
	}
	raw.finish(h)
}

func (s *sched) parseHistOp(e *etree.Element) *histOp {
	h := &histOp{}
	histOpFromAttrs(h, e.Attr)
	return h
}

func sortHistory(ops []*histOp) {
	slices.SortStableFunc(ops, func(a, b *histOp) int {
		if histBefore(a, b) {
			return -1
		}
		if histBefore(b, a) {
			return 1
		}
		return 0
	})
}

// histBefore orders history entries: by call id (then change time), those
// with call id -1 (pending) last by change time. An entry with a call id
// and op-status -1 sorts by its call id, as in Pacemaker.
func histBefore(a, b *histOp) bool {
	ap, bp := a.callID == -1, b.callID == -1
	if ap != bp {
		return !ap
	}
	if a.callID != b.callID && !ap {
		return a.callID < b.callID
	}
	return a.lastChg < b.lastChg
}

func (s *sched) unpackNodeLRM(n *Node, ns *etree.Element) {
	lrm := ns.SelectElement("lrm")
	if lrm == nil {
		return
	}
	lr := lrm.SelectElement("lrm_resources")
	if lr == nil {
		return
	}
	for _, re := range lr.SelectElements("lrm_resource") {
		s.unpackLRMResource(n, re)
	}
}

func stripClone(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		if _, err := strconv.Atoi(id[i+1:]); err == nil {
			return id[:i]
		}
	}
	return id
}

func (s *sched) findRscForHistory(id string, n *Node) *Resource {
	r, ok := s.rscByID[id]
	if ok && !r.isPrimitive() {
		return nil
	}
	if !ok {
		c0, ok0 := s.rscByID[stripClone(id)+":0"]
		if !ok0 || c0.top().Unique || !c0.isPrimitive() {
			return nil
		}
		r = c0
	}
	parent := r.top()
	if parent.isClone() && !parent.Unique {
		r = s.findAnonymousClone(n, parent, stripClone(id))
	}
	if r != nil && r.ID != id {
		r.cloneName = id
	}
	return r
}

func memberByBase(inst *Resource, base string) *Resource {
	for _, p := range inst.primitives(nil) {
		if stripClone(p.ID) == base {
			return p
		}
	}
	return nil
}

func instanceLocations(inst *Resource) []*Node {
	var out []*Node
	for _, p := range inst.primitives(nil) {
		for _, n := range p.RunningOn {
			found := false
			for _, x := range out {
				if x == n {
					found = true
				}
			}
			if !found {
				out = append(out, n)
			}
		}
	}
	return out
}

func (s *sched) findAnonymousClone(n *Node, parent *Resource, base string) *Resource {
	var rsc, inactive *Resource
	skipInactive := false
	for _, child := range parent.Children {
		if rsc != nil {
			break
		}
		locs := instanceLocations(child)
		if len(locs) > 0 {
			if locs[0] == n {
				rsc = memberByBase(child, base)
				if rsc != nil && len(rsc.RunningOn) > 0 {
					skipInactive = true
					rsc = nil
				}
			}
		} else if !skipInactive && inactive == nil && !child.Blocked {
			inactive = memberByBase(child, base)
		}
	}
	if rsc == nil && !skipInactive && inactive != nil {
		rsc = inactive
	}
	if rsc != nil && !rsc.NeedsFencing && (!n.Online || n.Unclean) && parent.cloneMax < len(s.nodes) {
		rsc = nil
	}
	if rsc == nil {
		inst := s.newCloneInstance(parent, len(parent.Children), true)
		if inst == nil {
			return nil
		}
		rsc = memberByBase(inst, base)
	}
	return rsc
}

func (s *sched) orphanResource(re *etree.Element, n *Node) *Resource {
	id := re.SelectAttrValue("id", "")
	e := etree.NewElement("primitive")
	e.CreateAttr("id", id)
	for _, a := range []string{"class", "provider", "type"} {
		if v := re.SelectAttr(a); v != nil {
			e.CreateAttr(a, v.Value)
		}
	}
	r := s.unpackPrimitive(e, nil)
	if r == nil {
		return nil
	}
	r.Orphan = true
	for i := range r.allowed {
		r.allowed[i] = absent
	}
	if !s.stopOrphanRsc {
		r.Managed = false
	}
	for _, nn := range s.nodes {
		s.resourceLocation(r, nn, -Infinity)
	}
	s.resources = append(s.resources, r)
	return r
}

func (s *sched) unpackLRMResource(n *Node, re *etree.Element) {
	id := re.SelectAttrValue("id", "")
	if id == "" {
		return
	}
	// history kept out of the tree by ParseInput comes first: elements
	// in the tree after it were added later (injected)
	// (kept slices are capacity-limited, so appending copies them)
	ops, cached := s.lrmOpsCache[re]
	if !cached {
		ops = s.compactHist[re]
		for _, e := range re.ChildElements() {
			if e.Tag == "lrm_rsc_op" {
				ops = append(ops, s.parseHistOp(e))
			}
		}
	}
	if len(ops) == 0 {
		return
	}
	if !cached && hasMigrationOp(ops) {
		// the migration look-ups must see these same entries, in
		// document order
		s.cacheLRMOps(re, ops)
		cached = true
	}
	if cached {
		ops = slices.Clone(ops)
	}
	r := s.findRscForHistory(id, n)
	if r == nil {
		if x, exists := s.rscByID[id]; exists && !x.isPrimitive() {
			return // a non-primitive with that id: ignore
		}
		r = s.orphanResource(re, n)
		if r == nil {
			return
		}
	}
	r.historyRsc[n.index] = re
	r.histOps[n.index] = ops
	r.lrmClass = re.SelectAttrValue("class", "")
	savedRole := r.Role
	r.Role = RoleUnknown
	sortHistory(ops)
	onFail := "ignore"
	var lastFailure *histOp
	for _, op := range ops {
		s.unpackRscOp(r, n, op, &lastFailure, &onFail)
	}
	start, stop := calculateActiveOps(ops)
	s.processRecurring(n, r, start, stop, ops)
	s.processRscState(r, n, onFail)
	if n.Maintenance && r.Role > RoleStopped {
		r.Managed = false
		r.Maintenance = true
	}
	if tr, ok := r.Meta["target-role"]; ok {
		role := parseRole(tr)
		valid := role != RoleUnknown && !strings.EqualFold(tr, "started")
		if role > RoleStarted && (!r.top().Promotable || role > RoleUnpromoted) {
			valid = false
		}
		if valid && (r.NextRole == RoleUnknown || role < r.NextRole) {
			r.NextRole = role
		}
	}
	if r.Role == RoleStarted && r.top().Promotable {
		r.Role = RoleUnpromoted
	}
	if savedRole > r.Role {
		r.Role = savedRole
	}
}

func calculateActiveOps(ops []*histOp) (int, int) {
	start, stop := -1, -1
	impliedMon, impliedClone := -1, -1
	for i, op := range ops {
		switch {
		case op.task == "stop" && op.status == 0:
			stop = i
		case op.task == "start" || op.task == "migrate_from":
			start = i
		case impliedMon <= stop && op.task == "monitor":
			if op.rc == 0 || op.rc == 8 {
				impliedMon = i
			}
		case op.task == "promote" || op.task == "demote":
			impliedClone = i
		}
	}
	if start == -1 {
		if impliedClone != -1 {
			start = impliedClone
		} else if impliedMon != -1 {
			start = impliedMon
		}
	}
	return start, stop
}

func (s *sched) processRecurring(n *Node, r *Resource, start, stop int, ops []*histOp) {
	for i, op := range ops {
		if !n.Online {
			break
		}
		if start < stop && i <= stop {
			continue
		}
		if i < start {
			continue
		}
		if op.interval == 0 {
			continue
		}
		if op.status == -1 {
			continue
		}
		s.customAction(r, opKey(r.ID, op.task, op.interval), op.task, n, true)
	}
}

func (r *Resource) setActive() {
	if r.top().Promotable {
		r.Role = RoleUnpromoted
	} else {
		r.Role = RoleStarted
	}
}

var onFailRank = map[string]int{"ignore": 0, "demote": 1, "restart": 2, "restart-container": 3, "ban": 4, "block": 5, "stop": 6, "standby": 7, "fence": 8}

func (s *sched) onFailFor(r *Resource, task string, interval int64) string {
	cfg := s.findOpConfig(r, task, interval, true)
	if cfg == nil && task == "monitor" && interval == 0 {
		cfg = nil
	}
	var v string
	if cfg != nil {
		v = cfg.SelectAttrValue("on-fail", "")
		if v == "" {
			m := map[string]string{}
			s.unpackNV(s.nvBlocks([]*etree.Element{cfg}, "meta_attributes", ""), m, nil, false)
			v = m["on-fail"]
		}
	}
	if v == "" {
		m := map[string]string{}
		s.unpackNV(s.opDefaults, m, &ruleCtx{now: s.now, hasOp: true, opName: task, opIntvl: interval, hasRsc: true, rscClass: r.Class, rscProv: r.Provider, rscType: r.Type}, false)
		v = m["on-fail"]
	}
	switch v {
	case "ignore", "restart", "block", "standby", "demote", "restart-container":
	case "stop":
	case "fence":
		if !s.fencingEnabled {
			v = "stop"
		}
	default:
		v = ""
	}
	if v == "demote" && task != "promote" && !(task == "monitor" && interval > 0) {
		v = ""
	}
	if v == "" {
		if task == "stop" {
			if s.fencingEnabled {
				v = "fence"
			} else {
				v = "block"
			}
		} else {
			v = "restart"
		}
	}
	return v
}

func (s *sched) resourceLocation(r *Resource, n *Node, score int) {
	if n == nil {
		for _, nn := range s.nodes {
			s.resourceLocation(r, nn, score)
		}
		return
	}
	for _, c := range r.Children {
		s.resourceLocation(c, n, score)
	}
	if r.allowed[n.index] == absent {
		r.allowed[n.index] = s.nodeBaseWeight(n)
	}
	r.allowed[n.index] = addScores(r.allowed[n.index], score)
}

func (s *sched) nodeBaseWeight(n *Node) int {
	if !n.Online || n.Shutdown {
		if n.hasState || !n.Unseen {
			return -Infinity
		}
	}
	return 0
}

func isProbe(op *histOp) bool { return op.task == "monitor" && op.interval == 0 }

// failcount returns the effective fail count of r on n and the newest
// failure time.
type failInfo struct {
	count int
	last  int64
}

// nodeFailures indexes a node's fail-count and last-failure attributes by
// resource id (computed once per node).
func (s *sched) nodeFailures(n *Node) map[string]*failInfo {
	if n.failures != nil {
		return n.failures
	}
	n.failures = map[string]*failInfo{}
	for _, k := range sortedKeys(n.Attrs) {
		var id string
		isCount := false
		switch {
		case strings.HasPrefix(k, "fail-count-"):
			id, isCount = k[len("fail-count-"):], true
		case strings.HasPrefix(k, "last-failure-"):
			id = k[len("last-failure-"):]
		default:
			continue
		}
		if i := strings.IndexByte(id, '#'); i >= 0 {
			id = id[:i]
		}
		fi := n.failures[id]
		if fi == nil {
			fi = &failInfo{}
			n.failures[id] = fi
		}
		v := n.Attrs[k]
		if isCount {
			fi.count = addScores(fi.count, parseScore(v, 0))
		} else if t, _ := strconv.ParseInt(v, 10, 64); t > fi.last {
			fi.last = t
		}
	}
	return n.failures
}

func (s *sched) failcount(r *Resource, n *Node, effective bool) (int, int64) {
	ids := []string{r.ID}
	if i := strings.LastIndex(r.ID, ":"); i > 0 && !r.top().Unique {
		ids = append(ids, r.ID[:i])
	}
	total := 0
	var last int64
	fm := s.nodeFailures(n)
	for _, id := range ids {
		if fi := fm[id]; fi != nil {
			total = addScores(total, fi.count)
			if fi.last > last {
				last = fi.last
			}
		}
	}
	if effective && r.FailureTimeout > 0 && last > 0 && total > 0 {
		if s.now > last+r.FailureTimeout && !s.failureTimeoutIgnored(r) {
			total = 0
		}
	}
	return total, last
}

func (s *sched) failureTimeoutIgnored(r *Resource) bool {
	for _, op := range r.ops {
		if op.SelectAttrValue("on-fail", "") == "block" {
			return true
		}
	}
	return false
}

func (s *sched) checkExpiry(r *Resource, n *Node, op *histOp) bool {
	if op.status == 7 {
		return false
	}
	expired := false
	if r.FailureTimeout > 0 && op.has&hasLastRC != 0 {
		lastRun := op.lastChg
		if s.now >= lastRun+r.FailureTimeout && !(op.interval > 0 && s.failureTimeoutIgnored(r)) {
			expired = true
		}
		unexpired, last := s.failcount(r, n, true)
		if unexpired > 0 && s.now < last+r.FailureTimeout+1 {
			t := last + r.FailureTimeout + 1
			if s.recheckBy == 0 || t < s.recheckBy {
				s.recheckBy = t
			}
		}
		if expired {
			all, _ := s.failcount(r, n, false)
			if all > 0 {
				if unexpired == 0 {
					s.clearFailcount(r, n, "it expired")
				} else {
					expired = false
				}
			}
		}
	}
	if expired && isProbe(op) {
		switch op.rc {
		case 0, 7, 8, 190, 191:
			expired = false
		}
	}
	return expired
}

const (
	execDone       = 0
	execPending    = -1
	execError      = 4
	execErrorHard  = 5
	execErrorFatal = 6
	execNotInst    = 7
	execTimeout    = 2
	execNotSupp    = 3
)

func (s *sched) unpackRscOp(r *Resource, n *Node, op *histOp, lastFailure **histOp, onFail *string) {
	switch op.task {
	case "monitor", "start", "stop", "promote", "demote", "migrate_to", "migrate_from":
	default:
		if op.status != execDone || op.rc == op.expected {
			return
		}
	}
	if op.status == execPending || op.callID == -1 {
		switch op.task {
		case "start":
			r.StartPending = true
			r.setActive()
		case "promote":
			r.Role = RolePromoted
		case "migrate_to":
			r.setActive()
			if n.Unclean {
				// the migration may have reached the target: stop it
				// there too
				if t := s.findNode(op.migTarget()); t != nil {
					s.stopAction(r, t, false)
				}
			}
		}
		if r.pendingTask == "" && (op.interval != 0 || op.task != "monitor") {
			// pending probes are never shown
			r.pendingTask = op.task
			r.pendingNode = n
		}
		return
	}
	rc := op.rc
	status := op.status
	if rc == 190 {
		rc = 0
	}
	if rc == 191 {
		rc = 8
	}
	expired := s.checkExpiry(r, n, op)
	probe := isProbe(op)
	// masked probe failures
	if probe && (rc == 5 || rc == 2 || status == execNotInst) {
		status = execDone
		rc = 7
		s.resourceLocation(r.top(), n, -Infinity)
	}
	// remap
	switch status {
	case execDone, execError:
		if op.expected < 0 {
			status = execError
		} else if rc == op.expected {
			status = execDone
		} else {
			status = execError
		}
		switch rc {
		case 0:
			if probe && op.expected == 7 {
				status = execDone
			}
		case 7:
			if probe || op.expected == rc || !r.Managed {
				status = execDone
				r.Role = RoleStopped
				*onFail = "ignore"
				r.NextRole = RoleUnknown
			}
		case 8:
			if probe && rc != op.expected {
				status = execDone
			}
			if !expired || rc == op.expected {
				r.Role = RolePromoted
			}
		case 9:
			if !expired {
				r.Role = RolePromoted
			}
			status = execError
		case 6:
			status = execErrorFatal
		case 3:
			if op.interval == 0 {
				status = execErrorHard
			} else {
				status = execNotSupp
			}
		case 5, 2, 4:
			status = execErrorHard
		default:
			if rc != op.expected && status == execDone {
				status = execError
			}
		}
	case 8, 9:
		status = execErrorHard
	}
	if expired && rc != op.expected && status != execDone {
		if op.interval == 0 {
			return
		}
		return
	}
	switch status {
	case execDone:
		s.updateResourceState(r, n, op, rc, *lastFailure, onFail)
		return
	case execNotInst:
		strat := s.onFailFor(r, op.task, op.interval)
		if strat == "ignore" {
			*onFail = "ban"
		}
		s.resourceLocation(r.top(), n, -Infinity)
		s.unpackFailure(r, n, op, rc, strat, lastFailure, onFail)
		return
	}
	strat := s.onFailFor(r, op.task, op.interval)
	if strat == "ignore" {
		s.updateResourceState(r, n, op, op.expected, *lastFailure, onFail)
		r.IgnoreFailure = true
		r.failedOn = append(r.failedOn, n)
		return
	}
	s.unpackFailure(r, n, op, rc, strat, lastFailure, onFail)
	if status == execErrorHard {
		s.resourceLocation(r.top(), n, -Infinity)
	} else if status == execErrorFatal {
		s.resourceLocation(r.top(), nil, -Infinity)
	}
}

func (s *sched) unpackFailure(r *Resource, n *Node, op *histOp, rc int, strat string, lastFailure **histOp, onFail *string) {
	*lastFailure = op
	r.failedOn = append(r.failedOn, n)
	if onFailRank[*onFail] < onFailRank[strat] {
		*onFail = strat
	}
	switch op.task {
	case "stop":
		s.resourceLocation(r, n, -Infinity)
	case "migrate_to":
		s.unpackMigrateToFailure(r, n, op)
	case "migrate_from":
		s.unpackMigrateFromFailure(r, n, op)
	case "promote":
		r.Role = RolePromoted
	case "demote":
		if strat == "block" {
			r.Role = RolePromoted
			r.NextRole = RoleStopped
		} else if rc == 7 {
			r.Role = RoleStopped
		} else {
			r.Role = RoleUnpromoted
		}
	}
	if isProbe(op) && rc == 7 {
		r.Role = RoleStopped
	} else if r.Role < RoleStarted {
		r.setActive()
	}
}

func (s *sched) updateResourceState(r *Resource, n *Node, op *histOp, rc int, lastFailure *histOp, onFail *string) {
	clear := false
	switch {
	case rc == 5 || (isProbe(op) && (op.rc == 5 || op.rc == 2)):
		r.Role = RoleStopped
	case rc == 7:
		clear = true
	case op.task == "monitor":
		if lastFailure != nil && lastFailure.opKey() == op.opKey() {
			clear = true
		}
		if r.Role < RoleStarted {
			r.setActive()
		}
	case op.task == "start":
		r.Role = RoleStarted
		clear = true
	case op.task == "stop":
		r.Role = RoleStopped
		clear = true
	case op.task == "promote":
		r.Role = RolePromoted
		clear = true
	case op.task == "demote":
		if *onFail == "demote" {
			clear = true
		}
		r.Role = RoleUnpromoted
	case op.task == "migrate_from":
		r.Role = RoleStarted
		clear = true
	case op.task == "migrate_to":
		s.unpackMigrateToSuccess(r, n, op)
	default:
		if r.Role < RoleStarted {
			r.setActive()
		}
	}
	if !clear {
		return
	}
	switch *onFail {
	case "block", "ignore", "demote", "restart", "restart-container":
		*onFail = "ignore"
		r.NextRole = RoleUnknown
	}
}

func (h *histOp) opKey() string {
	if h.key != "" {
		return h.key
	}
	return h.task + "_" + strconv.FormatInt(h.interval, 10)
}

func (s *sched) processRscState(r *Resource, n *Node, onFail string) {
	if r.Role != RoleUnknown {
		r.knownOn[n.index] = true
		if r.Parent != nil && !r.top().Unique {
			r.top().knownOn[n.index] = true
		}
	}
	if r.Role > RoleStopped && !n.Online && !n.Maintenance && r.Managed {
		if s.fencingEnabled {
			s.fenceNode(n, r.ID+" is thought to be active there", false)
		}
	}
	// Pacemaker keeps the failure for the node priority of
	// priority-fencing-delay even on an unclean node.
	failed := onFail != "ignore"
	if n.Unclean {
		onFail = "ignore"
	}
	switch onFail {
	case "demote":
		r.Failed = true
		s.demoteAction(r, n, false)
	case "fence":
		s.fenceNode(n, r.ID+" failed there", false)
	case "standby":
		n.Standby = true
		n.StandbyOnFail = true
	case "block":
		r.Managed = false
		r.Blocked = true
	case "ban":
		s.resourceLocation(r, n, -Infinity)
	case "stop":
		r.NextRole = RoleStopped
		r.nextRoleReason = "on-fail=stop"
		s.resourceLocation(r, nil, -Infinity)
	case "restart":
		if r.Role != RoleStopped && r.Role != RoleUnknown {
			r.Failed = true
			r.StopIfFailed = true
			s.stopAction(r, n, false)
		}
	}
	if r.Role != RoleStopped && r.Role != RoleUnknown {
		s.addRunning(r, n, failed)
		switch onFail {
		case "ignore":
		case "demote", "block":
			r.Failed = true
		default:
			r.Failed = true
			r.StopIfFailed = true
		}
	} else if strings.Contains(r.cloneName, ":") {
		// an old-style history name with an instance number: stopped
		// here, so it no longer names this instance (Pacemaker resets
		// clone_name, else stopped instances would look orphaned)
		r.cloneName = ""
	} else {
		// stopped here: a stop scheduled during unpacking (a pending
		// migration on an unclean node) is not needed
		for _, a := range s.rscActions(r, n, "stop", true) {
			a.set(afOptional)
		}
	}
	// A successful stop after migrate_to on the source does not make the
	// partially migrated resource stopped on the target.
	if r.Role == RoleStopped && r.partialMigrationSrc == n && r.partialMigrationTgt != nil && len(r.RunningOn) > 0 {
		r.Role = RoleStarted
	}
}

func (s *sched) addRunning(r *Resource, n *Node, failed bool) {
	for _, x := range r.RunningOn {
		if x == n {
			return
		}
	}
	r.RunningOn = append(r.RunningOn, n)
	n.running = append(n.running, r)
	if r.isPrimitive() && r.Priority != 0 && !failed {
		// Pacemaker's native_priority_to_node.
		if r.Role == RolePromoted {
			n.priority += r.Priority + 1
		} else {
			n.priority += r.Priority
		}
	}

	if r.Parent != nil {
		for p := r.Parent; p != nil; p = p.Parent {
			found := false
			for _, x := range p.RunningOn {
				if x == n {
					found = true
				}
			}
			if !found {
				p.RunningOn = append(p.RunningOn, n)
			}
		}
	}
	if !r.Managed {
		// pin unmanaged resources where they run
		s.resourceLocation(r, n, Infinity)
	}
	if len(r.RunningOn) > 1 && r.Managed {
		switch r.RecoveryType {
		case "stop_only":
			for i := range r.allowed {
				if r.allowed[i] != absent {
					r.allowed[i] = -Infinity
				}
			}
		case "block":
			r.Managed = false
			r.Blocked = true
		}
	}
}

func (s *sched) pendingTooLong(member, on int64) bool {
	v, ok := s.opts["node-pending-timeout"]
	if !ok {
		return false
	}
	ms, ok := parseIntervalMS(v)
	if !ok || ms <= 0 || member <= 0 || on > 0 {
		return false
	}
	timeout := member + ms/1000
	if s.now >= timeout {
		return true
	}
	if s.recheckBy == 0 || timeout < s.recheckBy {
		s.recheckBy = timeout
	}
	return false
}
