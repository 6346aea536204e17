package pengine

import (
	"sort"

	"github.com/beevik/etree"
)

// Unpacked is a cluster's state as the scheduler reads it from a CIB,
// before any placement: cluster options, nodes with their state and
// attributes, resources with their role, where they are active and whether
// they failed. It is what status tools (crm_mon, crm_resource -L) show, and
// it is computed by the same code Compute uses, so the two never disagree.
//
// An Unpacked is read-only and not safe for concurrent use.
type Unpacked struct {
	// Nodes are the configured nodes in natural name order.
	Nodes []*Node
	// Resources are the top-level resources in configuration order,
	// followed by orphans (history without configuration).
	Resources []*Resource
	// Options are the cluster properties (cib-bootstrap-options first).
	Options map[string]string
	// FencingEnabled is stonith-enabled; Quorate is the CIB's have-quorum.
	FencingEnabled, Quorate, Symmetric, MaintenanceMode, StopAll bool
	// NoQuorumPolicy is the effective no-quorum-policy.
	NoQuorumPolicy string
	// Now is the evaluation time used (execution-date overrides cfg.Now).
	Now int64
	// Warnings are configuration problems found while unpacking.
	Warnings []string

	s *sched
}

// Unpack reads doc's configuration and status the way the scheduler does
// (options, nodes, resources, then the status section: node states,
// transient attributes and operation history) and stops there. The
// document is only read.
func Unpack(doc *etree.Document, cfg Config) (*Unpacked, error) {
	if doc == nil || doc.Root() == nil {
		return nil, ErrNoCIB
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newSched(doc, cfg)
	s.unpackConfig()
	s.unpackNodes()
	s.unpackResources()
	s.unpackStatus()
	rs := append([]*Resource(nil), s.resources...)
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Orphan != rs[j].Orphan {
			return !rs[i].Orphan
		}
		if rs[i].Orphan {
			return false
		}
		return rs[i].sortIndex < rs[j].sortIndex
	})
	opts := make(map[string]string, len(s.opts))
	for k, v := range s.opts {
		opts[k] = v
	}
	return &Unpacked{
		Nodes: s.nodes, Resources: rs, Options: opts,
		FencingEnabled: s.fencingEnabled, Quorate: s.quorate, Symmetric: s.symmetric,
		MaintenanceMode: s.maintenanceMode, StopAll: s.stopAll, NoQuorumPolicy: s.noQuorumPolicy,
		Now: s.now, Warnings: append(append([]string(nil), s.configErrs...), s.warnings...), s: s,
	}, nil
}

// FailCount returns r's fail count on n (summed over its operations,
// failure-timeout applied, as Pacemaker's default fail count) and the
// time of its last failure (0 when none).
func (u *Unpacked) FailCount(r *Resource, n *Node) (int, int64) {
	if r == nil || n == nil {
		return 0, 0
	}
	return u.s.failcount(r, n, true)
}

// History returns the lrm_resource element recording r's operations on n,
// or nil.
func (u *Unpacked) History(r *Resource, n *Node) *etree.Element {
	if r == nil || n == nil || n.index >= len(r.historyRsc) || u.s.nodes[n.index] != n {
		return nil
	}
	return r.historyRsc[n.index]
}

// HistoryName returns the id r's history uses: the configured id, or for
// an anonymous clone instance the id its history was recorded under.
func (r *Resource) HistoryName() string {
	if r.cloneName != "" {
		return r.cloneName
	}
	return r.ID
}

// Running returns the resources (primitives) active on n.
func (n *Node) Running() []*Resource { return append([]*Resource(nil), n.running...) }

// FailedOn returns the nodes where r has a failed operation.
func (r *Resource) FailedOn() []*Node { return append([]*Node(nil), r.failedOn...) }

// OpExpiredAt reports whether a failure recorded at lastChange is past
// r's failure-timeout at now.
func (r *Resource) OpExpiredAt(lastChange, now int64) bool {
	return r.FailureTimeout > 0 && lastChange > 0 && now >= lastChange+r.FailureTimeout
}

// OnFail returns the on-fail policy configured (or defaulted) for r's
// operation task with interval (ms).
func (u *Unpacked) OnFail(r *Resource, task string, interval int64) string {
	return u.s.onFailFor(r, task, interval)
}

// HistoryOp is one lrm_rsc_op entry read the way the scheduler reads it.
type HistoryOp struct {
	ID, Key, Task string
	// Interval is in milliseconds.
	Interval int64
	// RC is the agent's exit code, Status Pacemaker's op-status (-1
	// pending), Expected the rc the transition key expected (-1 unknown).
	RC, Status, Expected, CallID int
	// LastRCChange is last-rc-change (or last-run), seconds since the epoch.
	LastRCChange int64
}

// ParseHistoryOp reads an lrm_rsc_op element.
func ParseHistoryOp(e *etree.Element) HistoryOp {
	var h histOp
	histOpFromAttrs(&h, e.Attr)
	return HistoryOp{ID: h.id, Key: h.opKey(), Task: h.task, Interval: h.interval, RC: h.rc,
		Status: h.status, Expected: h.expected, CallID: h.callID, LastRCChange: h.lastChg}
}
