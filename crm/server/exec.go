package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/pengine"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

// ExecTransport sends crmd-exec messages to another node. Messaging
// implements it; a Transport that does not cannot dispatch actions to
// other nodes.
type ExecTransport interface {
	// SendExec sends data on channel crmd-exec to node to.
	SendExec(ctx context.Context, to string, data []byte) error
}

// SendExec implements ExecTransport.
func (m Messaging) SendExec(ctx context.Context, to string, data []byte) error {
	return m.C.Send(ctx, to, ExecChannel, data)
}

// pendingExec is an action this node dispatched to another node.
type pendingExec struct {
	target string
	ch     chan execMsg // buffered, one answer
}

// execEntry is an action this node runs (or ran), by dedupe key.
type execEntry struct {
	done chan struct{}
	resp *crmv1.ExecuteActionResponse
	err  error
}

// maxExecEntries bounds the remembered action outcomes (dedupe).
const maxExecEntries = 4096

func dedupeKey(r *crmv1.ExecuteActionRequest) string {
	k := r.GetTransitionKey()
	if k == "" {
		k = fmt.Sprintf("%d:%d", r.GetActionId(), r.GetTransitionId())
	}
	return r.GetNode() + "|" + k + "|" + r.GetOperationKey()
}

// execOn runs an action on its target node: locally when the target is
// this node, else through the target's crmd over crmd-exec (resent every
// Config.ExecRetry until answered; the target runs it once). It fails
// with UNAVAILABLE when the target is not, or stops being, a member.
func (s *Server) execOn(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	if err := checkAction(req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: execute: %v", err)
	}
	target := req.GetNode()
	if target == s.name || req.GetOperation() == "stonith" {
		// the DC fences: a stonith action's node is its (lost) target
		return s.runOnce(ctx, req)
	}
	et, ok := s.tr.(ExecTransport)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "crmd: this transport cannot reach other nodes' crmd")
	}
	st := s.Status()
	if !contains(st.View.Members, target) {
		return nil, status.Errorf(codes.Unavailable, "crmd: %s is not a member of view %d", target, st.View.Number)
	}
	p := &pendingExec{target: target, ch: make(chan execMsg, 1)}
	s.xmu.Lock()
	s.xnext++
	id := s.xnext
	s.xpending[id] = p
	s.xmu.Unlock()
	defer func() {
		s.xmu.Lock()
		delete(s.xpending, id)
		s.xmu.Unlock()
	}()
	// a view change between the membership check and the registration
	if st2 := s.Status(); !contains(st2.View.Members, target) {
		return nil, status.Errorf(codes.Unavailable, "crmd: %s left the view", target)
	}
	data := encodeExec(execMsg{Kind: execRequest, ID: id, View: int64(st.View.Number), Req: req})
	retry := time.NewTicker(s.cfg.ExecRetry)
	defer retry.Stop()
	for {
		if err := et.SendExec(ctx, target, data); err != nil {
			s.log.Debug("crmd-exec send failed; retrying", "to", target, "err", err)
		}
		select {
		case m := <-p.ch:
			if m.Code != codes.OK {
				return nil, status.Error(m.Code, m.Err)
			}
			return m.Resp, nil
		case <-retry.C:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-s.done:
			return nil, status.Error(codes.Unavailable, "crmd: shutting down")
		}
	}
}

// failLeft fails the dispatched actions whose target is not in members.
func (s *Server) failLeft(members []string) {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	for id, p := range s.xpending {
		if !contains(members, p.target) {
			select {
			case p.ch <- execMsg{Kind: execResult, ID: id, Code: codes.Unavailable, Err: fmt.Sprintf("crmd: %s left the view", p.target)}:
			default:
			}
		}
	}
}

// DeliverExec handles a crmd-exec message from node from: a request runs
// (once per transition key) and is answered; a result completes the
// dispatched call it answers. Malformed messages are dropped.
func (s *Server) DeliverExec(ctx context.Context, from string, data []byte) error {
	if from == s.name {
		return nil
	}
	m, err := decodeExec(data)
	if err != nil {
		s.log.Debug("crmd-exec message refused", "from", from, "err", err)
		return nil
	}
	switch m.Kind {
	case execRequest:
		if m.Req.GetNode() != s.name {
			s.log.Debug("crmd-exec request for another node", "from", from, "node", m.Req.GetNode())
			return nil
		}
		go func() {
			resp, err := s.runOnce(s.life, m.Req)
			out := execMsg{Kind: execResult, ID: m.ID, View: m.View, Resp: resp}
			if err != nil {
				st := status.Convert(err)
				out.Code, out.Err = st.Code(), st.Message()
				if out.Code == codes.OK {
					out.Code = codes.Unknown
				}
				if len(out.Err) > 4096 {
					out.Err = out.Err[:4096]
				}
			}
			et, ok := s.tr.(ExecTransport)
			if !ok {
				return
			}
			if err := et.SendExec(s.life, from, encodeExec(out)); err != nil {
				s.log.Warn("cannot answer a crmd-exec request (the dispatcher resends)", "to", from, "err", err)
			}
		}()
	case execResult:
		s.xmu.Lock()
		p := s.xpending[m.ID]
		s.xmu.Unlock()
		if p == nil || p.target != from {
			return nil // answered already, or not ours
		}
		select {
		case p.ch <- m:
		default:
		}
	}
	return nil
}

// runOnce runs an action at most once per dedupe key: a repeated request
// waits for (or gets) the first one's outcome.
func (s *Server) runOnce(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	key := dedupeKey(req)
	s.xmu.Lock()
	e := s.xdone[key]
	if e == nil {
		e = &execEntry{done: make(chan struct{})}
		s.xdone[key] = e
		s.xorder = append(s.xorder, key)
		if len(s.xorder) > maxExecEntries {
			delete(s.xdone, s.xorder[0])
			s.xorder = s.xorder[1:]
		}
		s.xmu.Unlock()
		go func() {
			// the action runs to its end whoever waits: a caller's
			// deadline must not leave an agent half-run or unrecorded
			e.resp, e.err = s.runAction(s.life, req)
			close(e.done)
		}()
	} else {
		s.xmu.Unlock()
		s.log.Debug("duplicate action request", "key", key)
	}
	select {
	case <-e.done:
		return e.resp, e.err
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func msAttr(attrs map[string]string, name string) int64 {
	v, err := strconv.ParseInt(attrs[name], 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// runAction runs one action on this node through lrmd and records its
// result in the CIB status before returning it.
func (s *Server) runAction(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	attrs := req.GetAttributes()
	rsc := req.GetRscId()
	op := req.GetOperation()
	s.log.Info("executing action", "rsc", rsc, "op", req.GetOperationKey(), "key", req.GetTransitionKey())
	switch op {
	case "stonith":
		return s.runFence(ctx, req)
	case "do_shutdown":
		return s.runShutdown(ctx, req)
	case "clear_failcount":
		if err := s.clearFailcount(ctx, s.name, rsc); err != nil {
			return nil, status.Errorf(codes.Unavailable, "crmd: clear_failcount: %v", err)
		}
		return &crmv1.ExecuteActionResponse{}, nil
	}
	if s.cfg.LRM == nil {
		return nil, status.Error(codes.Unavailable, "crmd: no lrmd configured")
	}
	switch op {
	case "cancel":
		action := attrs["CRM_meta_operation"]
		if action == "" {
			action = lrm.ActionMonitor
		}
		iv := msAttr(attrs, "CRM_meta_interval")
		if _, err := s.cfg.LRM.Cancel(ctx, &lrmv1.CancelRequest{RscId: rsc, Action: action, IntervalMs: iv}); err != nil && status.Code(err) != codes.NotFound {
			return nil, err
		}
		key := lrm.OpKey(rsc, action, time.Duration(iv)*time.Millisecond)
		s.lrm.forget(rsc, key)
		if err := s.deleteRecord(ctx, rscXPath(s.name, rsc)+fmt.Sprintf("/lrm_rsc_op[@id='%s']", key)); err != nil {
			return nil, status.Errorf(codes.Unavailable, "crmd: record cancel: %v", err)
		}
		return &crmv1.ExecuteActionResponse{}, nil
	case "delete":
		if _, err := s.cfg.LRM.Unregister(ctx, &lrmv1.UnregisterRequest{RscId: rsc}); err != nil && status.Code(err) != codes.NotFound {
			return nil, err
		}
		s.lrm.forget(rsc, "")
		s.pushLRM(ctx)
		if err := s.deleteRecord(ctx, rscXPath(s.name, rsc)); err != nil {
			return nil, status.Errorf(codes.Unavailable, "crmd: record delete: %v", err)
		}
		return &crmv1.ExecuteActionResponse{}, nil
	}
	if !lrm.KnownAction(op) {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: unknown operation %q", op)
	}
	if req.GetRscClass() == lrm.ClassStonith {
		return s.runFenceDevice(ctx, req)
	}
	iv := msAttr(attrs, "CRM_meta_interval")
	params, meta := map[string]string{}, map[string]string{}
	for k, v := range attrs {
		if m, ok := strings.CutPrefix(k, "CRM_meta_"); ok {
			meta[m] = v
		} else if k != "crm_feature_set" {
			params[k] = v
		}
	}
	if op == lrm.ActionStop {
		// as Pacemaker's controller: a stop ends the resource's recurring
		// operations first (their entries stay; older call ids)
		for _, k := range s.lrm.recurring(rsc) {
			_, action, ms := pengine.ParseOpKey(k)
			if _, err := s.cfg.LRM.Cancel(ctx, &lrmv1.CancelRequest{RscId: rsc, Action: action, IntervalMs: ms}); err != nil && status.Code(err) != codes.NotFound {
				s.log.Warn("cannot cancel a recurring operation before stop", "rsc", rsc, "op", k, "err", err)
			}
			s.lrm.forget(rsc, k)
		}
	}
	r := &lrmv1.Resource{Id: rsc, Class: req.GetRscClass(), Provider: req.GetRscProvider(), Type: req.GetRscType()}
	key := lrm.OpKey(rsc, op, time.Duration(iv)*time.Millisecond)
	om := opMeta{attrs: attrs, tkey: req.GetTransitionKey(), targetRC: int(req.GetTargetRc())}
	s.lrm.begin(key, om)
	defer s.lrm.end(key)
	er, err := s.cfg.LRM.Exec(ctx, &lrmv1.ExecRequest{Rsc: r, Action: op, IntervalMs: iv, TimeoutMs: msAttr(attrs, "CRM_meta_timeout"), Params: params, Meta: meta, Wait: true})
	if err != nil {
		return nil, err
	}
	res := er.GetResult()
	if res == nil {
		return nil, status.Error(codes.Internal, "crmd: lrmd answered without a result")
	}
	if res.GetRsc() == nil {
		res.Rsc = r
	}
	s.lrm.observe(res)
	s.lrm.setRecorded(res)
	s.pushLRM(ctx)
	if err := s.recordResult(ctx, res, om, ClientTE); err != nil {
		return nil, status.Errorf(codes.Unavailable, "crmd: %v", err)
	}
	return &crmv1.ExecuteActionResponse{Rc: res.GetRc(), OpStatus: int32(pcmkStatus(res.GetStatus())), ExitReason: res.GetExitReason(), CallId: res.GetCallId()}, nil
}

// clearFailcount deletes the fail-count-RSC#... and last-failure-RSC#...
// attributes of rsc on node and waits until the local replica has none.
func (s *Server) clearFailcount(ctx context.Context, node, rsc string) error {
	var names []string
	if err := s.do(ctx, func() {
		res, err := s.node.Query(cib.Request{Op: cib.OpQuery, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']/transient_attributes/instance_attributes/nvpair", node)})
		if err != nil {
			return
		}
		for _, e := range res.Output {
			n := e.SelectAttrValue("name", "")
			if strings.HasPrefix(n, "fail-count-"+rsc+"#") || strings.HasPrefix(n, "last-failure-"+rsc+"#") {
				names = append(names, n)
			}
		}
	}); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.setAttrWait(ctx, crm.Attr{Node: node, Name: n, Lifetime: crm.LifetimeReboot, Delete: true}); err != nil {
			return err
		}
	}
	return nil
}

// setAttrWait sets an attribute through the core and, without dampening,
// waits until the local replica shows it.
func (s *Server) setAttrWait(ctx context.Context, a crm.Attr) error {
	var serr error
	if err := s.do(ctx, func() { serr = s.node.SetAttr(s.cfg.Now(), a) }); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if a.Dampen > 0 {
		return nil
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		var v string
		var ok bool
		if err := s.do(ctx, func() { v, ok = s.node.GetAttr(a.Node, a.Name, a.Lifetime) }); err != nil {
			return err
		}
		if a.Delete && !ok || !a.Delete && ok && v == a.Value {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func isNotFound(err error) bool {
	return errors.Is(err, cib.ErrNotFound) || strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "matches nothing")
}
