package pengine

import (
	"sort"
	"strings"

	"github.com/beevik/etree"
)

// Role is a resource role. The order matters: Stopped < Started <
// Unpromoted < Promoted.
type Role int

// Roles, in Pacemaker's order.
const (
	RoleUnknown Role = iota
	RoleStopped
	RoleStarted
	RoleUnpromoted
	RolePromoted
)

func (r Role) String() string {
	switch r {
	case RoleStopped:
		return "Stopped"
	case RoleStarted:
		return "Started"
	case RoleUnpromoted:
		return "Unpromoted"
	case RolePromoted:
		return "Promoted"
	}
	return "Unknown"
}

func parseRole(s string) Role {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "stopped":
		return RoleStopped
	case "started":
		return RoleStarted
	case "unpromoted", "slave":
		return RoleUnpromoted
	case "promoted", "master":
		return RolePromoted
	}
	return RoleUnknown
}

// Variant distinguishes primitives from collective resources.
type Variant int

// Resource variants.
const (
	VariantPrimitive Variant = iota
	VariantGroup
	VariantClone
)

// Node is a cluster node as the scheduler sees it.
type Node struct {
	ID, Uname string
	Type      string
	index     int

	Online, Unclean, Standby, StandbyOnFail, Pending, Shutdown bool
	Maintenance, ExpectedUp, Unseen, IsDC, RemoteNode          bool
	discoveryDisabled                                          bool

	Attrs       map[string]string
	Utilization map[string]int
	remaining   map[string]int

	numResources int
	running      []*Resource
	assigned     []*Resource
	fenceReason  string
	// priority is the sum of the priority of the resources active here
	// (+1 for a promoted instance), for priority-fencing-delay.
	priority int
	failures map[string]*failInfo
	hasState bool
}

func (n *Node) attr(name string) (string, bool) {
	v, ok := n.Attrs[name]
	return v, ok
}

// available reports whether the node can run resources (ignoring scores).
func (n *Node) available() bool {
	return n != nil && n.Online && !n.Shutdown && !n.Unclean && !n.Standby && !n.Maintenance
}

// Resource is a configured (or orphaned) resource.
type Resource struct {
	ID       string
	Variant  Variant
	Class    string
	Provider string
	Type     string
	xml      *etree.Element
	Parent   *Resource
	Children []*Resource

	Meta        map[string]string
	paramBlocks []*etree.Element
	ops         []*etree.Element
	Utilization map[string]int

	Priority, Stickiness, MigrationThreshold int
	FailureTimeout                           int64
	RecoveryType                             string

	Managed, Maintenance, Orphan, Failed, StopIfFailed, Blocked bool
	Unique, Critical, Promotable, AllowMigrate, StartPending    bool
	IgnoreFailure, NeedsFencing, NeedsQuorum, IsFenceDevice     bool
	ExclusiveDiscover, Reload, RestartPending                   bool
	notify                                                      bool

	Role, NextRole Role
	nextRoleReason string
	RunningOn      []*Node
	knownOn        []bool
	allowed        []int
	discover       []int8 // per node: 0 always, 1 never, 2 exclusive
	AssignedTo     *Node

	unassigned, assigning, updatingNodes bool

	thisWith []*colocation // rsc is dependent
	withThis []*colocation // rsc is primary

	actions   []*Action
	actionIdx map[string][]*Action

	pendingTask                  string
	pendingNode                  *Node
	partialMigrationSrc          *Node
	partialMigrationTgt          *Node
	dangling                     []*Node
	lrmClass, lrmProv            string
	lrmType                      string
	cloneName                    string
	failedOn                     []*Node
	lockNode                     *Node
	historyRsc                   []*etree.Element // node index -> lrm_resource
	histOps                      [][]*histOp
	groupColocated               bool
	groupOrdered                 bool
	cloneMax, cloneNodeMax       int
	promotedMax, promotedNodeMax int
	interleave, ordered          bool
	sortIndex                    int
	assignPriority               int // priority for instance ordering (raised by promotion scores)
	cloneTmpl                    *etree.Element
}

func (r *Resource) isGroup() bool     { return r.Variant == VariantGroup }
func (r *Resource) isClone() bool     { return r.Variant == VariantClone }
func (r *Resource) isPrimitive() bool { return r.Variant == VariantPrimitive }

func (r *Resource) top() *Resource {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// currentNode returns the node a resource is active on (first).
func (r *Resource) currentNode() *Node {
	if len(r.RunningOn) == 0 {
		return nil
	}
	return r.RunningOn[0]
}

func (r *Resource) primitives(out []*Resource) []*Resource {
	if r.isPrimitive() {
		return append(out, r)
	}
	for _, c := range r.Children {
		out = c.primitives(out)
	}
	return out
}

func (r *Resource) lastMember() *Resource {
	if len(r.Children) == 0 {
		return nil
	}
	return r.Children[len(r.Children)-1]
}

type colocation struct {
	id            string
	dependent     *Resource
	primary       *Resource
	score         int
	dependentRole Role
	primaryRole   Role
	nodeAttr      string
	influence     bool
	explicit      bool
}

type location struct {
	id       string
	rsc      *Resource
	role     Role
	discover int8
	nodes    map[int]int // node index -> score
	order    []int
}

// Action flags.
const (
	afOptional uint32 = 1 << iota
	afRunnable
	afPseudo
	afAlways
	afOnDC
	afReschedule
	afMigratable
	afRequiresAny
	afDumped
	afDangle // stop of the source of a dangling migration
	afAttrsEvaluated
)

// Ordering flags (pcmk__ar_*).
const (
	arNone                   uint32 = 0
	arOrdered                uint32 = 1 << 0
	arFirstImpliesThen       uint32 = 1 << 1
	arThenImpliesFirst       uint32 = 1 << 2
	arUnrunnableFirstBlocks  uint32 = 1 << 3
	arIntermediateStop       uint32 = 1 << 4
	arAsymmetric             uint32 = 1 << 5
	arMinRunnable            uint32 = 1 << 6
	arPromotedThenImplies    uint32 = 1 << 7
	arIfOnSameNode           uint32 = 1 << 8
	arThenCancelsFirst       uint32 = 1 << 9
	arFirstImpliesThenGr     uint32 = 1 << 10
	arThenImpliesFirstGr     uint32 = 1 << 11
	arSerialize              uint32 = 1 << 12
	arUnmigratableThenBlocks uint32 = 1 << 13
	arFirstElseThen          uint32 = 1 << 14
	// arFirstNonMigratable: the edge counts only when first is not part
	// of a migration (pe_order_apply_first_non_migratable).
	arFirstNonMigratable uint32 = 1 << 15
	// arLoad orders around a node's load_stopped pseudo action
	// (pe_order_load): graphed only between actions on the same node.
	arLoad uint32 = 1 << 16
)

// Action is one scheduled (or considered) action.
type Action struct {
	ID         int
	Rsc        *Resource
	Task       string
	UUID       string
	Node       *Node
	Interval   int64
	flags      uint32
	needs      int // 0 nothing, 1 quorum, 2 fencing
	Meta       map[string]string
	Reason     string
	before     []*edge
	after      []*edge
	opEntry    *etree.Element
	cancelTask string

	runnableBefore, requiredRunnableBefore int
	graphed                                bool
	synapse                                int
}

type edge struct {
	action *Action
	typ    uint32
}

func (a *Action) is(f uint32) bool { return a.flags&f != 0 }
func (a *Action) set(f uint32)     { a.flags |= f }
func (a *Action) clear(f uint32)   { a.flags &^= f }

type orderTemplate struct {
	lhsRsc    *Resource
	lhsKey    string
	lhsAction *Action
	rhsRsc    *Resource
	rhsKey    string
	rhsAction *Action
	flags     uint32
}

// natural compare: case-insensitive, digit runs numerically.
func naturalLess(a, b string) bool {
	return naturalCmp(a, b) < 0
}

func naturalCmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si := i
			for i < len(a) && a[i] == '0' {
				i++
			}
			sj := j
			for j < len(b) && b[j] == '0' {
				j++
			}
			ni := i
			for ni < len(a) && isDigit(a[ni]) {
				ni++
			}
			nj := j
			for nj < len(b) && isDigit(b[nj]) {
				nj++
			}
			da, db := a[i:ni], b[j:nj]
			if len(da) != len(db) {
				if len(da) < len(db) {
					return -1
				}
				return 1
			}
			if da != db {
				if da < db {
					return -1
				}
				return 1
			}
			za, zb := i-si, j-sj
			if za != zb {
				if za < zb {
					return -1
				}
				return 1
			}
			i, j = ni, nj
			continue
		}
		la, lb := lower(ca), lower(cb)
		if la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		i++
		j++
	}
	switch {
	case len(a)-i < len(b)-j:
		return -1
	case len(a)-i > len(b)-j:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
