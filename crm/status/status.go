package status

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/pengine"
)

// Role is a resource's role as crm_mon names it.
type Role string

// Roles, as Pacemaker 2.1 prints them.
const (
	RoleUnknown    Role = "Unknown"
	RoleStopped    Role = "Stopped"
	RoleStarted    Role = "Started"
	RoleUnpromoted Role = "Unpromoted"
	RolePromoted   Role = "Promoted"
)

// Kind is a resource's variant.
type Kind int

// Resource kinds.
const (
	KindPrimitive Kind = iota
	KindGroup
	KindClone
)

func (k Kind) String() string {
	switch k {
	case KindGroup:
		return "group"
	case KindClone:
		return "clone"
	}
	return "primitive"
}

// Cluster is the state of a cluster as one CIB describes it.
type Cluster struct {
	// Version is the CIB's (admin_epoch, epoch, num_updates).
	Version cib.Version
	// Now is the time the state was evaluated at (failure-timeout, rules).
	Now int64
	// Stack is cluster-infrastructure, or "systole".
	Stack string
	// DC is the Designated Controller (dc-uuid), nil when there is none.
	DC *Node
	// DCVersion is the dc-version property ("" when unknown).
	DCVersion string
	// Quorum is the CIB's have-quorum.
	Quorum bool
	// LastWritten, UpdateOrigin, UpdateClient and UpdateUser record the
	// last configuration change (cib-last-written and friends).
	LastWritten, UpdateOrigin, UpdateClient, UpdateUser string
	// Options are the cluster properties (crm_config).
	Options map[string]string
	// Cluster-wide switches, as the scheduler reads them.
	FencingEnabled, Symmetric, MaintenanceMode, StopAll bool
	// NoQuorumPolicy is the effective no-quorum-policy.
	NoQuorumPolicy string
	// Nodes are the nodes in natural name order.
	Nodes []*Node
	// Resources are the top-level resources in configuration order,
	// orphans (history of resources no longer configured) last.
	Resources []*Resource
	// Failures are the failed operations (crm_mon's Failed Resource
	// Actions), in the order the status section records them.
	Failures []*Op
	// Warnings are configuration problems found while reading.
	Warnings []string

	order []*Node // nodes with a node_state, in status order
}

// Node is one cluster node.
type Node struct {
	Name, ID string
	// Type is "member" (or "remote", "ping").
	Type                                                 string
	Online, Standby, StandbyOnFail, Maintenance, Pending bool
	Unclean, Shutdown, ExpectedUp, IsDC                  bool
	// FeatureSet is the node's #feature-set attribute ("" when unknown).
	FeatureSet string
	// Attributes are the node's attributes, permanent (nodes section) and
	// transient (status), transient winning; internal "#" ones excluded.
	Attributes map[string]string
	// Running are the primitives active on the node.
	Running []*Resource
	// History is the node's operation history per resource, in status
	// order.
	History []*ResourceHistory
}

// Resource is a configured (or orphaned) resource.
type Resource struct {
	// ID is the configured id; a clone instance has ":N" appended.
	ID   string
	Kind Kind
	// Class, Provider and Type name the agent (primitives).
	Class, Provider, Type string
	Parent                *Resource
	Children              []*Resource
	// Role is the current role; Stopped when not active anywhere.
	Role Role
	// TargetRole is the target-role meta attribute ("" when unset).
	TargetRole string
	// Nodes are the nodes where the resource (or any of its children)
	// is active.
	Nodes []*Node
	// Flags, as Pacemaker's crm_mon reports them.
	Managed, Orphaned, Blocked, Failed, FailureIgnored, Maintenance bool
	Promotable, Unique, Disabled                                    bool
	// Meta holds the meta attributes in effect (inherited ones included).
	Meta map[string]string
	// MigrationThreshold is the effective migration-threshold.
	MigrationThreshold int
}

// Op is one operation history entry (an lrm_rsc_op).
type Op struct {
	// Node and Resource name where and on what it ran (the history's
	// resource id: for an anonymous clone, the base id).
	Node, Resource string
	ID, Key, Task  string
	// Interval is in milliseconds.
	Interval int64
	CallID   int
	// RC is the agent's exit code; Status Pacemaker's op-status;
	// Expected the exit code the transition expected (-1 unknown).
	RC, Status, Expected int
	// LastRCChange is in seconds since the epoch; ExecTime and QueueTime
	// in milliseconds.
	LastRCChange        int64
	ExecTime, QueueTime int64
	ExitReason          string
	// Failed marks an entry that counts as a failure; Ignored one whose
	// failure is ignored (on-fail=ignore).
	Failed, Ignored bool
}

// ResourceHistory is what a node's status records about one resource.
type ResourceHistory struct {
	// ID is the lrm_resource id.
	ID string
	// Resource is the resource it belongs to (an orphan resource when the
	// configuration no longer has it).
	Resource           *Resource
	Orphan             bool
	MigrationThreshold int
	// FailCount and LastFailure are the resource's fail count on the
	// node (failure-timeout applied) and the time of its last failure.
	FailCount   int
	LastFailure int64
	// Ops are the entries sorted by call id.
	Ops []*Op
}

// Parse reads a CIB in XML and returns its state at now (seconds since
// the epoch).
func Parse(data []byte, now int64) (*Cluster, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("status: %w: %v", cib.ErrMalformed, err)
	}
	return New(doc, now)
}

// FromCIB returns the state c describes at now.
func FromCIB(c *cib.CIB, now int64) (*Cluster, error) {
	if c == nil {
		return nil, ErrNoCIB
	}
	return New(c.Doc(), now)
}

// New returns the state the CIB document doc describes at now (seconds
// since the epoch). doc is not modified.
func New(doc *etree.Document, now int64) (*Cluster, error) {
	if doc == nil || doc.Root() == nil || doc.Root().Tag != "cib" {
		return nil, ErrNoCIB
	}
	if err := checkCloneMax(doc.Root()); err != nil {
		return nil, err
	}
	doc = withStatusNodes(doc)
	root := doc.Root()
	cfg := pengine.DefaultConfig()
	cfg.Now = now
	u, err := pengine.Unpack(doc, cfg)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	c := &Cluster{
		Now:          u.Now,
		Stack:        "systole",
		Quorum:       u.Quorate,
		LastWritten:  root.SelectAttrValue("cib-last-written", ""),
		UpdateOrigin: root.SelectAttrValue("update-origin", ""),
		UpdateClient: root.SelectAttrValue("update-client", ""),
		UpdateUser:   root.SelectAttrValue("update-user", ""),
		Options:      u.Options, FencingEnabled: u.FencingEnabled, Symmetric: u.Symmetric,
		MaintenanceMode: u.MaintenanceMode, StopAll: u.StopAll, NoQuorumPolicy: u.NoQuorumPolicy,
		Warnings: u.Warnings,
	}
	c.Version.AdminEpoch, _ = strconv.ParseInt(root.SelectAttrValue("admin_epoch", "0"), 10, 64)
	c.Version.Epoch, _ = strconv.ParseInt(root.SelectAttrValue("epoch", "0"), 10, 64)
	c.Version.NumUpdates, _ = strconv.ParseInt(root.SelectAttrValue("num_updates", "0"), 10, 64)
	if v := u.Options["cluster-infrastructure"]; v != "" {
		c.Stack = v
	}
	c.DCVersion = u.Options["dc-version"]

	b := &builder{c: c, u: u, nodes: map[*pengine.Node]*Node{}, rscs: map[*pengine.Resource]*Resource{}}
	dcUUID := root.SelectAttrValue("dc-uuid", "")
	for _, pn := range u.Nodes {
		n := &Node{Name: pn.Uname, ID: pn.ID, Type: pn.Type, Online: pn.Online, Standby: pn.Standby,
			StandbyOnFail: pn.StandbyOnFail, Maintenance: pn.Maintenance, Pending: pn.Pending,
			Unclean: pn.Unclean, Shutdown: pn.Shutdown, ExpectedUp: pn.ExpectedUp,
			FeatureSet: pn.Attrs["#feature-set"], Attributes: map[string]string{}}
		for k, v := range pn.Attrs {
			if !strings.HasPrefix(k, "#") {
				n.Attributes[k] = v
			}
		}
		if dcUUID != "" && (pn.ID == dcUUID || (c.DC == nil && pn.Uname == dcUUID)) {
			c.DC = n
		}
		b.nodes[pn] = n
		c.Nodes = append(c.Nodes, n)
	}
	if c.DC != nil {
		c.DC.IsDC = true
	}
	for _, pr := range u.Resources {
		c.Resources = append(c.Resources, b.resource(pr, nil))
	}
	for _, pn := range u.Nodes {
		n := b.nodes[pn]
		for _, pr := range pn.Running() {
			if r := b.rscs[pr]; r != nil {
				n.Running = append(n.Running, r)
			}
		}
	}
	b.history(root)
	return c, nil
}

// MaxCloneInstances bounds clone-max: the scheduler creates every instance,
// so a typo such as clone-max="3000000" would otherwise take minutes.
const MaxCloneInstances = 100000

// checkCloneMax refuses clones with more instances than MaxCloneInstances.
func checkCloneMax(root *etree.Element) error {
	for _, tag := range []string{"clone", "master"} {
		for _, c := range root.FindElements("configuration/resources/" + tag) {
			for _, nv := range c.FindElements("meta_attributes/nvpair") {
				if nv.SelectAttrValue("name", "") != "clone-max" {
					continue
				}
				v := strings.TrimSpace(nv.SelectAttrValue("value", ""))
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > MaxCloneInstances || strings.EqualFold(v, "INFINITY") || strings.EqualFold(v, "+INFINITY") {
					return fmt.Errorf("status: clone %s: clone-max %s is more than the %d instances the status tools handle", c.SelectAttrValue("id", ""), v, MaxCloneInstances)
				}
			}
			if v := c.SelectAttrValue("clone-max", ""); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > MaxCloneInstances {
					return fmt.Errorf("status: clone %s: clone-max %s is more than the %d instances the status tools handle", c.SelectAttrValue("id", ""), v, MaxCloneInstances)
				}
			}
		}
	}
	return nil
}

// withStatusNodes returns doc, or a copy of it in which every node_state
// without a configured node has one (id and uname from the node_state).
func withStatusNodes(doc *etree.Document) *etree.Document {
	root := doc.Root()
	st := root.SelectElement("status")
	if st == nil {
		return doc
	}
	known := map[string]bool{}
	if conf := root.SelectElement("configuration"); conf != nil {
		if ns := conf.SelectElement("nodes"); ns != nil {
			for _, n := range ns.SelectElements("node") {
				known[n.SelectAttrValue("id", "")] = true
				known[n.SelectAttrValue("uname", "")] = true
			}
		}
	}
	var missing [][2]string
	for _, s := range st.SelectElements("node_state") {
		id, uname := s.SelectAttrValue("id", ""), s.SelectAttrValue("uname", "")
		if uname == "" {
			uname = id
		}
		if id == "" || known[id] || known[uname] {
			continue
		}
		known[id], known[uname] = true, true
		missing = append(missing, [2]string{id, uname})
	}
	if len(missing) == 0 {
		return doc
	}
	doc = doc.Copy()
	root = doc.Root()
	conf := root.SelectElement("configuration")
	if conf == nil {
		conf = root.CreateElement("configuration")
	}
	ns := conf.SelectElement("nodes")
	if ns == nil {
		ns = conf.CreateElement("nodes")
	}
	for _, m := range missing {
		n := ns.CreateElement("node")
		n.CreateAttr("id", m[0])
		n.CreateAttr("uname", m[1])
	}
	return doc
}

type builder struct {
	c     *Cluster
	u     *pengine.Unpacked
	nodes map[*pengine.Node]*Node
	rscs  map[*pengine.Resource]*Resource
}

func roleOf(r pengine.Role) Role {
	switch r {
	case pengine.RoleStopped:
		return RoleStopped
	case pengine.RoleStarted:
		return RoleStarted
	case pengine.RoleUnpromoted:
		return RoleUnpromoted
	case pengine.RolePromoted:
		return RolePromoted
	}
	return RoleUnknown
}

func (b *builder) resource(pr *pengine.Resource, parent *Resource) *Resource {
	r := &Resource{ID: pr.ID, Class: pr.Class, Provider: pr.Provider, Type: pr.Type, Parent: parent,
		Role: roleOf(pr.Role), Managed: pr.Managed, Orphaned: pr.Orphan, Blocked: pr.Blocked,
		Failed: pr.Failed, FailureIgnored: pr.IgnoreFailure, Maintenance: pr.Maintenance,
		Promotable: pr.Promotable, Unique: pr.Unique, Meta: map[string]string{},
		MigrationThreshold: pr.MigrationThreshold}
	switch pr.Variant {
	case pengine.VariantGroup:
		r.Kind = KindGroup
	case pengine.VariantClone:
		r.Kind = KindClone
	}
	for k, v := range pr.Meta {
		r.Meta[k] = v
	}
	r.TargetRole = r.Meta["target-role"]
	switch strings.ToLower(r.TargetRole) {
	case "stopped":
		r.Disabled = true
	}
	b.rscs[pr] = r
	for _, n := range pr.RunningOn {
		if x := b.nodes[n]; x != nil {
			r.Nodes = append(r.Nodes, x)
		}
	}
	if len(r.Nodes) == 0 || r.Role == RoleUnknown {
		if len(r.Nodes) == 0 {
			r.Role = RoleStopped
		} else {
			r.Role = RoleStarted
		}
	}
	for _, pc := range pr.Children {
		r.Children = append(r.Children, b.resource(pc, r))
	}
	if r.Kind != KindPrimitive {
		r.Role = RoleStopped
		for _, ch := range r.Children {
			if roleRank(ch.Role) > roleRank(r.Role) {
				r.Role = ch.Role
			}
			r.Failed = r.Failed || ch.Failed
			r.FailureIgnored = r.FailureIgnored || ch.FailureIgnored
		}
	}
	return r
}

func roleRank(r Role) int {
	switch r {
	case RoleStopped:
		return 1
	case RoleStarted:
		return 2
	case RoleUnpromoted:
		return 3
	case RolePromoted:
		return 4
	}
	return 0
}

// history fills every node's History and the cluster's Failures.
func (b *builder) history(root *etree.Element) {
	st := root.SelectElement("status")
	if st == nil {
		return
	}
	byNode := map[*pengine.Node]*etree.Element{}
	var order []*pengine.Node
	for _, ns := range st.SelectElements("node_state") {
		var pn *pengine.Node
		for _, x := range b.u.Nodes {
			if x.ID == ns.SelectAttrValue("id", "") {
				pn = x
				break
			}
		}
		if pn == nil {
			for _, x := range b.u.Nodes {
				if x.Uname == ns.SelectAttrValue("uname", "") {
					pn = x
					break
				}
			}
		}
		if pn == nil || byNode[pn] != nil {
			continue
		}
		byNode[pn] = ns
		order = append(order, pn)
	}
	for _, pn := range order {
		b.c.order = append(b.c.order, b.nodes[pn])
	}
	// the scheduler reads online nodes first when fencing is disabled
	// (which orders the failures it records)
	if !b.c.FencingEnabled {
		sort.SliceStable(order, func(i, j int) bool { return order[i].Online && !order[j].Online })
	}
	// primitives by the lrm_resource element they were matched to
	byElem := map[*etree.Element]*pengine.Resource{}
	var walk func(pr *pengine.Resource)
	walk = func(pr *pengine.Resource) {
		if len(pr.Children) == 0 && pr.Variant == pengine.VariantPrimitive {
			for _, pn := range b.u.Nodes {
				if e := b.u.History(pr, pn); e != nil {
					byElem[e] = pr
				}
			}
		}
		for _, c := range pr.Children {
			walk(c)
		}
	}
	for _, pr := range b.u.Resources {
		walk(pr)
	}
	seenFail := map[string]bool{}
	for _, pn := range order {
		n := b.nodes[pn]
		lrm := byNode[pn].SelectElement("lrm")
		if lrm == nil {
			continue
		}
		lr := lrm.SelectElement("lrm_resources")
		if lr == nil {
			continue
		}
		for _, re := range lr.SelectElements("lrm_resource") {
			id := re.SelectAttrValue("id", "")
			pr := byElem[re]
			h := &ResourceHistory{ID: id, MigrationThreshold: pengine.Infinity}
			if pr != nil {
				h.Resource = b.rscs[pr]
				h.Orphan = pr.Orphan
				h.MigrationThreshold = pr.MigrationThreshold
				h.FailCount, h.LastFailure = b.u.FailCount(pr, pn)
			} else {
				h.Orphan = true
			}
			for _, oe := range re.SelectElements("lrm_rsc_op") {
				h.Ops = append(h.Ops, b.op(oe, n.Name, id, pr, pn))
			}
			sort.SliceStable(h.Ops, func(i, j int) bool { return h.Ops[i].CallID < h.Ops[j].CallID })
			n.History = append(n.History, h)
			for _, op := range h.Ops {
				k := n.Name + "\x00" + op.Key
				if op.Failed && !seenFail[k] {
					seenFail[k] = true
					b.c.Failures = append(b.c.Failures, op)
				}
			}
		}
	}
}

func atoi64(s string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return v
}

// op reads one lrm_rsc_op and classifies it the way the scheduler's
// unpacking does (pengine/status.go unpackRscOp).
func (b *builder) op(e *etree.Element, node, rsc string, pr *pengine.Resource, pn *pengine.Node) *Op {
	h := pengine.ParseHistoryOp(e)
	op := &Op{Node: node, Resource: rsc, ID: h.ID, Key: e.SelectAttrValue("operation_key", ""), Task: h.Task,
		Interval: h.Interval, CallID: h.CallID, RC: h.RC, Status: h.Status, Expected: h.Expected,
		LastRCChange: h.LastRCChange, ExecTime: atoi64(e.SelectAttrValue("exec-time", "0")),
		QueueTime: atoi64(e.SelectAttrValue("queue-time", "0")), ExitReason: e.SelectAttrValue("exit-reason", "")}
	if op.Key == "" {
		op.Key = rsc + "_" + h.Task + "_" + strconv.FormatInt(h.Interval, 10)
	}
	if pr == nil {
		return op
	}
	op.Failed = failedOp(h, pr.Managed, pr.OpExpiredAt(h.LastRCChange, b.u.Now))
	if op.Failed && b.u.OnFail(pr, h.Task, h.Interval) == "ignore" {
		op.Ignored = true
	}
	return op
}

// failedOp mirrors the scheduler's classification of a history entry.
func failedOp(h pengine.HistoryOp, managed, expired bool) bool {
	switch h.Task {
	case "monitor", "start", "stop", "promote", "demote", "migrate_to", "migrate_from":
	default:
		if h.Status != 0 || h.RC == h.Expected {
			return false
		}
	}
	if h.Status == -1 || h.CallID == -1 {
		return false
	}
	rc, status := h.RC, h.Status
	switch rc {
	case 190:
		rc = 0
	case 191:
		rc = 8
	}
	probe := h.Task == "monitor" && h.Interval == 0
	if probe && (rc == 5 || rc == 2 || status == 7) {
		return false // masked probe failure: the resource is simply not there
	}
	failed := false
	switch status {
	case 0, 4:
		failed = h.Expected < 0 || rc != h.Expected
		switch rc {
		case 0:
			if probe && h.Expected == 7 {
				failed = false
			}
		case 7:
			if probe || h.Expected == rc || !managed {
				failed = false
			}
		case 8:
			if probe && rc != h.Expected {
				failed = false
			}
		case 9:
			failed = true
		}
	case 1: // cancelled
		return false
	default:
		failed = true
	}
	if failed && expired && rc != h.Expected {
		if probe && (rc == 0 || rc == 7 || rc == 8) {
			return true
		}
		return false
	}
	return failed
}

// Node returns the node with that name (or id), or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	for _, n := range c.Nodes {
		if n.ID == name {
			return n
		}
	}
	return nil
}

// Resource returns the resource with that id at any depth (a clone
// instance "d1:0" too), or nil. For the base id of an anonymous clone's
// primitive ("d1" in clone "c" of "d1") it returns the first instance.
func (c *Cluster) Resource(id string) *Resource {
	var found, base *Resource
	var walk func(rs []*Resource)
	walk = func(rs []*Resource) {
		for _, r := range rs {
			if found != nil {
				return
			}
			if r.ID == id {
				found = r
				return
			}
			if base == nil && r.BaseID() == id {
				base = r
			}
			walk(r.Children)
		}
	}
	walk(c.Resources)
	if found != nil {
		return found
	}
	return base
}

// FailCount returns the fail count of resource rsc on node (failure-timeout
// applied) and the time of its last failure; 0, 0 when there is none.
func (c *Cluster) FailCount(rsc, node string) (int, int64) {
	n := c.Node(node)
	if n == nil {
		return 0, 0
	}
	total := 0
	var last int64
	for _, h := range n.History {
		if h.ID == rsc || (h.Resource != nil && (h.Resource.ID == rsc || h.Resource.BaseID() == rsc)) {
			total += h.FailCount
			if h.LastFailure > last {
				last = h.LastFailure
			}
		}
	}
	return total, last
}

// Agent returns "class:provider:type" (or "class:type").
func (r *Resource) Agent() string {
	if r.Provider != "" {
		return r.Class + ":" + r.Provider + ":" + r.Type
	}
	return r.Class + ":" + r.Type
}

// Active reports whether the resource is active on any node.
func (r *Resource) Active() bool { return len(r.Nodes) > 0 }

// BaseID returns the id without a clone instance suffix (":N").
func (r *Resource) BaseID() string {
	if i := strings.LastIndexByte(r.ID, ':'); i > 0 {
		if _, err := strconv.Atoi(r.ID[i+1:]); err == nil {
			return r.ID[:i]
		}
	}
	return r.ID
}

// PrintableID returns the id crm_mon prints: the base id for instances of
// anonymous clones, the id otherwise.
func (r *Resource) PrintableID() string {
	for p := r.Parent; p != nil; p = p.Parent {
		if p.Kind == KindClone {
			if p.Unique {
				return r.ID
			}
			return r.BaseID()
		}
	}
	return r.ID
}

// Top returns the top-level resource r belongs to.
func (r *Resource) Top() *Resource {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// Primitives returns r's primitives (r itself when it is one).
func (r *Resource) Primitives() []*Resource {
	if r.Kind == KindPrimitive {
		return []*Resource{r}
	}
	var out []*Resource
	for _, c := range r.Children {
		out = append(out, c.Primitives()...)
	}
	return out
}

// NodeNames returns the names of the nodes r is active on.
func (r *Resource) NodeNames() []string {
	out := make([]string, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		out = append(out, n.Name)
	}
	return out
}
