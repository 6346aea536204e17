package pengine

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// sched is the working set of one computation.
type sched struct {
	cfg  Config
	doc  *etree.Document
	root *etree.Element
	ids  map[string]*etree.Element
	now  int64
	// compactHist holds history entries kept out of doc (ParseInput), by
	// their lrm_resource element.
	compactHist map[*etree.Element][]*histOp
	// nodeStates are the status section's node_state elements; lrmOpsCache
	// and lrmIndex serve the history look-ups of migrations (migration.go).
	nodeStates  []*etree.Element
	lrmOpsCache map[*etree.Element][]*histOp
	lrmIndex    map[*etree.Element]map[string][]*etree.Element

	opts map[string]string

	symmetric, fencingEnabled, haveFencing, quorate, stopAll bool
	maintenanceMode, startFailureFatal, startupFencing       bool
	shutdownLock, stopOrphanRsc, stopOrphanActions           bool
	probeResources, concurrentFencing                        bool
	// priorityFencingDelay is priority-fencing-delay in seconds (0: off).
	priorityFencingDelay                     int64
	noQuorumPolicy, placement, fencingAction string

	nodes       []*Node
	nodeByUname map[string]*Node
	nodeByID    map[string]*Node
	dcUUID      string

	resources []*Resource // top level, priority sorted
	rscByID   map[string]*Resource
	templates map[string]*etree.Element
	tags      map[string][]string

	rscDefaults []*etree.Element
	opDefaults  []*etree.Element

	locations   []*location
	colocations []*colocation
	orders      []*orderTemplate

	actions    []*Action
	singletons map[string]*Action
	actionID   int

	scores        []string
	warnings      []string
	configErrs    []string
	recheckBy     int64
	currentStatus []string
}

func newSched(doc *etree.Document, cfg Config) *sched {
	s := &sched{
		cfg:         cfg,
		doc:         doc,
		root:        doc.Root(),
		ids:         map[string]*etree.Element{},
		opts:        map[string]string{},
		nodeByUname: map[string]*Node{},
		nodeByID:    map[string]*Node{},
		rscByID:     map[string]*Resource{},
		templates:   map[string]*etree.Element{},
		tags:        map[string][]string{},
		singletons:  map[string]*Action{},
		actionID:    1,
		now:         cfg.Now,
	}
	if conf := s.root.SelectElement("configuration"); conf != nil {
		s.indexIDs(conf)
	}
	if v := s.root.SelectAttrValue("execution-date", ""); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			s.now = n
		}
	}
	return s
}

func (s *sched) indexIDs(e *etree.Element) {
	if id := e.SelectAttrValue("id", ""); id != "" && e.SelectAttr("id-ref") == nil {
		if _, dup := s.ids[id]; !dup {
			s.ids[id] = e
		}
	}
	for _, c := range e.ChildElements() {
		s.indexIDs(c)
	}
}

func (s *sched) resolveRef(e *etree.Element) *etree.Element {
	for i := 0; i < 8 && e != nil; i++ {
		ref := e.SelectAttr("id-ref")
		if ref == nil {
			return e
		}
		t, ok := s.ids[ref.Value]
		if !ok {
			return e
		}
		e = t
	}
	return e
}

func (s *sched) section(path ...string) *etree.Element {
	e := s.root
	for _, p := range path {
		if e == nil {
			return nil
		}
		e = e.SelectElement(p)
	}
	return e
}

// nvBlocks returns option blocks of a tag under parent, sorted by score
// descending (stable), with firstID first.
func (s *sched) nvBlocks(parents []*etree.Element, tag, firstID string) []*etree.Element {
	var out []*etree.Element
	for _, p := range parents {
		if p == nil {
			continue
		}
		for _, c := range p.SelectElements(tag) {
			out = append(out, s.resolveRef(c))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ai := out[i].SelectAttrValue("id", "") == firstID && firstID != ""
		aj := out[j].SelectAttrValue("id", "") == firstID && firstID != ""
		if ai != aj {
			return ai
		}
		return parseScore(out[i].SelectAttrValue("score", "0"), 0) > parseScore(out[j].SelectAttrValue("score", "0"), 0)
	})
	return out
}

// unpackNV merges the nvpairs of blocks into m (first wins unless overwrite).
func (s *sched) unpackNV(blocks []*etree.Element, m map[string]string, ctx *ruleCtx, overwrite bool) {
	for _, b := range blocks {
		if !s.blockRulesPass(b, ctx) {
			continue
		}
		for _, nv := range b.SelectElements("nvpair") {
			nv = s.resolveRef(nv)
			name := nv.SelectAttrValue("name", "")
			va := nv.SelectAttr("value")
			if name == "" || va == nil {
				continue
			}
			if _, ok := m[name]; ok && !overwrite {
				continue
			}
			if va.Value == "#default" {
				delete(m, name)
				continue
			}
			m[name] = va.Value
		}
	}
}

func (s *sched) blockRulesPass(b *etree.Element, ctx *ruleCtx) bool {
	for _, r := range b.SelectElements("rule") {
		c := ctx
		if c == nil {
			c = &ruleCtx{now: s.now}
		}
		if !s.evalRule(r, c) {
			return false
		}
	}
	return true
}

func (s *sched) warn(msg string) { s.warnings = append(s.warnings, msg) }

func (s *sched) unpackConfig() {
	cc := s.section("configuration", "crm_config")
	s.unpackNV(s.nvBlocks([]*etree.Element{cc}, "cluster_property_set", "cib-bootstrap-options"), s.opts, &ruleCtx{now: s.now}, false)
	get := func(names ...string) (string, bool) {
		for _, n := range names {
			if v, ok := s.opts[n]; ok {
				return v, true
			}
		}
		return "", false
	}
	boolOpt := func(def bool, names ...string) bool {
		if v, ok := get(names...); ok {
			if b, ok := parseBool(v); ok {
				return b
			}
		}
		return def
	}
	s.symmetric = boolOpt(true, "symmetric-cluster")
	s.fencingEnabled = boolOpt(true, "fencing-enabled", "stonith-enabled")
	s.stopAll = boolOpt(false, "stop-all-resources")
	s.maintenanceMode = boolOpt(false, "maintenance-mode")
	s.startFailureFatal = boolOpt(true, "start-failure-is-fatal")
	s.startupFencing = boolOpt(true, "startup-fencing")
	s.shutdownLock = boolOpt(false, "shutdown-lock")
	if s.shutdownLock {
		s.warn("shutdown-lock is not supported yet: resources of a node that shuts down are not locked to it")
	}
	s.stopOrphanRsc = boolOpt(true, "stop-removed-resources", "stop-orphan-resources")
	s.stopOrphanActions = boolOpt(true, "cancel-removed-actions", "stop-orphan-actions")
	s.probeResources = boolOpt(true, "enable-startup-probes")
	s.concurrentFencing = boolOpt(true, "concurrent-fencing")
	// SBD's watchdog self-fencing counts as a fencing device (Pacemaker's
	// unpack_config sets pe_flag_have_stonith_resource for have-watchdog).
	if boolOpt(false, "have-watchdog") {
		s.haveFencing = true
	}
	if v, ok := get("priority-fencing-delay"); ok {
		if ms, ok := parseIntervalMS(v); ok && ms > 0 {
			s.priorityFencingDelay = ms / 1000
		}
	}
	s.noQuorumPolicy = "stop"
	if v, ok := get("no-quorum-policy"); ok {
		switch strings.ToLower(v) {
		case "ignore", "freeze", "stop", "demote":
			s.noQuorumPolicy = strings.ToLower(v)
		case "suicide", "fence":
			s.noQuorumPolicy = "fence"
			if !s.fencingEnabled {
				s.noQuorumPolicy = "stop"
			}
		}
	}
	s.placement = "default"
	if v, ok := get("placement-strategy"); ok {
		switch strings.ToLower(v) {
		case "utilization", "balanced", "minimal", "default":
			s.placement = strings.ToLower(v)
		}
	}
	s.fencingAction = "reboot"
	if v, ok := get("fencing-action", "stonith-action"); ok {
		if v == "poweroff" {
			v = "off"
		}
		s.fencingAction = v
	}
	s.quorate = isTrue(s.root.SelectAttrValue("have-quorum", "false"))
	s.dcUUID = s.root.SelectAttrValue("dc-uuid", "")

	rd := s.section("configuration", "rsc_defaults")
	if rd != nil {
		s.rscDefaults = s.nvBlocks([]*etree.Element{rd}, "meta_attributes", "")
	}
	od := s.section("configuration", "op_defaults")
	if od != nil {
		s.opDefaults = s.nvBlocks([]*etree.Element{od}, "meta_attributes", "")
	}
}

func (s *sched) optString(name, def string, alts ...string) string {
	if v, ok := s.opts[name]; ok {
		return v
	}
	for _, a := range alts {
		if v, ok := s.opts[a]; ok {
			return v
		}
	}
	return def
}

func (s *sched) unpackNodes() {
	ns := s.section("configuration", "nodes")
	if ns == nil {
		return
	}
	for _, ne := range ns.SelectElements("node") {
		id := ne.SelectAttrValue("id", "")
		uname := ne.SelectAttrValue("uname", "")
		if id == "" || uname == "" {
			continue
		}
		if _, dup := s.nodeByUname[uname]; dup {
			continue
		}
		typ := ne.SelectAttrValue("type", "member")
		if typ == "normal" {
			typ = "member"
		}
		n := &Node{ID: id, Uname: uname, Type: typ, Attrs: map[string]string{}, Utilization: map[string]int{}}
		n.RemoteNode = typ == "remote"
		n.Unclean = s.startupFencing && !n.RemoteNode
		n.Unseen = true
		n.Attrs["#uname"] = uname
		n.Attrs["#id"] = id
		n.Attrs["#kind"] = "cluster"
		if n.RemoteNode {
			n.Attrs["#kind"] = "remote"
		}
		if id == s.dcUUID {
			n.IsDC = true
			n.Attrs["#is_dc"] = "true"
		} else {
			n.Attrs["#is_dc"] = "false"
		}
		if v, ok := s.opts["cluster-name"]; ok {
			n.Attrs["#cluster-name"] = v
		}
		ctx := &ruleCtx{nodeAttrs: n.Attrs, now: s.now}
		s.unpackNV(s.nvBlocks([]*etree.Element{ne}, "instance_attributes", ""), n.Attrs, ctx, false)
		um := map[string]string{}
		s.unpackNV(s.nvBlocks([]*etree.Element{ne}, "utilization", ""), um, ctx, false)
		for k, v := range um {
			n.Utilization[k] = parseUtil(v)
		}
		if isTrue(n.Attrs["standby"]) {
			n.Standby = true
		}
		if isTrue(n.Attrs["maintenance"]) {
			n.Maintenance = true
		}
		s.nodes = append(s.nodes, n)
		s.nodeByUname[uname] = n
		s.nodeByID[id] = n
	}
	sort.SliceStable(s.nodes, func(i, j int) bool { return naturalLess(s.nodes[i].Uname, s.nodes[j].Uname) })
	for i, n := range s.nodes {
		n.index = i
	}
}

func parseUtil(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0
	}
	return n
}

func (s *sched) newAllowed() []int {
	a := make([]int, len(s.nodes))
	for i := range a {
		a[i] = absent
	}
	return a
}

// unpackResources builds the resource tree.
func (s *sched) unpackResources() {
	rs := s.section("configuration", "resources")
	if rs == nil {
		return
	}
	for _, t := range rs.SelectElements("template") {
		s.templates[t.SelectAttrValue("id", "")] = t
	}
	if tg := s.section("configuration", "tags"); tg != nil {
		for _, t := range tg.SelectElements("tag") {
			id := t.SelectAttrValue("id", "")
			for _, r := range t.SelectElements("obj_ref") {
				s.tags[id] = append(s.tags[id], r.SelectAttrValue("id", ""))
			}
		}
	}
	for _, e := range rs.ChildElements() {
		var r *Resource
		switch e.Tag {
		case "primitive":
			r = s.unpackPrimitive(e, nil)
		case "group":
			r = s.unpackGroup(e, nil)
		case "clone", "master":
			r = s.unpackClone(e)
		default:
			continue
		}
		if r != nil {
			s.resources = append(s.resources, r)
		}
	}
	for i, r := range s.resources {
		r.sortIndex = i
	}
	sort.SliceStable(s.resources, func(i, j int) bool { return s.resources[i].Priority > s.resources[j].Priority })
}

func (s *sched) baseResource(e *etree.Element, parent *Resource, v Variant) *Resource {
	id := e.SelectAttrValue("id", "")
	if id == "" {
		return nil
	}
	if _, dup := s.rscByID[id]; dup {
		s.configErrs = append(s.configErrs, "duplicate resource id "+id)
		return nil
	}
	r := &Resource{ID: id, Variant: v, xml: e, Parent: parent, Meta: map[string]string{},
		Utilization: map[string]int{}, knownOn: make([]bool, len(s.nodes)), actionIdx: map[string][]*Action{},
		Role: RoleStopped, NextRole: RoleUnknown, unassigned: true, historyRsc: make([]*etree.Element, len(s.nodes)), histOps: make([][]*histOp, len(s.nodes))}
	r.allowed = s.newAllowed()
	r.discover = make([]int8, len(s.nodes))
	s.rscByID[id] = r
	return r
}

// unpackMeta computes meta attributes with Pacemaker's precedence.
func (s *sched) unpackMeta(r *Resource, blocksFrom []*etree.Element) {
	for _, a := range r.xml.Attr {
		if a.Key == "id" || a.Key == "template" {
			continue
		}
		r.Meta[a.Key] = a.Value
	}
	ctx := &ruleCtx{now: s.now, hasRsc: true, rscClass: r.Class, rscProv: r.Provider, rscType: r.Type}
	s.unpackNV(s.nvBlocks(blocksFrom, "meta_attributes", ""), r.Meta, ctx, false)
	for p := r.Parent; p != nil; p = p.Parent {
		s.unpackNV(s.nvBlocks([]*etree.Element{p.xml}, "meta_attributes", ""), r.Meta, ctx, false)
	}
	s.unpackNV(s.rscDefaults, r.Meta, ctx, false)
	if r.Parent != nil {
		for k, v := range r.Parent.Meta {
			if _, ok := r.Meta[k]; !ok {
				r.Meta[k] = v
			}
		}
	}
	// legacy cluster-wide defaults
	for _, k := range []string{"resource-stickiness", "migration-threshold", "is-managed"} {
		if _, ok := r.Meta[k]; !ok {
			if v, ok := s.opts["default-"+k]; ok {
				r.Meta[k] = v
			}
		}
	}
}

func (s *sched) commonFlags(r *Resource) {
	m := r.Meta
	r.Priority = parseScore(m["priority"], 0)
	r.Critical = true
	if v, ok := m["critical"]; ok {
		if b, ok := parseBool(v); ok {
			r.Critical = b
		}
	}
	r.notify = isTrue(m["notify"])
	r.Managed = true
	if v, ok := m["is-managed"]; ok {
		if b, ok := parseBool(v); ok {
			r.Managed = b
		}
	}
	if isTrue(m["maintenance"]) || s.maintenanceMode {
		r.Managed = false
		r.Maintenance = true
	}
	if v, ok := m["maintenance"]; ok && s.maintenanceMode {
		if b, ok := parseBool(v); ok && !b {
			// explicit false on the resource does not override cluster mode
			_ = b
		}
	}
	r.Stickiness = 0
	if v, ok := m["resource-stickiness"]; ok {
		r.Stickiness = parseScore(v, 0)
	} else if v, ok := m["resource_stickiness"]; ok {
		r.Stickiness = parseScore(v, 0)
	}
	r.MigrationThreshold = Infinity
	if v, ok := m["migration-threshold"]; ok {
		r.MigrationThreshold = parseScore(v, Infinity)
		if r.MigrationThreshold < 0 {
			r.MigrationThreshold = 0
		}
	}
	if v, ok := m["failure-timeout"]; ok {
		if ms, ok := parseIntervalMS(v); ok {
			r.FailureTimeout = ms / 1000
		}
	}
	r.RecoveryType = "stop_start"
	switch m["multiple-active"] {
	case "stop_only", "block", "stop_unexpected":
		r.RecoveryType = m["multiple-active"]
	}
	r.AllowMigrate = isTrue(m["allow-migrate"])
	if tr, ok := m["target-role"]; ok {
		role := parseRole(tr)
		if strings.EqualFold(tr, "started") || strings.EqualFold(tr, "default") || role == RoleUnknown {
			// nothing
		} else if role > RoleStarted && !r.top().Promotable {
			// only for promotables
		} else if role > RoleUnpromoted {
			// default for promotables
		} else {
			r.NextRole = role
		}
	}
}

func (s *sched) unpackRequires(r *Resource) {
	v := r.Meta["requires"]
	switch v {
	case "nothing":
	case "quorum":
		r.NeedsQuorum = true
	case "fencing", "unfencing":
		if r.IsFenceDevice && v == "unfencing" || !s.fencingEnabled && v == "unfencing" {
			r.NeedsQuorum = true
		} else {
			r.NeedsFencing = true
		}
	default:
		switch {
		case r.IsFenceDevice:
			r.NeedsQuorum = true
		case s.fencingEnabled:
			r.NeedsFencing = true
		case s.noQuorumPolicy == "ignore":
		default:
			r.NeedsQuorum = true
		}
	}
}

func (s *sched) unpackPrimitive(e *etree.Element, parent *Resource) *Resource {
	r := s.baseResource(e, parent, VariantPrimitive)
	if r == nil {
		return nil
	}
	blocks := []*etree.Element{e}
	src := e
	if tn := e.SelectAttrValue("template", ""); tn != "" {
		if t, ok := s.templates[tn]; ok {
			blocks = append(blocks, t)
			src = t
		}
	}
	r.Class = e.SelectAttrValue("class", src.SelectAttrValue("class", ""))
	r.Provider = e.SelectAttrValue("provider", src.SelectAttrValue("provider", ""))
	r.Type = e.SelectAttrValue("type", src.SelectAttrValue("type", ""))
	r.paramBlocks = s.nvBlocks(blocks, "instance_attributes", "")
	// operations: own first, then the template's ops whose name and role
	// the primitive does not define (Pacemaker's template_op_key)
	seen := map[string]bool{}
	for bi, b := range blocks {
		var add []*etree.Element
		for _, opsEl := range b.SelectElements("operations") {
			opsEl = s.resolveRef(opsEl)
			for _, op := range opsEl.SelectElements("op") {
				op = s.resolveRef(op)
				k := op.SelectAttrValue("name", "") + "-" + op.SelectAttrValue("role", "Started")
				if bi > 0 && seen[k] {
					continue
				}
				add = append(add, op)
			}
		}
		for _, op := range add {
			seen[op.SelectAttrValue("name", "")+"-"+op.SelectAttrValue("role", "Started")] = true
		}
		r.ops = append(r.ops, add...)
	}
	if r.Class == "stonith" {
		r.IsFenceDevice = true
		s.haveFencing = true
	}
	s.unpackMeta(r, blocks)
	r.Meta["class"] = r.Class
	if r.Provider != "" {
		r.Meta["provider"] = r.Provider
	}
	r.Meta["type"] = r.Type
	s.commonFlags(r)
	s.unpackRequires(r)
	um := map[string]string{}
	s.unpackNV(s.nvBlocks(blocks, "utilization", ""), um, &ruleCtx{now: s.now}, false)
	for k, v := range um {
		r.Utilization[k] = parseUtil(v)
	}
	if s.symmetric {
		for i := range r.allowed {
			r.allowed[i] = 0
		}
	}
	return r
}

func (s *sched) unpackGroup(e *etree.Element, parent *Resource) *Resource {
	r := s.baseResource(e, parent, VariantGroup)
	if r == nil {
		return nil
	}
	s.unpackMeta(r, []*etree.Element{e})
	s.commonFlags(r)
	s.unpackRequires(r)
	r.groupColocated = true
	r.groupOrdered = true
	// A group's own settings only: a clone's "ordered" (instances in
	// sequence) is not the group's "ordered" (members in sequence).
	own := map[string]string{}
	for _, a := range e.Attr {
		own[a.Key] = a.Value
	}
	s.unpackNV(s.nvBlocks([]*etree.Element{e}, "meta_attributes", ""), own, &ruleCtx{now: s.now, hasRsc: true}, false)
	s.unpackNV(s.rscDefaults, own, &ruleCtx{now: s.now, hasRsc: true}, false)
	if v, ok := own["collocated"]; ok {
		r.groupColocated = isTrue(v)
	}
	if v, ok := own["ordered"]; ok {
		r.groupOrdered = isTrue(v)
	}
	for _, c := range e.SelectElements("primitive") {
		if m := s.unpackPrimitive(c, r); m != nil {
			r.Children = append(r.Children, m)
		}
	}
	if s.symmetric {
		for i := range r.allowed {
			r.allowed[i] = 0
		}
	}
	return r
}

// unpackClone parses clones so that tier-2 support can build on it.
func (s *sched) unpackClone(e *etree.Element) *Resource {
	r := s.baseResource(e, nil, VariantClone)
	if r == nil {
		return nil
	}
	s.unpackMeta(r, []*etree.Element{e})
	if e.Tag == "master" {
		r.Promotable = true
	}
	if v, ok := r.Meta["promotable"]; ok {
		r.Promotable = isTrue(v)
	}
	s.commonFlags(r)
	if _, ok := r.Meta["resource-stickiness"]; !ok {
		r.Stickiness = 1
	}
	r.Unique = isTrue(r.Meta["globally-unique"])
	r.interleave = isTrue(r.Meta["interleave"])
	r.ordered = isTrue(r.Meta["ordered"])
	nNodes := len(s.nodes)
	if nNodes < 1 {
		nNodes = 1
	}
	r.cloneMax = nNodes
	if v, ok := r.Meta["clone-max"]; ok {
		r.cloneMax = parseScore(v, nNodes)
	}
	r.cloneNodeMax = 1
	if v, ok := r.Meta["clone-node-max"]; ok && r.Unique {
		r.cloneNodeMax = parseScore(v, 1)
	}
	r.promotedMax, r.promotedNodeMax = 1, 1
	if v, ok := r.Meta["promoted-max"]; ok {
		r.promotedMax = parseScore(v, 1)
	} else if v, ok := r.Meta["master-max"]; ok {
		r.promotedMax = parseScore(v, 1)
	}
	if v, ok := r.Meta["promoted-node-max"]; ok {
		r.promotedNodeMax = parseScore(v, 1)
	} else if v, ok := r.Meta["master-node-max"]; ok {
		r.promotedNodeMax = parseScore(v, 1)
	}
	var tmpl *etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == "primitive" || c.Tag == "group" {
			tmpl = c
			break
		}
	}
	if tmpl == nil {
		return r
	}
	r.cloneTmpl = tmpl
	for i := 0; i < r.cloneMax; i++ {
		s.newCloneInstance(r, i, false)
	}
	if s.symmetric {
		for i := range r.allowed {
			r.allowed[i] = 0
		}
	}
	return r
}

// newCloneInstance creates instance number i of a clone (an orphan when
// the number is beyond clone-max).
func (s *sched) newCloneInstance(r *Resource, i int, orphan bool) *Resource {
	tmpl := r.cloneTmpl
	if tmpl == nil {
		return nil
	}
	inst := tmpl.Copy()
	suffix := ":" + strconv.Itoa(i)
	inst.CreateAttr("id", tmpl.SelectAttrValue("id", "")+suffix)
	var c *Resource
	if tmpl.Tag == "group" {
		for _, p := range inst.SelectElements("primitive") {
			p.CreateAttr("id", p.SelectAttrValue("id", "")+suffix)
		}
		c = s.unpackGroup(inst, r)
	} else {
		c = s.unpackPrimitive(inst, r)
	}
	if c == nil {
		return nil
	}
	r.Children = append(r.Children, c)
	if orphan {
		for _, p := range append([]*Resource{c}, c.primitives(nil)...) {
			p.Orphan = true
			for j := range p.allowed {
				p.allowed[j] = -Infinity
			}
		}
	}
	return c
}

// expandRscRef turns a resource/tag/template name into resources.
func (s *sched) expandRscRef(name string) []*Resource {
	if r, ok := s.rscByID[name]; ok {
		return []*Resource{r}
	}
	if i := strings.LastIndex(name, ":"); i > 0 {
		if r, ok := s.rscByID[name[:i]]; ok {
			return []*Resource{r.top()}
		}
	}
	var out []*Resource
	if ids, ok := s.tags[name]; ok {
		for _, id := range ids {
			out = append(out, s.expandRscRef(id)...)
		}
		return out
	}
	if _, ok := s.templates[name]; ok {
		for _, r := range s.allPrimitivesInOrder() {
			if r.xml.SelectAttrValue("template", "") == name {
				out = append(out, r)
			}
		}
	}
	return out
}

func (s *sched) allPrimitivesInOrder() []*Resource {
	var out []*Resource
	for _, r := range s.resources {
		out = r.primitives(out)
	}
	return out
}

// ---------------------------------------------------------------- constraints

func (s *sched) unpackConstraints() {
	cs := s.section("configuration", "constraints")
	if cs == nil {
		return
	}
	for _, e := range cs.ChildElements() {
		e = s.resolveRef(e)
		switch e.Tag {
		case "rsc_location":
			s.unpackLocation(e)
		case "rsc_colocation":
			s.unpackColocation(e)
		case "rsc_order":
			s.unpackOrder(e)
		}
	}
}

func discoverMode(v string) int8 {
	switch v {
	case "never":
		return 1
	case "exclusive":
		return 2
	}
	return 0
}

func (s *sched) unpackLocation(e *etree.Element) {
	id := e.SelectAttrValue("id", "")
	var rscs []*Resource
	var matches [][]string
	if sets := e.SelectElements("resource_set"); len(sets) > 0 {
		for _, set := range sets {
			set = s.resolveRef(set)
			for _, ref := range set.SelectElements("resource_ref") {
				for _, r := range s.expandRscRef(ref.SelectAttrValue("id", "")) {
					rscs = append(rscs, r)
					matches = append(matches, nil)
				}
			}
		}
	} else if rn := e.SelectAttrValue("rsc", ""); rn != "" {
		for _, r := range s.expandRscRef(rn) {
			rscs = append(rscs, r)
			matches = append(matches, nil)
		}
	} else if pat := e.SelectAttrValue("rsc-pattern", ""); pat != "" {
		invert := strings.HasPrefix(pat, "!")
		if invert {
			pat = pat[1:]
		}
		re, err := regexp.CompilePOSIX(pat)
		if err != nil {
			return
		}
		for _, r := range s.resources {
			m := re.FindStringSubmatch(r.ID)
			if invert && m == nil {
				rscs = append(rscs, r)
				matches = append(matches, nil)
			} else if !invert && m != nil {
				rscs = append(rscs, r)
				matches = append(matches, m)
			}
		}
	}
	for i, r := range rscs {
		s.unpackLocationFor(e, id, r, matches[i])
	}
}

func (s *sched) unpackLocationFor(e *etree.Element, id string, r *Resource, m []string) {
	disc := discoverMode(e.SelectAttrValue("resource-discovery", "always"))
	role := parseRole(e.SelectAttrValue("role", ""))
	if role == RoleStarted {
		role = RoleUnknown
	}
	if nn := e.SelectAttrValue("node", ""); nn != "" {
		n, ok := s.nodeByUname[nn]
		if !ok {
			return
		}
		score := parseScore(e.SelectAttrValue("score", "0"), 0)
		loc := &location{id: id, rsc: r, role: role, discover: disc, nodes: map[int]int{n.index: score}, order: []int{n.index}}
		s.locations = append(s.locations, loc)
		return
	}
	for _, rule := range e.SelectElements("rule") {
		rule = s.resolveRef(rule)
		rrole := role
		if v := rule.SelectAttr("role"); v != nil {
			rrole = parseRole(v.Value)
			if rrole == RoleStarted {
				rrole = RoleUnknown
			}
		}
		scoreAttr := rule.SelectAttrValue("score-attribute", "")
		score := 0
		hasScore := false
		if v := rule.SelectAttr("score"); v != nil {
			score = parseScore(v.Value, 0)
			hasScore = true
		}
		loc := &location{id: id, rsc: r, role: rrole, discover: disc, nodes: map[int]int{}}
		for _, n := range s.nodes {
			ctx := &ruleCtx{nodeAttrs: n.Attrs, now: s.now, matches: m}
			if !s.evalRule(rule, ctx) {
				continue
			}
			sc := score
			if !hasScore && scoreAttr != "" {
				v, ok := n.Attrs[expandSubmatch(scoreAttr, m)]
				if !ok {
					continue
				}
				sc = parseScore(v, 0)
			}
			loc.nodes[n.index] = sc
			loc.order = append(loc.order, n.index)
		}
		s.locations = append(s.locations, loc)
	}
}

func (s *sched) newColocation(id string, dep, pri *Resource, score int, drole, prole Role, attr string, influence, explicit bool) {
	if dep == nil || pri == nil || score == 0 {
		return
	}
	if attr == "" {
		attr = "#uname"
	}
	c := &colocation{id: id, dependent: dep, primary: pri, score: score, dependentRole: drole,
		primaryRole: prole, nodeAttr: attr, influence: influence, explicit: explicit}
	s.colocations = append(s.colocations, c)
	dep.thisWith = insertColoc(dep.thisWith, c, true)
	pri.withThis = insertColoc(pri.withThis, c, false)
}

func variantRank(r *Resource) int {
	switch {
	case r.isClone():
		return 2
	case r.isGroup():
		return 1
	}
	return 0
}

// insertColoc keeps colocation lists sorted like Pacemaker: by the other
// resource's priority, variant, promotability, then id.
func insertColoc(list []*colocation, c *colocation, byPrimary bool) []*colocation {
	other := func(x *colocation) *Resource {
		if byPrimary {
			return x.primary
		}
		return x.dependent
	}
	less := func(a, b *colocation) bool {
		ra, rb := other(a), other(b)
		if ra.Priority != rb.Priority {
			return ra.Priority > rb.Priority
		}
		if variantRank(ra) != variantRank(rb) {
			return variantRank(ra) > variantRank(rb)
		}
		if ra.Promotable != rb.Promotable {
			return ra.Promotable
		}
		return ra.ID < rb.ID
	}
	i := sort.Search(len(list), func(i int) bool { return less(c, list[i]) })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

func roleAttr(e *etree.Element, names ...string) Role {
	for _, n := range names {
		if v := e.SelectAttr(n); v != nil {
			r := parseRole(v.Value)
			if r == RoleStarted {
				return RoleUnknown
			}
			return r
		}
	}
	return RoleUnknown
}

func (s *sched) influenceOf(e *etree.Element, dep *Resource) bool {
	if v := e.SelectAttr("influence"); v != nil {
		if b, ok := parseBool(v.Value); ok {
			return b
		}
	}
	return dep.Critical
}

func (s *sched) unpackColocation(e *etree.Element) {
	id := e.SelectAttrValue("id", "")
	score := parseScore(e.SelectAttrValue("score", "0"), 0)
	attr := e.SelectAttrValue("node-attribute", "")
	sets := e.SelectElements("resource_set")
	if len(sets) == 0 {
		deps := s.expandRscRef(e.SelectAttrValue("rsc", ""))
		pris := s.expandRscRef(e.SelectAttrValue("with-rsc", ""))
		drole := roleAttr(e, "rsc-role")
		prole := roleAttr(e, "with-rsc-role")
		for _, d := range deps {
			for _, p := range pris {
				if d == p {
					continue
				}
				s.newColocation(id, d, p, score, drole, prole, attr, s.influenceOf(e, d), true)
			}
		}
		return
	}
	type setInfo struct {
		rscs       []*Resource
		sequential bool
		role       Role
		score      int
	}
	var infos []setInfo
	for _, set := range sets {
		set = s.resolveRef(set)
		si := setInfo{sequential: true, score: score}
		if v := set.SelectAttr("sequential"); v != nil {
			si.sequential = isTrue(v.Value)
		}
		if v := set.SelectAttr("score"); v != nil {
			si.score = parseScore(v.Value, 0)
		}
		si.role = roleAttr(set, "role")
		for _, ref := range set.SelectElements("resource_ref") {
			si.rscs = append(si.rscs, s.expandRscRef(ref.SelectAttrValue("id", ""))...)
		}
		infos = append(infos, si)
	}
	for _, si := range infos {
		if !si.sequential || si.score == 0 {
			continue
		}
		if si.score > 0 {
			for i := 1; i < len(si.rscs); i++ {
				s.newColocation(id, si.rscs[i], si.rscs[i-1], si.score, si.role, si.role, attr, s.influenceOf(e, si.rscs[i]), true)
			}
		} else {
			for i := 1; i < len(si.rscs); i++ {
				for j := 0; j < i; j++ {
					s.newColocation(id, si.rscs[i], si.rscs[j], si.score, si.role, si.role, attr, s.influenceOf(e, si.rscs[i]), true)
				}
			}
		}
	}
	for k := 1; k < len(infos); k++ {
		s1, s2 := infos[k-1], infos[k]
		if len(s1.rscs) == 0 || len(s2.rscs) == 0 {
			continue
		}
		var deps, pris []*Resource
		if s1.sequential {
			deps = s1.rscs[:1]
		} else {
			deps = s1.rscs
		}
		if s2.sequential {
			pris = s2.rscs[len(s2.rscs)-1:]
		} else {
			pris = s2.rscs
		}
		for _, d := range deps {
			for _, p := range pris {
				s.newColocation(id, d, p, score, s1.role, s2.role, attr, s.influenceOf(e, d), true)
			}
		}
	}
}

func (s *sched) newOrdering(lr *Resource, lkey string, la *Action, rr *Resource, rkey string, ra *Action, flags uint32) {
	if lr == nil && la != nil {
		lr = la.Rsc
	}
	if rr == nil && ra != nil {
		rr = ra.Rsc
	}
	s.orders = append(s.orders, &orderTemplate{lhsRsc: lr, lhsKey: lkey, lhsAction: la, rhsRsc: rr, rhsKey: rkey, rhsAction: ra, flags: flags})
}

func opKey(id, task string, interval int64) string {
	return id + "_" + task + "_" + strconv.FormatInt(interval, 10)
}

func invertAction(a string) string {
	switch a {
	case "start":
		return "stop"
	case "stop":
		return "start"
	case "promote":
		return "demote"
	case "demote":
		return "promote"
	case "promoted":
		return "demoted"
	case "demoted":
		return "promoted"
	case "running":
		return "stopped"
	case "stopped":
		return "running"
	}
	return ""
}

func (s *sched) orderKind(e *etree.Element) (string, bool) {
	kind := "Mandatory"
	if v := e.SelectAttr("kind"); v != nil {
		kind = v.Value
	} else if v := e.SelectAttr("score"); v != nil {
		if parseScore(v.Value, 0) == 0 {
			kind = "Optional"
		}
	}
	switch strings.ToLower(kind) {
	case "optional":
		kind = "Optional"
	case "serialize":
		kind = "Serialize"
	default:
		kind = "Mandatory"
	}
	sym := kind != "Serialize"
	if v := e.SelectAttr("symmetrical"); v != nil {
		if b, ok := parseBool(v.Value); ok {
			sym = b && kind != "Serialize"
		}
	}
	return kind, sym
}

func orderFlags(kind string, sym bool, firstAction string, inverse bool) uint32 {
	switch kind {
	case "Optional":
		return arOrdered
	case "Serialize":
		return arSerialize
	}
	if inverse {
		return arOrdered | arThenImpliesFirst
	}
	if !sym {
		return arOrdered | arAsymmetric
	}
	f := arOrdered | arFirstImpliesThen
	if firstAction == "start" || firstAction == "promote" {
		f |= arUnrunnableFirstBlocks
	}
	return f
}

// cloneMinBefore is how many instances of a clone "first" must be able to
// act before "then" may: the clone's clone-min, else 1 if the constraint
// says require-all=false, else 0 (all of them, the plain ordering).
func (s *sched) cloneMinBefore(e *etree.Element, first *Resource) int {
	if !first.isClone() {
		return 0
	}
	if v, ok := first.Meta["clone-min"]; ok {
		n := parseScore(v, 0)
		if n < 0 {
			n = 0
		}
		return n
	}
	if v := e.SelectAttr("require-all"); v != nil && !isTrue(v.Value) {
		return 1
	}
	return 0
}

// orderCloneMin orders "then" after a clone-one-or-more:<id> pseudo action
// that becomes runnable once min instances of the clone can act.
func (s *sched) orderCloneMin(id string, first *Resource, fa string, then *Resource, ta string, flags uint32, min int) {
	pa := s.singletonPseudo("clone-one-or-more:" + id)
	pa.set(afRequiresAny | afOptional)
	pa.requiredRunnableBefore = min
	for _, c := range first.Children {
		s.newOrdering(c, opKey(c.ID, fa, 0), nil, nil, "", pa, arMinRunnable|arFirstImpliesThenGr)
	}
	s.newOrdering(nil, "", pa, then, opKey(then.ID, ta, 0), nil, flags|arUnrunnableFirstBlocks)
}

func (s *sched) orderRscs(first *Resource, fa string, then *Resource, ta string, flags uint32) {
	if first == nil || then == nil {
		return
	}
	if flags&arSerialize != 0 {
		// serialize: emulate with plain ordering both present
		flags = arOrdered
	}
	s.newOrdering(first, opKey(first.ID, fa, 0), nil, then, opKey(then.ID, ta, 0), nil, flags)
}

func (s *sched) unpackOrder(e *etree.Element) {
	kind, sym := s.orderKind(e)
	sets := e.SelectElements("resource_set")
	if len(sets) == 0 {
		fa := e.SelectAttrValue("first-action", "start")
		ta := e.SelectAttrValue("then-action", fa)
		firsts := s.expandRscRef(e.SelectAttrValue("first", ""))
		thens := s.expandRscRef(e.SelectAttrValue("then", ""))
		for _, f := range firsts {
			for _, t := range thens {
				if f == t {
					continue
				}
				if min := s.cloneMinBefore(e, f); min > 0 {
					s.orderCloneMin(e.SelectAttrValue("id", ""), f, fa, t, ta, orderFlags(kind, sym, fa, false), min)
				} else {
					s.orderRscs(f, fa, t, ta, orderFlags(kind, sym, fa, false))
				}
				if sym {
					if ifa, ita := invertAction(fa), invertAction(ta); ifa != "" && ita != "" {
						s.orderRscs(t, ita, f, ifa, orderFlags(kind, sym, ita, true))
					}
				}
			}
		}
		return
	}
	type setInfo struct {
		rscs       []*Resource
		sequential bool
		action     string
		kind       string
		sym        bool
		requireAll bool
	}
	var infos []setInfo
	for _, set := range sets {
		set = s.resolveRef(set)
		si := setInfo{sequential: true, action: set.SelectAttrValue("action", "start"), kind: kind, sym: sym, requireAll: true}
		if v := set.SelectAttr("sequential"); v != nil {
			si.sequential = isTrue(v.Value)
		}
		if v := set.SelectAttr("require-all"); v != nil {
			si.requireAll = isTrue(v.Value)
		}
		if v := set.SelectAttr("kind"); v != nil {
			si.kind, _ = s.orderKind(set)
		}
		for _, ref := range set.SelectElements("resource_ref") {
			si.rscs = append(si.rscs, s.expandRscRef(ref.SelectAttrValue("id", ""))...)
		}
		infos = append(infos, si)
	}
	for _, si := range infos {
		if si.sequential {
			for i := 1; i < len(si.rscs); i++ {
				s.orderRscs(si.rscs[i-1], si.action, si.rscs[i], si.action, orderFlags(si.kind, sym, si.action, false))
				if sym {
					ia := invertAction(si.action)
					if ia != "" {
						s.orderRscs(si.rscs[i], ia, si.rscs[i-1], ia, orderFlags(si.kind, sym, ia, true))
					}
				}
			}
		} else if si.kind == "Serialize" {
			for i := 0; i < len(si.rscs); i++ {
				for j := i + 1; j < len(si.rscs); j++ {
					s.orderRscs(si.rscs[i], si.action, si.rscs[j], si.action, arSerialize)
				}
			}
		}
	}
	for k := 1; k < len(infos); k++ {
		s1, s2 := infos[k-1], infos[k]
		if len(s1.rscs) == 0 || len(s2.rscs) == 0 {
			continue
		}
		if !s1.requireAll {
			// one-or-more pseudo action
			key := "one-or-more:" + e.SelectAttrValue("id", "")
			pa := s.singletonPseudo(key)
			pa.set(afRequiresAny | afOptional)
			pa.requiredRunnableBefore = 1
			for _, r := range s1.rscs {
				s.newOrdering(r, opKey(r.ID, s1.action, 0), nil, nil, "", pa, arMinRunnable|arFirstImpliesThenGr)
			}
			for _, r := range s2.rscs {
				s.newOrdering(nil, "", pa, r, opKey(r.ID, s2.action, 0), nil, orderFlags(kind, sym, s1.action, false))
			}
			continue
		}
		var firsts, thens []*Resource
		if s1.sequential {
			firsts = s1.rscs[len(s1.rscs)-1:]
		} else {
			firsts = s1.rscs
		}
		if s2.sequential {
			thens = s2.rscs[:1]
		} else {
			thens = s2.rscs
		}
		for _, f := range firsts {
			for _, t := range thens {
				s.orderRscs(f, s1.action, t, s2.action, orderFlags(kind, sym, s1.action, false))
			}
		}
		if sym {
			ia1, ia2 := invertAction(s1.action), invertAction(s2.action)
			if ia1 != "" && ia2 != "" {
				var f2, t2 []*Resource
				if s2.sequential {
					f2 = s2.rscs[:1]
				} else {
					f2 = s2.rscs
				}
				if s1.sequential {
					t2 = s1.rscs[len(s1.rscs)-1:]
				} else {
					t2 = s1.rscs
				}
				for _, f := range f2 {
					for _, t := range t2 {
						s.orderRscs(f, ia2, t, ia1, orderFlags(kind, sym, ia2, true))
					}
				}
			}
		}
	}
}
