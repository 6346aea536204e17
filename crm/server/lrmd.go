package server

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/pengine"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

// Clients of the CIB writes that record operation results: expected
// results of the running transition, and unsolicited ones (a recurring
// monitor whose rc changed), which make the DC compute anew.
const (
	ClientTE  = "crmd-te"
	ClientLRM = "crmd-lrm"
)

// featureSet is the crm-feature-set written in lrm_rsc_op entries.
const featureSet = "3.19.0"

// opMeta is what the graph said about the action that created an
// operation: kept so that a monitor's later results get the same
// transition key and op-digest.
type opMeta struct {
	attrs    map[string]string
	tkey     string
	targetRC int
}

type mark struct {
	callID     int64
	rc         int32
	status     lrmv1.ExecStatus
	finishedMs int64
}

type mirrorRsc struct {
	rsc      *lrmv1.Resource
	ops      map[string]*lrmv1.OperationResult // by op key
	lastFail *lrmv1.OperationResult
}

// lrmMirror is crmd's copy of its lrmd's history (from WatchResults with
// replay), what the graph said about each operation, and which results
// were already recorded in the CIB. Safe for concurrent use.
type lrmMirror struct {
	mu        sync.Mutex
	synced    bool // the history was loaded since the last (re)connection
	rscs      map[string]*mirrorRsc
	meta      map[string]opMeta // by op key
	inflight  map[string]int    // op keys an ExecuteAction is running
	recorded  map[string]mark   // by op key: the result last written to the CIB
	connected bool
}

func newLRMMirror() *lrmMirror {
	return &lrmMirror{rscs: map[string]*mirrorRsc{}, meta: map[string]opMeta{}, inflight: map[string]int{}, recorded: map[string]mark{}}
}

func markOf(r *lrmv1.OperationResult) mark {
	return mark{callID: r.GetCallId(), rc: r.GetRc(), status: r.GetStatus(), finishedMs: r.GetFinishedMs()}
}

// observe adds a result to the mirror; it reports false for a result
// older than the one the mirror has for its key.
func (m *lrmMirror) observe(r *lrmv1.OperationResult) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observeLocked(r)
}

func (m *lrmMirror) observeLocked(r *lrmv1.OperationResult) bool {
	id := r.GetRsc().GetId()
	mr := m.rscs[id]
	if mr == nil {
		mr = &mirrorRsc{rsc: r.GetRsc(), ops: map[string]*lrmv1.OperationResult{}}
		m.rscs[id] = mr
	}
	key := opKeyOf(r)
	if old := mr.ops[key]; old != nil && (old.GetCallId() > r.GetCallId() || old.GetCallId() == r.GetCallId() && old.GetFinishedMs() > r.GetFinishedMs()) {
		return false
	}
	if r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_CANCELLED {
		delete(mr.ops, key)
		return true
	}
	mr.ops[key] = r
	if failedResult(r, m.meta[key]) {
		mr.lastFail = r
	}
	return true
}

// reset replaces the mirror with lrmd's whole history (after a
// (re)connection); every result in it counts as recorded.
func (m *lrmMirror) reset(hist []*lrmv1.ResourceHistory) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rscs = map[string]*mirrorRsc{}
	m.recorded = map[string]mark{}
	for _, h := range hist {
		for _, rec := range h.GetOps() {
			if r := rec.GetLast(); r != nil {
				if r.GetRsc() == nil {
					r.Rsc = h.GetRsc()
				}
				m.observeLocked(r)
				m.recorded[opKeyOf(r)] = markOf(r)
			}
		}
		if mr := m.rscs[h.GetRsc().GetId()]; mr != nil && h.GetLastFailure() != nil {
			mr.lastFail = h.GetLastFailure()
		}
	}
	m.synced, m.connected = true, true
}

// begin notes an ExecuteAction of key in progress (the watch stream then
// leaves its results to it) and what the graph said about it.
func (m *lrmMirror) begin(key string, meta opMeta) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight[key]++
	m.meta[key] = meta
}

func (m *lrmMirror) end(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inflight[key]--; m.inflight[key] <= 0 {
		delete(m.inflight, key)
	}
}

// claim reports whether an unsolicited result must be recorded, and marks
// it recorded.
func (m *lrmMirror) claim(r *lrmv1.OperationResult) (opMeta, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := opKeyOf(r)
	if !m.synced || m.inflight[key] > 0 || r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_CANCELLED || r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_PENDING {
		return opMeta{}, false
	}
	if old, ok := m.recorded[key]; ok && old.callID == r.GetCallId() && old.rc == r.GetRc() && old.status == r.GetStatus() {
		return opMeta{}, false
	}
	m.recorded[key] = markOf(r)
	return m.meta[key], true
}

// setRecorded marks a result recorded by the ExecuteAction path.
func (m *lrmMirror) setRecorded(r *lrmv1.OperationResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recorded[opKeyOf(r)] = markOf(r)
}

// forget drops an operation (cancelled) or, with key "", a resource.
func (m *lrmMirror) forget(rsc, key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key == "" {
		delete(m.rscs, rsc)
		for k := range m.meta {
			if r, _, _ := pengine.ParseOpKey(k); r == rsc {
				delete(m.meta, k)
				delete(m.recorded, k)
			}
		}
		return
	}
	if mr := m.rscs[rsc]; mr != nil {
		delete(mr.ops, key)
	}
	delete(m.meta, key)
	delete(m.recorded, key)
}

// recurring returns the op keys of rsc's recurring operations.
func (m *lrmMirror) recurring(rsc string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	if mr := m.rscs[rsc]; mr != nil {
		for k, r := range mr.ops {
			if r.GetIntervalMs() > 0 {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// latest returns, per resource, its recurring operations' results and its
// last one-shot result: what the status section should show.
func (m *lrmMirror) latest() map[string][]*lrmv1.OperationResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]*lrmv1.OperationResult{}
	for id, mr := range m.rscs {
		var last *lrmv1.OperationResult
		rs := []*lrmv1.OperationResult{}
		for _, r := range mr.ops {
			if r.GetIntervalMs() > 0 {
				rs = append(rs, r)
			} else if last == nil || r.GetCallId() > last.GetCallId() {
				last = r
			}
		}
		if last != nil {
			rs = append(rs, last)
		}
		out[id] = rs
	}
	return out
}

// disconnected marks the mirror stale until the next reset.
func (m *lrmMirror) disconnected() {
	m.mu.Lock()
	m.synced, m.connected = false, false
	m.mu.Unlock()
}

// lrmXML renders the mirror as the <lrm id="NODE"> element of the node's
// node_state; digestOf supplies the op-digest and transition key of
// operations whose graph attributes are unknown (from the CIB).
func (m *lrmMirror) lrmXML(node string, fallback func(rsc, id string) (digest, tkey string)) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.synced {
		return nil
	}
	doc := etree.NewDocument()
	l := doc.CreateElement("lrm")
	l.CreateAttr("id", node)
	rs := l.CreateElement("lrm_resources")
	ids := make([]string, 0, len(m.rscs))
	for id := range m.rscs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		mr := m.rscs[id]
		re := resourceElement(mr.rsc)
		var last *lrmv1.OperationResult
		keys := make([]string, 0, len(mr.ops))
		for k := range mr.ops {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r := mr.ops[k]
			if r.GetIntervalMs() > 0 {
				re.AddChild(m.opElementLocked(node, opRecordID(r), r, fallback))
			} else if last == nil || r.GetCallId() > last.GetCallId() {
				last = r
			}
		}
		if last != nil {
			re.AddChild(m.opElementLocked(node, id+"_last_0", last, fallback))
		}
		if mr.lastFail != nil {
			re.AddChild(m.opElementLocked(node, id+"_last_failure_0", mr.lastFail, fallback))
		}
		rs.AddChild(re)
	}
	b, _ := doc.WriteToBytes()
	return b
}

func (m *lrmMirror) opElementLocked(node, id string, r *lrmv1.OperationResult, fallback func(rsc, id string) (string, string)) *etree.Element {
	meta, ok := m.meta[opKeyOf(r)]
	digest := ""
	if ok {
		digest = pengine.OpDigest(meta.attrs, r.GetIntervalMs())
	} else if fallback != nil {
		digest, meta.tkey = fallback(r.GetRsc().GetId(), id)
	}
	return opElement(node, id, r, meta.tkey, digest)
}

// opKeyOf returns the operation key of a result.
func opKeyOf(r *lrmv1.OperationResult) string {
	if r.GetOpKey() != "" {
		return r.GetOpKey()
	}
	return lrm.OpKey(r.GetRsc().GetId(), r.GetAction(), time.Duration(r.GetIntervalMs())*time.Millisecond)
}

// opRecordID is the lrm_rsc_op id of a result: RSC_ACTION_INTERVAL for a
// recurring operation, RSC_last_0 otherwise.
func opRecordID(r *lrmv1.OperationResult) string {
	if r.GetIntervalMs() > 0 {
		return opKeyOf(r)
	}
	return r.GetRsc().GetId() + "_last_0"
}

// pcmkStatus maps lrmd's status to Pacemaker's op-status numbers.
func pcmkStatus(s lrmv1.ExecStatus) int {
	switch s {
	case lrmv1.ExecStatus_EXEC_STATUS_DONE:
		return 0
	case lrmv1.ExecStatus_EXEC_STATUS_CANCELLED:
		return 1
	case lrmv1.ExecStatus_EXEC_STATUS_TIMEOUT:
		return 2
	case lrmv1.ExecStatus_EXEC_STATUS_NOT_SUPPORTED:
		return 3
	case lrmv1.ExecStatus_EXEC_STATUS_ERROR:
		return 4
	case lrmv1.ExecStatus_EXEC_STATUS_NOT_INSTALLED:
		return 7
	}
	return -1 // pending
}

// failedResult reports whether a result is a failure that counts (a fail
// count, a last_failure entry): a status other than done, or an rc other
// than the expected one, except what a probe finds (not running, running,
// promoted).
func failedResult(r *lrmv1.OperationResult, meta opMeta) bool {
	if r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_CANCELLED || r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_PENDING {
		return false
	}
	if r.GetStatus() != lrmv1.ExecStatus_EXEC_STATUS_DONE {
		return true
	}
	rc := int(r.GetRc())
	probe := r.GetAction() == lrm.ActionMonitor && r.GetIntervalMs() == 0
	if probe && (rc == lrm.RCNotRunning || rc == lrm.RCOK || rc == lrm.RCRunningPromoted) {
		return false
	}
	if rc == meta.targetRC {
		return false
	}
	// without graph attributes: what lrmd counts as a success
	return !(meta.tkey == "" && (rc == lrm.RCOK || rc == lrm.RCDegraded || rc == lrm.RCDegradedPromoted))
}

func resourceElement(r *lrmv1.Resource) *etree.Element {
	re := etree.NewElement("lrm_resource")
	re.CreateAttr("id", r.GetId())
	re.CreateAttr("class", r.GetClass())
	if r.GetProvider() != "" {
		re.CreateAttr("provider", r.GetProvider())
	}
	re.CreateAttr("type", r.GetType())
	return re
}

// opElement renders one lrm_rsc_op as docs/dc.md shows it.
func opElement(node, id string, r *lrmv1.OperationResult, tkey, digest string) *etree.Element {
	e := etree.NewElement("lrm_rsc_op")
	st := pcmkStatus(r.GetStatus())
	for _, kv := range [][2]string{
		{"id", id},
		{"operation_key", opKeyOf(r)},
		{"operation", r.GetAction()},
		{"crm-feature-set", featureSet},
		{"transition-key", tkey},
		{"transition-magic", fmt.Sprintf("%d:%d;%s", st, r.GetRc(), tkey)},
		{"exit-reason", r.GetExitReason()},
		{"on_node", node},
		{"call-id", strconv.FormatInt(r.GetCallId(), 10)},
		{"rc-code", strconv.Itoa(int(r.GetRc()))},
		{"op-status", strconv.Itoa(st)},
		{"interval", strconv.FormatInt(r.GetIntervalMs(), 10)},
		{"last-rc-change", strconv.FormatInt(r.GetLastRcChangeMs()/1000, 10)},
		{"exec-time", strconv.FormatInt(r.GetExecTimeMs(), 10)},
		{"queue-time", strconv.FormatInt(r.GetQueueTimeMs(), 10)},
		{"op-digest", digest},
	} {
		if (kv[0] == "transition-key" || kv[0] == "transition-magic") && tkey == "" {
			continue
		}
		if kv[0] == "op-digest" && digest == "" {
			continue
		}
		e.CreateAttr(kv[0], kv[1])
	}
	return e
}

// statusXML wraps lrm_resource children in the node's node_state, for a
// CIB modify of the status section.
func statusXML(node string, re *etree.Element) []byte {
	doc := etree.NewDocument()
	ns := doc.CreateElement("node_state")
	ns.CreateAttr("id", node)
	l := ns.CreateElement("lrm")
	l.CreateAttr("id", node)
	l.CreateElement("lrm_resources").AddChild(re)
	b, _ := doc.WriteToBytes()
	return b
}

func rscXPath(node, rsc string) string {
	return fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm/lrm_resources/lrm_resource[@id='%s']", node, rsc)
}

// cibOpFallback reads the op-digest and transition key of an existing
// record from the local CIB (for results whose graph attributes this crmd
// does not know, e.g. after a restart). Call on the loop.
func (s *Server) cibOpFallback(rsc, id string) (string, string) {
	res, err := s.node.Query(cib.Request{Op: cib.OpQuery, XPath: rscXPath(s.name, rsc) + fmt.Sprintf("/lrm_rsc_op[@id='%s']", id)})
	if err != nil || len(res.Output) == 0 {
		return "", ""
	}
	return res.Output[0].SelectAttrValue("op-digest", ""), res.Output[0].SelectAttrValue("transition-key", "")
}

// recordResult writes one result in the CIB status (RSC_last_0 or
// RSC_monitor_INTERVAL, plus RSC_last_failure_0 for a failure) with the
// given client, and counts a failure. It returns once the write is
// acknowledged.
func (s *Server) recordResult(ctx context.Context, r *lrmv1.OperationResult, meta opMeta, client string) error {
	rid := r.GetRsc().GetId()
	if !nameOK(rid) {
		return fmt.Errorf("crmd: record: bad resource id %q", rid)
	}
	var digest string
	if meta.attrs != nil {
		digest = pengine.OpDigest(meta.attrs, r.GetIntervalMs())
	} else {
		var tkey string
		_ = s.do(ctx, func() { digest, tkey = s.cibOpFallback(rid, opRecordID(r)) })
		if meta.tkey == "" {
			meta.tkey = tkey
		}
	}
	re := resourceElement(r.GetRsc())
	re.AddChild(opElement(s.name, opRecordID(r), r, meta.tkey, digest))
	failed := failedResult(r, meta)
	if failed {
		re.AddChild(opElement(s.name, rid+"_last_failure_0", r, meta.tkey, digest))
	}
	if _, err := s.Write(ctx, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: statusXML(s.name, re), Client: client}); err != nil {
		return fmt.Errorf("crmd: record %s: %w", opKeyOf(r), err)
	}
	if failed {
		var ferr error
		if err := s.do(ctx, func() {
			if r.GetAction() == "start" && r.GetIntervalMs() == 0 && startFailureIsFatal(s.node.CIB()) {
				now := s.cfg.Now()
				suffix := fmt.Sprintf("%s#start_0", rid)
				ferr = s.node.SetAttr(now, crm.Attr{Node: s.name, Name: "fail-count-" + suffix, Value: "INFINITY", Lifetime: crm.LifetimeReboot})
				if ferr == nil {
					ferr = s.node.SetAttr(now, crm.Attr{Node: s.name, Name: "last-failure-" + suffix, Value: strconv.FormatInt(now.Unix(), 10), Lifetime: crm.LifetimeReboot})
				}
				return
			}
			ferr = s.node.FailCount(s.cfg.Now(), s.name, rid, r.GetAction(), r.GetIntervalMs())
		}); err != nil {
			return err
		}
		if ferr != nil {
			s.log.Warn("cannot count a failure", "rsc", rid, "op", opKeyOf(r), "err", ferr)
		}
	}
	return nil
}

// deleteRecord removes status entries under this node's lrm (a cancelled
// monitor's entry, or a whole lrm_resource); a missing entry is fine.
func (s *Server) deleteRecord(ctx context.Context, xpath string) error {
	_, err := s.Write(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: xpath, Client: ClientTE})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// pushLRM hands the mirror to the core (crm.Node.SetLRM) for the next join.
func (s *Server) pushLRM(ctx context.Context) {
	_ = s.do(ctx, func() {
		x := s.lrm.lrmXML(s.name, s.cibOpFallback)
		if x == nil {
			return
		}
		if err := s.node.SetLRM(x); err != nil {
			s.log.Warn("cannot hand the lrm history to the core", "err", err)
		}
	})
}

// syncStatus writes the results the status section lacks (with client
// crmd-lrm, so the DC computes) and deletes the lrm_resource entries of
// resources lrmd does not know.
func (s *Server) syncStatus(ctx context.Context) error {
	type rec struct{ callID, rc, status string }
	inCIB := map[string]map[string]rec{}
	if err := s.do(ctx, func() {
		res, err := s.node.Query(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/lrm/lrm_resources/lrm_resource", s.name)})
		if err != nil {
			return
		}
		for _, re := range res.Output {
			ops := map[string]rec{}
			for _, op := range re.SelectElements("lrm_rsc_op") {
				ops[op.SelectAttrValue("id", "")] = rec{op.SelectAttrValue("call-id", ""), op.SelectAttrValue("rc-code", ""), op.SelectAttrValue("op-status", "")}
			}
			inCIB[re.SelectAttrValue("id", "")] = ops
		}
	}); err != nil {
		return err
	}
	latest := s.lrm.latest()
	ids := make([]string, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, r := range latest[id] {
			c, ok := inCIB[id][opRecordID(r)]
			if ok && c.callID == strconv.FormatInt(r.GetCallId(), 10) && c.rc == strconv.Itoa(int(r.GetRc())) && c.status == strconv.Itoa(pcmkStatus(r.GetStatus())) {
				continue
			}
			s.lrm.mu.Lock()
			busy := s.lrm.inflight[opKeyOf(r)] > 0
			meta := s.lrm.meta[opKeyOf(r)]
			s.lrm.mu.Unlock()
			if busy {
				continue
			}
			if err := s.recordResult(ctx, r, meta, ClientLRM); err != nil {
				return err
			}
		}
	}
	for id := range inCIB {
		if _, ok := latest[id]; ok || !nameOK(id) {
			continue
		}
		if _, err := s.Write(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: rscXPath(s.name, id), Client: ClientLRM}); err != nil && !isNotFound(err) {
			return err
		}
		s.log.Info("lrmd does not know a resource the status shows; forgetting it", "rsc", id)
	}
	return nil
}

// FollowLRM watches the local lrmd's results (WatchResults with replay)
// until ctx ends or Run stops, reconnecting every 200 ms while lrmd is
// away. It keeps the mirror of lrmd's history that the join uses, and
// records unsolicited results (a recurring monitor whose rc changed) with
// client crmd-lrm.
func FollowLRM(ctx context.Context, s *Server) {
	if s.cfg.LRM == nil {
		return
	}
	ctx, cancel := stopWith(ctx, s)
	defer cancel()
	for ctx.Err() == nil {
		if err := s.followLRMOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("lrmd watch ended; reconnecting", "err", err)
		}
		s.lrm.disconnected()
		sleep(ctx, retryDelay)
	}
}

func (s *Server) followLRMOnce(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.cfg.LRM.WatchResults(sctx, &lrmv1.WatchResultsRequest{Replay: true})
	if err != nil {
		return err
	}
	// Whether the subscription is registered before or after ListHistory
	// runs, nothing is missed: the replay sends the last result of every
	// key, and results already in the history count as recorded.
	h, err := s.cfg.LRM.ListHistory(sctx, &lrmv1.ListHistoryRequest{})
	if err != nil {
		return err
	}
	s.lrm.reset(h.GetResources())
	s.pushLRM(ctx)
	s.log.Info("following lrmd", "resources", len(h.GetResources()))
	if s.Status().DC != "" {
		// joined already: bring our status entries in line with lrmd (a
		// result that came while crmd was away from lrmd, or a restarted
		// lrmd that forgot everything, so that the DC probes again);
		// otherwise the coming join writes the history SetLRM holds
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.syncStatus(wctx)
		wcancel()
		if err != nil {
			s.log.Warn("cannot bring the status in line with lrmd", "err", err)
		}
	}
	for {
		ev, err := st.Recv()
		if err != nil {
			return err
		}
		r := ev.GetResult()
		if r == nil || r.GetRsc() == nil || !nameOK(r.GetRsc().GetId()) {
			continue
		}
		if !s.lrm.observe(r) {
			continue
		}
		s.pushLRM(ctx)
		meta, ok := s.lrm.claim(r)
		if !ok {
			continue
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		err = s.recordResult(wctx, r, meta, ClientLRM)
		wcancel()
		if err != nil {
			s.log.Warn("cannot record an unsolicited result", "rsc", r.GetRsc().GetId(), "op", opKeyOf(r), "err", err)
		} else {
			s.log.Info("unsolicited result recorded", "rsc", r.GetRsc().GetId(), "op", opKeyOf(r), "rc", r.GetRc())
		}
	}
}
