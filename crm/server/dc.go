package server

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
)

// expectations are the records the running transition's actions will
// write, on the DC: CIB changes that only write them do not trigger a
// computation. Loop-only.
type expectations struct {
	keys map[string]map[string]int // node -> transition key -> pending actions
	dels map[string]map[string]int // node -> resource -> pending cancel/delete
}

func newExpectations() *expectations {
	return &expectations{keys: map[string]map[string]int{}, dels: map[string]map[string]int{}}
}

func bump(m map[string]map[string]int, a, b string, d int) {
	if m[a] == nil {
		m[a] = map[string]int{}
	}
	m[a][b] += d
	if m[a][b] <= 0 {
		delete(m[a], b)
		if len(m[a]) == 0 {
			delete(m, a)
		}
	}
}

// add registers (d=1) or withdraws (d=-1) the records of an action.
func (e *expectations) add(r *crmv1.ExecuteActionRequest, d int) {
	if r.GetTransitionKey() != "" {
		bump(e.keys, r.GetNode(), r.GetTransitionKey(), d)
	}
	if op := r.GetOperation(); op == "cancel" || op == "delete" {
		bump(e.dels, r.GetNode(), r.GetRscId(), d)
	}
}

func (e *expectations) pending(node string) bool {
	return len(e.keys[node]) > 0 || len(e.dels[node]) > 0
}

var (
	nodeStatePath = regexp.MustCompile(`^/cib/status/node_state\[@id='([^']*)'\](.*)$`)
	rscPath       = regexp.MustCompile(`/lrm_resource\[@id='([^']*)'\]`)
)

// unexpected reports whether a persisted patch is anything but the
// records of the running transition's actions.
func (e *expectations) unexpected(p *cib.Patch) bool {
	_, bad := e.firstUnexpected(p)
	return bad
}

// firstUnexpected returns the first change that is not an expected record.
func (e *expectations) firstUnexpected(p *cib.Patch) (cib.Change, bool) {
	for _, c := range p.Changes {
		if e.changeUnexpected(c) {
			return c, true
		}
	}
	return cib.Change{}, false
}

// changeUnexpected reports whether one change is not an expected record.
func (e *expectations) changeUnexpected(c cib.Change) bool {
	m := nodeStatePath.FindStringSubmatch(c.Path)
	if m == nil {
		return true
	}
	node, rest := m[1], m[2]
	underLRM := strings.HasPrefix(rest, "/lrm")
	switch c.Op {
	case cib.ChangeCreate:
		if c.Element == nil || !underLRM && !(rest == "" && c.Element.Tag == "lrm") {
			return true
		}
		ops := c.Element.FindElements(".//lrm_rsc_op")
		if c.Element.Tag == "lrm_rsc_op" {
			ops = append(ops, c.Element)
		}
		if len(ops) == 0 && !e.pending(node) {
			return true
		}
		for _, op := range ops {
			if e.keys[node][op.SelectAttrValue("transition-key", "")] == 0 {
				return true
			}
		}
	case cib.ChangeModify:
		if !underLRM || c.Element == nil {
			return true
		}
		if c.Element.Tag == "lrm_rsc_op" || strings.Contains(rest, "/lrm_rsc_op[") {
			if e.keys[node][c.Element.SelectAttrValue("transition-key", "")] == 0 {
				return true
			}
		} else if !e.pending(node) {
			return true
		}
	case cib.ChangeDelete:
		rm := rscPath.FindStringSubmatch(rest)
		if !underLRM || rm == nil || e.dels[node][rm[1]] == 0 {
			return true
		}
	default:
		return true
	}
	return false
}

// classify runs on the loop after a persist: on an active DC, any change
// that is not an expected record triggers a computation.
func (s *Server) classify(entries []cib.Entry) {
	if !s.node.Active() {
		return
	}
	for _, en := range entries {
		if en.Patch == nil {
			s.trigger("full CIB copy")
			return
		}
		if c, bad := s.expect.firstUnexpected(en.Patch); bad {
			s.log.Debug("unexpected CIB change", "op", c.Op, "path", c.Path)
			s.trigger("cib change")
			return
		}
	}
}

// trigger marks a computation needed (non-blocking, coalescing).
func (s *Server) trigger(why string) {
	select {
	case s.trig <- why:
	default:
	}
}

// runState is a transition tengine runs.
type runState struct {
	id       int64
	cancel   context.CancelFunc
	done     chan runEnd
	aborting bool
}

type runEnd struct {
	outcome  tenginev1.Outcome
	executed int64
	err      error
}

func (s *Server) setTransition(st crmv1.TransitionState, id int64, summary []string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.tstate = st
	if id > 0 {
		s.tid = id
	}
	if summary != nil {
		s.tsummary = summary
	}
}

// runDC is the DC's pipeline (docs/dc.md): on a trigger, wait
// Config.DebounceCompute, abort a running transition and wait for its end,
// compute with pengine, hand a graph with actions to tengine. It does
// nothing on a node that is not the active DC, and stops the running
// transition when the node stops being DC.
func (s *Server) runDC(ctx context.Context) {
	if s.cfg.PEngine == nil || s.cfg.TEngine == nil {
		return
	}
	var (
		cur     *runState
		due     time.Time // when to compute (zero: not needed)
		recheck time.Time
		backoff time.Duration
		nextID  int64
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var curDone chan runEnd
	for {
		wake := due
		if !recheck.IsZero() && (wake.IsZero() || recheck.Before(wake)) {
			wake = recheck
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !wake.IsZero() {
			timer.Reset(max(time.Until(wake), 0))
		}
		curDone = nil
		if cur != nil {
			curDone = cur.done
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				cur.cancel()
				<-cur.done
			}
			return
		case why := <-s.trig:
			// The end of a join ("DC change": the status now holds every
			// member's history and the lost nodes) computes at once: it is
			// the step of every failover, and nothing coalesces with it.
			// Other triggers wait DebounceCompute so a burst of writes
			// gives one computation.
			at := time.Now().Add(s.cfg.DebounceCompute)
			if why == "DC change" {
				at = time.Now()
			}
			if due.IsZero() || at.Before(due) {
				due = at
				s.log.Debug("computation needed", "why", why)
			}
		case end := <-curDone:
			s.log.Info("transition ended", "graph", cur.id, "outcome", end.outcome.String(), "executed", end.executed, "err", end.err)
			cur = nil
			s.setTransition(crmv1.TransitionState_TRANSITION_STATE_IDLE, 0, nil)
			if end.executed > 0 || end.outcome != tenginev1.Outcome_OUTCOME_COMPLETE {
				if due.IsZero() {
					due = time.Now().Add(s.cfg.DebounceCompute)
				}
			}
			if end.err != nil {
				backoff = nextBackoff(backoff)
				due = time.Now().Add(backoff)
			}
		case <-timer.C:
		}
		now := time.Now()
		if !recheck.IsZero() && !now.Before(recheck) {
			recheck = time.Time{}
			if due.IsZero() {
				due = now
			}
		}
		st := s.Status()
		if !st.IsDC || !st.Active {
			if cur != nil {
				s.log.Info("no longer the DC; stopping the transition", "graph", cur.id)
				cur.cancel()
				<-cur.done
				cur = nil
			}
			due, recheck = time.Time{}, time.Time{}
			s.setTransition(crmv1.TransitionState_TRANSITION_STATE_UNSPECIFIED, 0, nil)
			continue
		}
		if due.IsZero() || now.Before(due) {
			continue
		}
		if cur != nil {
			if !cur.aborting {
				cur.aborting = true
				s.setTransition(crmv1.TransitionState_TRANSITION_STATE_ABORTING, 0, nil)
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := s.cfg.TEngine.Abort(actx, &tenginev1.AbortRequest{TransitionId: cur.id, Reason: "the CIB changed"})
				cancel()
				if err != nil {
					// tengine unreachable: cancelling the Run call aborts too
					s.log.Warn("tengine abort failed; cancelling the run", "graph", cur.id, "err", err)
					cur.cancel()
				}
			}
			continue // compute once the Run stream ended
		}
		s.setTransition(crmv1.TransitionState_TRANSITION_STATE_COMPUTING, 0, nil)
		if err := s.ensureNodes(ctx, st.View.Members); err != nil {
			backoff = nextBackoff(backoff)
			due = time.Now().Add(backoff)
			s.log.Warn("cannot add members to the nodes section; retrying", "err", err, "in", backoff)
			continue
		}
		nextID++
		res, err := s.compute(ctx, nextID)
		if err != nil {
			backoff = nextBackoff(backoff)
			due = time.Now().Add(backoff)
			s.log.Warn("pengine unreachable or failed; retrying", "err", err, "in", backoff)
			s.setTransition(crmv1.TransitionState_TRANSITION_STATE_IDLE, 0, nil)
			continue
		}
		due = time.Time{}
		recheck = time.Time{}
		if res.GetRecheckByUnix() > 0 {
			recheck = time.Unix(res.GetRecheckByUnix(), 0)
		}
		s.setTransition(crmv1.TransitionState_TRANSITION_STATE_IDLE, nextID, res.GetSummary())
		if res.GetActions() == 0 {
			backoff = 0
			s.log.Debug("nothing to do", "graph", nextID)
			continue
		}
		rctx, rcancel := context.WithCancel(ctx)
		stream, err := s.cfg.TEngine.Run(rctx, &tenginev1.RunRequest{TransitionId: nextID, GraphXml: res.GetGraphXml()})
		if err != nil {
			rcancel()
			backoff = nextBackoff(backoff)
			due = time.Now().Add(backoff)
			s.log.Warn("tengine unreachable or busy; retrying", "err", err, "in", backoff)
			if status.Code(err) == codes.FailedPrecondition {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, _ = s.cfg.TEngine.Abort(actx, &tenginev1.AbortRequest{Reason: "a new DC computes"})
				cancel()
			}
			continue
		}
		cur = &runState{id: nextID, cancel: rcancel, done: make(chan runEnd, 1)}
		s.setTransition(crmv1.TransitionState_TRANSITION_STATE_EXECUTING, nextID, nil)
		s.log.Info("transition started", "graph", nextID, "actions", res.GetActions(), "summary", strings.Join(res.GetSummary(), "; "))
		go follow(stream, cur, rcancel)
	}
}

// follow reads a Run stream to its end.
func follow(stream interface {
	Recv() (*tenginev1.RunEvent, error)
}, cur *runState, cancel context.CancelFunc) {
	defer cancel()
	var end runEnd
	for {
		ev, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				end.err = err
			}
			end.outcome = tenginev1.Outcome_OUTCOME_ABORTED
			break
		}
		if a := ev.GetAction(); a != nil && !a.GetStarted() {
			end.executed++
		}
		if f := ev.GetFinished(); f != nil {
			end.outcome = f.GetOutcome()
			if n := f.GetCompleted() + f.GetFailed(); n > end.executed {
				end.executed = n
			}
			break
		}
	}
	cur.done <- end
}

func nextBackoff(b time.Duration) time.Duration {
	switch {
	case b <= 0:
		return 100 * time.Millisecond
	case b >= 5*time.Second:
		return 5 * time.Second
	}
	return min(2*b, 5*time.Second)
}

// ensureNodes gives every member a configuration/nodes/node entry (as
// Pacemaker's controller does when a node joins): the policy engine only
// places resources on nodes listed there.
func (s *Server) ensureNodes(ctx context.Context, members []string) error {
	var missing []string
	if err := s.do(ctx, func() {
		for _, m := range members {
			if !nameOK(m) {
				continue
			}
			res, err := s.node.Query(cib.Request{Op: cib.OpQuery, XPath: "/cib/configuration/nodes/node[@id='" + m + "']"})
			if err != nil || len(res.Output) == 0 {
				missing = append(missing, m)
			}
		}
	}); err != nil {
		return err
	}
	for _, m := range missing {
		x := `<node id="` + m + `" uname="` + m + `"/>`
		if _, err := s.Write(ctx, cib.Request{Op: cib.OpCreate, Scope: "nodes", XML: []byte(x), Client: "crmd"}); err != nil && !errors.Is(err, cib.ErrExists) {
			return err
		}
		s.log.Info("node added to the configuration", "node", m)
	}
	return nil
}

// compute sends the local CIB to pengine.
func (s *Server) compute(ctx context.Context, id int64) (*penginev1.ComputeResponse, error) {
	var data []byte
	if err := s.do(ctx, func() {
		data = s.node.CIB().Bytes()
		// triggers of changes this snapshot holds are spent (the
		// classification runs on the loop too, so none is in flight)
		select {
		case <-s.trig:
		default:
		}
	}); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return s.cfg.PEngine.Compute(cctx, &penginev1.ComputeRequest{CibXml: data, NowUnix: s.cfg.Now().Unix(), TransitionId: id})
}

// noQuorumPolicy reads crm_config's no-quorum-policy ("" when unset).
func noQuorumPolicy(c *cib.CIB) string { return clusterProperty(c, "no-quorum-policy") }

// clusterProperty reads a cluster option from crm_config ("" when unset;
// the last definition wins, as the policy engine reads them).
func clusterProperty(c *cib.CIB, name string) string {
	cfg := c.Root().FindElement("configuration/crm_config")
	if cfg == nil {
		return ""
	}
	var v string
	for _, set := range cfg.SelectElements("cluster_property_set") {
		for _, nv := range set.SelectElements("nvpair") {
			if nv.SelectAttrValue("name", "") == name {
				v = nv.SelectAttrValue("value", "")
			}
		}
	}
	return v
}

// startFailureIsFatal reports crm_config's start-failure-is-fatal
// (default true): a failed start then sets the fail count to INFINITY, as
// Pacemaker's controller does with the graph's failed-start-offset.
func startFailureIsFatal(c *cib.CIB) bool {
	switch strings.ToLower(clusterProperty(c, "start-failure-is-fatal")) {
	case "false", "no", "off", "0", "n", "f":
		return false
	}
	return true
}
