package pengine

import (
	"sort"
	"strings"
)

// applyNodeCriteria: locations, stickiness, failure thresholds, discovery.
func (s *sched) applyNodeCriteria() {
	s.applyHealth()
	for _, loc := range s.locations {
		s.applyLocation(loc.rsc, loc)
	}
	for _, r := range s.resources {
		s.applyStickiness(r)
	}
	for _, n := range s.nodes {
		for _, r := range s.resources {
			s.checkThreshold(r, n)
			s.applyExclusiveDiscovery(r, n)
		}
	}
}

func (s *sched) applyExclusiveDiscovery(r *Resource, n *Node) {
	top := r.top()
	if r.ExclusiveDiscover || top.ExclusiveDiscover {
		if r.allowed[n.index] != absent && r.discover[n.index] != 2 {
			r.allowed[n.index] = -Infinity
		}
	}
	for _, c := range r.Children {
		s.applyExclusiveDiscovery(c, n)
	}
}

func (s *sched) applyHealth() {
	strategy := s.optString("node-health-strategy", "none")
	if strategy == "none" || strategy == "" {
		return
	}
	red := parseScore(s.optString("node-health-red", "-INFINITY"), -Infinity)
	yellow := parseScore(s.optString("node-health-yellow", "0"), 0)
	green := parseScore(s.optString("node-health-green", "0"), 0)
	for _, n := range s.nodes {
		score := 0
		for _, k := range sortedKeys(n.Attrs) {
			if !strings.HasPrefix(k, "#health") {
				continue
			}
			v := strings.ToLower(n.Attrs[k])
			var sc int
			switch v {
			case "red":
				sc = red
			case "yellow":
				sc = yellow
			case "green":
				sc = green
			default:
				sc = parseScore(v, 0)
			}
			switch strategy {
			case "migrate-on-red":
				if v == "red" {
					score = addScores(score, -Infinity)
				}
			case "only-green":
				if v == "red" || v == "yellow" {
					score = addScores(score, -Infinity)
				}
			default:
				score = addScores(score, sc)
			}
		}
		if score == 0 {
			continue
		}
		for _, r := range s.resources {
			if isTrue(r.Meta["allow-unhealthy-nodes"]) {
				continue
			}
			s.resourceLocation(r, n, score)
		}
	}
}

func (s *sched) applyLocation(r *Resource, loc *location) {
	if r.isGroup() {
		s.applyLocationPrim(r, loc, false)
		reset := r.groupColocated
		first := true
		for _, c := range r.Children {
			s.applyLocationPrim(c, loc, !first && reset)
			first = false
		}
		return
	}
	if r.isClone() {
		s.applyLocationPrim(r, loc, false)
		for _, c := range r.Children {
			s.applyLocation(c, loc)
		}
		return
	}
	s.applyLocationPrim(r, loc, false)
}

func (s *sched) applyLocationPrim(r *Resource, loc *location, zero bool) {
	if loc.role != RoleUnknown && loc.role != r.NextRole {
		return
	}
	for _, idx := range loc.order {
		sc := loc.nodes[idx]
		if zero {
			sc = 0
		}
		if r.allowed[idx] == absent {
			r.allowed[idx] = sc
		} else {
			r.allowed[idx] = addScores(r.allowed[idx], sc)
		}
		if r.discover[idx] < loc.discover {
			if loc.discover == 2 {
				r.ExclusiveDiscover = true
			}
			r.discover[idx] = loc.discover
		}
	}
}

func (s *sched) applyStickiness(r *Resource) {
	if len(r.Children) > 0 {
		for _, c := range r.Children {
			s.applyStickiness(c)
		}
		return
	}
	if !r.Managed || r.Stickiness < 1 || len(r.RunningOn) != 1 {
		return
	}
	n := r.RunningOn[0]
	if !s.symmetric && r.allowed[n.index] == absent {
		return
	}
	s.resourceLocation(r, n, r.Stickiness)
}

func (s *sched) checkThreshold(r *Resource, n *Node) {
	if len(r.Children) > 0 {
		for _, c := range r.Children {
			s.checkThreshold(c, n)
		}
		return
	}
	if len(s.findActions(r, opKey(r.ID, "clear_failcount", 0), nil)) > 0 {
		for _, a := range r.actionIdx[opKey(r.ID, "clear_failcount", 0)] {
			if a.Node == n {
				return
			}
		}
	}
	if r.MigrationThreshold == 0 || r.IgnoreFailure {
		return
	}
	fc, _ := s.failcount(r, n, true)
	if fc <= 0 {
		return
	}
	ban := r
	if !r.top().Unique && r.Parent != nil && r.top().isClone() {
		ban = r.top()
	}
	if r.MigrationThreshold-fc <= 0 {
		s.resourceLocation(ban, n, -Infinity)
	}
}

// ------------------------------------------------------------ colocations

func (s *sched) thisWithColocations(r *Resource) []*colocation {
	var out []*colocation
	out = append(out, r.thisWith...)
	if p := r.Parent; p != nil && p.isGroup() {
		if len(p.Children) > 0 && p.Children[0] == r {
			out = append(out, p.thisWith...)
			for _, m := range p.Children[1:] {
				for _, c := range m.thisWith {
					if c.explicit {
						out = append(out, c)
					}
				}
			}
		} else {
			for _, m := range p.Children {
				if m == r {
					break
				}
				if !m.Managed {
					for _, c := range p.thisWith {
						if c.score >= Infinity || c.score <= -Infinity {
							out = append(out, c)
						}
					}
					break
				}
			}
		}
		if pp := p.Parent; pp != nil {
			for _, c := range pp.thisWith {
				if c.explicit {
					out = append(out, c)
				}
			}
		}
	} else if p != nil {
		for _, c := range p.thisWith {
			if c.explicit {
				out = append(out, c)
			}
		}
	}
	return out
}

func (s *sched) withThisColocations(r *Resource) []*colocation {
	var out []*colocation
	out = append(out, r.withThis...)
	if p := r.Parent; p != nil && p.isGroup() {
		if p.lastMember() == r {
			out = append(out, p.withThis...)
			for _, m := range p.Children {
				if m != r {
					for _, c := range m.withThis {
						if c.explicit {
							out = append(out, c)
						}
					}
				}
			}
		}
	} else if p != nil {
		for _, c := range p.withThis {
			if c.explicit {
				out = append(out, c)
			}
		}
	}
	return out
}

func (s *sched) anyAvailable(table []int) bool {
	for i, v := range table {
		if v != absent && v >= 0 && s.nodes[i].available() {
			return true
		}
	}
	return false
}

func colocAttr(n *Node, attr string) (string, bool) {
	v, ok := n.Attrs[attr]
	return v, ok
}

// resolve group/clone primaries and dependents to primitives for scoring.
func (s *sched) colocPrimaryFor(p *Resource, c *colocation) *Resource {
	if p.isGroup() {
		if c.score >= Infinity {
			return p.lastMember()
		}
		if len(p.Children) > 0 {
			return p.Children[0]
		}
		return nil
	}
	return p
}

func (s *sched) colocationAffects(dep, pri *Resource, c *colocation, preview bool) int {
	if !preview && pri.unassigned {
		return 0
	}
	if !preview && !dep.unassigned {
		return 0
	}
	if c.dependentRole != RoleUnknown && c.dependentRole != dep.NextRole {
		return 0
	}
	if c.primaryRole != RoleUnknown && c.primaryRole != pri.NextRole {
		return 0
	}
	return 1
}

// applyColocToScores applies a colocation to a dependent's allowed scores.
func (s *sched) applyColoc(dep, pri *Resource, c *colocation) {
	if dep.isGroup() {
		if len(dep.Children) == 0 {
			return
		}
		dep = dep.Children[0]
	}
	if pri.isGroup() {
		if pri.unassigned {
			return
		}
		pri = s.colocPrimaryFor(pri, c)
		if pri == nil {
			return
		}
	}
	if pri.isClone() {
		s.applyColocWithClone(dep, pri, c)
		return
	}
	if s.colocationAffects(dep, pri, c, false) == 0 {
		return
	}
	var value string
	var hasValue bool
	if pri.AssignedTo != nil {
		value, hasValue = colocAttr(pri.AssignedTo, c.nodeAttr)
	} else if c.score < 0 {
		return
	}
	work := append([]int(nil), dep.allowed...)
	for i, w := range work {
		if w == absent {
			continue
		}
		if pri.AssignedTo == nil {
			work[i] = addScores(-c.score, w)
			continue
		}
		v, ok := colocAttr(s.nodes[i], c.nodeAttr)
		if ok && hasValue && strings.EqualFold(v, value) {
			if c.score < Infinity {
				work[i] = addScores(c.score, w)
			}
		} else if c.score >= Infinity {
			work[i] = -Infinity
		}
	}
	if c.score <= -Infinity || c.score >= Infinity || s.anyAvailable(work) {
		dep.allowed = work
	}
}

// applyColocWithClone: dependent primitive colocated with a clone.
func (s *sched) applyColocWithClone(dep, clone *Resource, c *colocation) {
	if clone.unassigned {
		return
	}
	if c.score >= Infinity {
		// the dependent can run only where the clone will have unblocked
		// instances (in the colocation's role)
		allowedHere := make([]bool, len(s.nodes))
		for _, inst := range clone.Children {
			n := inst.AssignedTo
			if n == nil && !inst.isPrimitive() {
				n = s.instanceNode(inst, false)
			}
			if n == nil || instanceBlocked(inst) {
				continue
			}
			role := inst.NextRole
			if !inst.isPrimitive() {
				if leaf := promotableLeaf(inst); leaf != nil {
					role = leaf.NextRole
				}
			}
			// roles matter only for a promotable primary
			if !clone.Promotable || c.primaryRole == RoleUnknown || c.primaryRole == role {
				allowedHere[n.index] = true
			}
		}
		for i := range dep.allowed {
			if dep.allowed[i] != absent && !allowedHere[i] {
				dep.allowed[i] = -Infinity
			}
		}
		return
	}
	for _, inst := range clone.Children {
		if n := inst.AssignedTo; n != nil {
			if clone.Promotable && c.primaryRole != RoleUnknown && c.primaryRole != inst.NextRole {
				continue
			}
			if dep.allowed[n.index] != absent {
				dep.allowed[n.index] = addScores(dep.allowed[n.index], c.score)
			}
		}
	}
}

func (s *sched) bestScoreMatchingAttr(c *colocation, r *Resource, attr, value string, hasValue bool) int {
	best := -Infinity
	table := r.allowed
	if r == c.dependent && c.explicit && r.Parent != nil && r.Parent.isGroup() && r != r.Parent.Children[0] {
		table = append([]int(nil), r.allowed...)
		for _, loc := range s.locations {
			if loc.rsc == r.Parent {
				for _, idx := range loc.order {
					if table[idx] == absent {
						table[idx] = loc.nodes[idx]
					} else {
						table[idx] = addScores(table[idx], loc.nodes[idx])
					}
				}
			}
		}
	}
	for i, w := range table {
		if w == absent || w <= best || !s.nodes[i].available() {
			continue
		}
		v, ok := colocAttr(s.nodes[i], attr)
		if ok == hasValue && strings.EqualFold(v, value) {
			best = w
		}
	}
	return best
}

func (s *sched) allowedOnOne(r *Resource) bool {
	cnt := 0
	for i, w := range r.allowed {
		if w != absent && w >= 0 && s.nodes[i].available() {
			cnt++
		}
	}
	return cnt == 1
}

// addColocatedNodeScores merges source's preferences into *nodes.
func (s *sched) addColocatedNodeScores(source, target *Resource, nodes *[]int, c *colocation, factor float64, onlyPositive, thisWith bool) {
	if source.isGroup() {
		if source.updatingNodes || len(source.Children) == 0 {
			return
		}
		if *nodes == nil {
			source = source.lastMember()
		} else {
			source = source.Children[0]
		}
	}
	if source.isClone() {
		// treat a clone source like its parent table (simplified)
	}
	if source.updatingNodes {
		return
	}
	source.updatingNodes = true
	defer func() { source.updatingNodes = false }()
	var work []int
	if *nodes == nil {
		work = append([]int(nil), source.allowed...)
		target = source
	} else if c == nil {
		return
	} else {
		work = append([]int(nil), (*nodes)...)
		attr := c.nodeAttr
		for i, w := range work {
			if w == absent {
				continue
			}
			value, hasValue := colocAttr(s.nodes[i], attr)
			score := s.bestScoreMatchingAttr(c, source, attr, value, hasValue)
			if factor < 0 && score < 0 {
				continue
			}
			df := factor * float64(score)
			var delta int
			if df < 0 {
				delta = int(df - 0.5)
			} else {
				delta = int(df + 0.5)
			}
			if delta == 0 && score != 0 {
				if factor > 0 {
					delta = 1
				} else if factor < 0 {
					delta = -1
				}
			}
			ns := addScores(delta, w)
			if onlyPositive && ns < 0 && w > 0 {
				work[i] = 1
				continue
			}
			if onlyPositive && ns < 0 && w == 0 {
				continue
			}
			work[i] = ns
		}
	}
	if s.anyAvailable(work) {
		var list []*colocation
		if thisWith {
			list = s.thisWithColocations(source)
		} else {
			list = s.withThisColocations(source)
		}
		for _, cc := range list {
			of := factor * float64(cc.score) / float64(Infinity)
			var other *Resource
			if thisWith {
				other = cc.primary
			} else {
				if !s.hasInfluence(cc) {
					continue
				}
				other = cc.dependent
			}
			s.addColocatedNodeScores(other, target, &work, cc, of, onlyPositive, thisWith)
		}
	} else if *nodes != nil {
		// roll back optional scores
		return
	}
	*nodes = work
}

func (s *sched) hasInfluence(c *colocation) bool {
	return c.influence || len(c.primary.RunningOn) == 0
}

// ------------------------------------------------------------- assignment

func (s *sched) assignAll() {
	if s.placement != "default" {
		s.sortForPlacement()
	}
	for _, r := range s.resources {
		s.assign(r, nil, true)
	}
}

func (s *sched) sortForPlacement() {
	tables := map[*Resource][]int{}
	for _, r := range s.resources {
		var t []int
		s.addColocatedNodeScores(r, nil, &t, nil, 1, false, true)
		tables[r] = t
	}
	nodes := append([]*Node(nil), s.nodes...)
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		wa, wb := s.nodeBaseWeight(a), s.nodeBaseWeight(b)
		if !a.available() {
			wa = -Infinity
		}
		if !b.available() {
			wb = -Infinity
		}
		if wa != wb {
			return wa > wb
		}
		return a.Uname < b.Uname
	})
	get := func(t []int, n *Node) int {
		if n == nil || t == nil || t[n.index] == absent {
			return -Infinity
		}
		return t[n.index]
	}
	sort.SliceStable(s.resources, func(i, j int) bool {
		a, b := s.resources[i], s.resources[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		ta, tb := tables[a], tables[b]
		sa, sb := get(ta, a.currentNode()), get(tb, b.currentNode())
		if sa != sb {
			return sa > sb
		}
		for _, n := range nodes {
			wa, wb := get(ta, n), get(tb, n)
			if wa != wb {
				return wa > wb
			}
		}
		return false
	})
}

func (s *sched) rscNodeScore(r *Resource, n *Node) int {
	w := r.allowed[n.index]
	if r.isGroup() && len(r.Children) > 0 {
		w = r.Children[0].allowed[n.index]
	}
	if w == absent {
		return -Infinity
	}
	return w
}

func (s *sched) scoreOnCurrent(r *Resource) int {
	n := r.currentNode()
	if n == nil {
		return -Infinity
	}
	return s.rscNodeScore(r, n)
}

func (s *sched) assign(r *Resource, prefer *Node, stopIfFail bool) *Node {
	switch r.Variant {
	case VariantGroup:
		return s.assignGroup(r, prefer, stopIfFail)
	case VariantClone:
		return s.assignClone(r, prefer, stopIfFail)
	}
	return s.assignPrimitive(r, prefer, stopIfFail)
}

func (s *sched) assignGroup(r *Resource, prefer *Node, stopIfFail bool) *Node {
	if !r.unassigned {
		return r.AssignedTo
	}
	if r.assigning {
		return nil
	}
	if len(r.Children) == 0 {
		r.unassigned = false
		return nil
	}
	r.assigning = true
	r.Role = r.Children[0].Role
	var first *Node
	for i, m := range r.Children {
		n := s.assign(m, prefer, stopIfFail)
		if i == 0 {
			first = n
		}
	}
	r.NextRole = r.Children[0].NextRole
	r.assigning = false
	r.unassigned = false
	r.AssignedTo = first
	if !r.groupColocated {
		return nil
	}
	return first
}

func isMandatory(c *colocation) bool { return c.score >= Infinity || c.score <= -Infinity }

func (s *sched) applyThisWith(c *colocation, r *Resource) {
	var archive []int
	if c.dependentRole >= RolePromoted || (c.score < 0 && c.score > -Infinity) {
		archive = append([]int(nil), r.allowed...)
	}
	other := c.primary
	if other.unassigned {
		s.assign(other, nil, true)
	}
	s.applyColoc(r, other, c)
	if archive != nil && !s.anyAvailable(r.allowed) {
		r.allowed = archive
	}
}

func (s *sched) addDependentScores(c *colocation, r *Resource) {
	if !s.hasInfluence(c) {
		return
	}
	factor := float64(c.score) / float64(Infinity)
	only := r.isClone()
	s.addColocatedNodeScores(c.dependent, r, &r.allowed, c, factor, only, false)
}

func (s *sched) assignPrimitive(r *Resource, prefer *Node, stopIfFail bool) *Node {
	if r.Parent != nil && !r.Parent.assigning {
		s.assign(r.Parent, prefer, stopIfFail)
	}
	if !r.unassigned {
		return r.AssignedTo
	}
	if r.assigning {
		return nil
	}
	r.assigning = true
	thisWith := s.thisWithColocations(r)
	withThis := s.withThisColocations(r)
	for _, c := range thisWith {
		if isMandatory(c) {
			s.applyThisWith(c, r)
		}
	}
	for _, c := range withThis {
		if isMandatory(c) {
			s.addDependentScores(c, r)
		}
	}
	for _, c := range thisWith {
		if !isMandatory(c) {
			s.applyThisWith(c, r)
		}
	}
	for _, c := range withThis {
		if !isMandatory(c) {
			s.addDependentScores(c, r)
		}
	}
	if r.NextRole == RoleStopped {
		for i := range r.allowed {
			if r.allowed[i] != absent {
				r.allowed[i] = -Infinity
			}
		}
		// Pacemaker bans every node, inserting missing ones
		for _, n := range s.nodes {
			if r.allowed[n.index] == absent {
				r.allowed[n.index] = -Infinity
			}
		}
	} else if r.NextRole > r.Role && !s.quorate && s.noQuorumPolicy == "freeze" {
		for i := range r.allowed {
			if r.allowed[i] != absent {
				r.allowed[i] = -Infinity
			}
		}
		r.NextRole = r.Role
	}
	if s.cfg.ShowScores {
		s.recordScores(r)
	}
	if s.fencingEnabled && !s.haveFencing {
		r.Managed = false
	}
	if !r.Managed {
		r.NextRole = r.Role
		s.assignTo(r, r.currentNode(), true, stopIfFail)
	} else if s.stopAll {
		s.assignTo(r, nil, true, stopIfFail)
	} else {
		s.assignBest(r, prefer, stopIfFail)
	}
	r.assigning = false
	return r.AssignedTo
}

func (s *sched) recordScores(r *Resource) {
	for _, n := range s.nodes {
		w := r.allowed[n.index]
		if w == absent {
			continue
		}
		s.scores = append(s.scores, "pcmk__primitive_assign: "+r.ID+" allocation score on "+n.Uname+": "+scoreString(w))
	}
}

type nodeScore struct {
	n *Node
	w int
}

func (s *sched) sortNodes(r *Resource, active *Node) []nodeScore {
	var list []nodeScore
	for i, w := range r.allowed {
		if w == absent {
			continue
		}
		list = append(list, nodeScore{s.nodes[i], w})
	}
	sort.SliceStable(list, func(i, j int) bool {
		return s.compareNodes(list[i], list[j], active) < 0
	})
	return list
}

func (s *sched) compareNodes(a, b nodeScore, preferred *Node) int {
	w1, w2 := -Infinity, -Infinity
	if a.n.available() {
		w1 = a.w
	}
	if b.n.available() {
		w2 = b.w
	}
	if w1 > w2 {
		return -1
	}
	if w1 < w2 {
		return 1
	}
	if s.placement != "minimal" {
		if s.placement == "balanced" {
			if c := s.compareCapacity(a.n, b.n); c != 0 {
				return c
			}
		}
		if a.n.numResources < b.n.numResources {
			return -1
		}
		if a.n.numResources > b.n.numResources {
			return 1
		}
		if preferred != nil {
			if preferred == a.n {
				return -1
			}
			if preferred == b.n {
				return 1
			}
		}
	}
	return strings.Compare(a.n.Uname, b.n.Uname)
}

func (s *sched) assignBest(r *Resource, prefer *Node, stopIfFail bool) bool {
	mostFree := s.banInsufficientCapacity(r)
	if prefer == nil {
		prefer = mostFree
	}
	if !r.unassigned {
		return r.AssignedTo != nil
	}
	list := s.sortNodes(r, r.currentNode())
	var chosen *nodeScore
	var best *nodeScore
	if len(list) > 0 {
		best = &list[0]
	}
	if prefer != nil && len(list) > 0 {
		for i := range list {
			if list[i].n == prefer {
				c := list[i]
				if c.w >= best.w && c.n.available() && c.w >= 0 {
					chosen = &c
				}
			}
		}
	}
	if chosen == nil && best != nil {
		chosen = best
		unique := r.Parent != nil && r.Parent.isClone() && r.Parent.Unique
		if !unique && chosen.w > 0 && chosen.n.available() {
			running := r.currentNode()
			if running != nil && running.available() && r.allowed[running.index] != absent && r.allowed[running.index] >= 0 {
				for i := 1; i < len(list); i++ {
					if list[i].w != chosen.w {
						break
					}
					if list[i].n == running {
						c := list[i]
						chosen = &c
					}
				}
			}
		}
	}
	var n *Node
	w := 0
	if chosen != nil {
		n, w = chosen.n, chosen.w
	}
	_ = w
	s.assignTo(r, n, false, stopIfFail)
	return r.AssignedTo != nil
}

func (s *sched) assignTo(r *Resource, n *Node, force, stopIfFail bool) bool {
	if len(r.Children) > 0 {
		changed := false
		for _, c := range r.Children {
			if s.assignTo(c, n, force, stopIfFail) {
				changed = true
			}
		}
		return changed
	}
	if !force && n != nil {
		if w := r.allowed[n.index]; w == absent || w < 0 || !n.available() {
			if stopIfFail {
				r.NextRole = RoleStopped
				r.nextRoleReason = "node availability"
			}
			n = nil
		}
	}
	changed := r.AssignedTo != n
	r.AssignedTo = nil
	r.unassigned = false
	if n == nil {
		if !stopIfFail {
			return changed
		}
		r.NextRole = RoleStopped
		for _, a := range r.actions {
			switch a.Task {
			case "stop":
				a.clear(afOptional)
			case "start":
				a.clear(afRunnable)
			}
		}
		return changed
	}
	r.AssignedTo = n
	n.assigned = append(n.assigned, r)
	n.numResources++
	s.consumeCapacity(n, r)
	return changed
}

// instanceBlocked reports whether a clone instance or one of its members
// is blocked (a failed stop or on-fail=block).
func instanceBlocked(inst *Resource) bool {
	for _, p := range inst.primitives(nil) {
		if p.Blocked {
			return true
		}
	}
	return false
}
