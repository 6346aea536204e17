package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// Fencing from the DC (docs/dc.md, "Fencing"): a graph's stonith
// crm_event runs on the DC itself (its on_node is the target, which is
// lost), through the local stonithd's StonithService.Fence with wait set.
// Only a confirmed fencing is answered as success, after the target is
// recorded as fenced in the CIB; a failure is an error (tengine aborts, the
// next computation schedules the fencing again), never assumed.

const (
	// fenceBackoffBase is the wait before the second attempt to fence a
	// target whose last fencing failed; it doubles with each failure.
	fenceBackoffBase = time.Second
	// fenceBackoffMax bounds that wait: a failing device is retried at
	// least this often (a running fence action holds the transition).
	fenceBackoffMax = 10 * time.Second
	// fenceRPCSlack is added to the operation's timeout for the RPC's
	// deadline, so that stonithd reports its own timeout.
	fenceRPCSlack = 2 * time.Second
	// fenceRPCRetry delays the error answer of a fencing request stonithd
	// did not take (unreachable), so the retry is not a tight loop.
	fenceRPCRetry = 500 * time.Millisecond
)

// fenceArgs are a stonith action's parameters as the graph gives them.
type fenceArgs struct {
	target, action string
	timeout        time.Duration
	priorityDelay  *time.Duration
}

// parseFenceArgs reads the target (CRM_meta_on_node, else the request's
// node), the action (CRM_meta_stonith_action, default reboot), the timeout
// (CRM_meta_timeout, ms) and CRM_meta_priority_fencing_delay.
func parseFenceArgs(req *crmv1.ExecuteActionRequest) (fenceArgs, error) {
	attrs := req.GetAttributes()
	a := fenceArgs{target: attrs["CRM_meta_on_node"], action: attrs["CRM_meta_stonith_action"]}
	if a.target == "" {
		a.target = req.GetNode()
	}
	if a.target == "" || !nameOK(a.target) {
		return a, fmt.Errorf("bad fencing target %q", a.target)
	}
	switch a.action {
	case "":
		a.action = "reboot"
	case "reboot", "off", "on":
	default:
		return a, fmt.Errorf("bad fencing action %q", a.action)
	}
	a.timeout = time.Duration(msAttr(attrs, "CRM_meta_timeout")) * time.Millisecond
	if v, ok := attrs["CRM_meta_priority_fencing_delay"]; ok {
		d, err := parseFenceDelay(v)
		if err != nil {
			return a, err
		}
		a.priorityDelay = &d
	}
	return a, nil
}

// defaultFenceTimeout is Pacemaker's stonith-timeout default.
const defaultFenceTimeout = 60 * time.Second

// parseFenceTimeout reads a stonith-timeout value: plain seconds, or with
// a unit (ms, s, m, min, h).
func parseFenceTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, fmt.Errorf("no stonith-timeout")
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if m, ok := strings.CutSuffix(v, "min"); ok {
		v = m + "m"
	}
	return time.ParseDuration(v)
}

// parseFenceDelay reads CRM_meta_priority_fencing_delay: plain seconds as
// Pacemaker's scheduler writes it, or a number with a unit (500ms, 5s).
func parseFenceDelay(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("bad CRM_meta_priority_fencing_delay %q", v)
}

// fenceBackoff returns how long to wait before fencing target again, from
// stonithd's history: the failures since its last success, the newest at
// lastFail. Zero when the last operation did not fail.
func fenceBackoff(entries []*stonithv1.Entry, target string, now time.Time) time.Duration {
	fails := 0
	var last int64
	for _, e := range entries {
		if e.GetTarget() != target {
			continue
		}
		switch e.GetState() {
		case stonithv1.State_STATE_DONE:
			if e.GetCompletedMs() >= last {
				fails, last = 0, e.GetCompletedMs()
			}
		case stonithv1.State_STATE_FAILED:
			if e.GetCompletedMs() >= last {
				fails++
				last = e.GetCompletedMs()
			}
		}
	}
	if fails == 0 {
		return 0
	}
	wait := fenceBackoffBase
	for i := 1; i < fails && wait < fenceBackoffMax; i++ {
		wait *= 2
	}
	wait = min(wait, fenceBackoffMax)
	return max(time.UnixMilli(last).Add(wait).Sub(now), 0)
}

// runFence runs a stonith action on this node (the DC): it waits out the
// back-off of a target whose fencing failed before, asks stonithd, and on
// success records the target as fenced before answering.
func (s *Server) runFence(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	a, err := parseFenceArgs(req)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: stonith: %v", err)
	}
	if a.timeout <= 0 {
		// the graph carries none: stonith-timeout, as stonithd would use
		a.timeout = defaultFenceTimeout
		_ = s.do(ctx, func() {
			if d, err := parseFenceTimeout(clusterProperty(s.node.CIB(), "stonith-timeout")); err == nil && d > 0 {
				a.timeout = d
			}
		})
	}
	if a.target == s.name {
		return nil, status.Errorf(codes.FailedPrecondition, "crmd: stonith: %s does not fence itself", s.name)
	}
	if s.cfg.Stonith == nil {
		return nil, status.Error(codes.Unavailable, "crmd: stonith: no stonithd configured")
	}
	// a target whose fencing failed is tried again, but not in a tight
	// loop: the graph's retry comes at once
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	h, herr := s.cfg.Stonith.History(hctx, &stonithv1.HistoryRequest{Target: a.target})
	hcancel()
	if herr == nil {
		if wait := fenceBackoff(h.GetEntries(), a.target, s.cfg.Now()); wait > 0 {
			if a.timeout > 0 {
				wait = min(wait, a.timeout/2)
			}
			s.log.Info("fencing failed before; waiting before the next attempt", "target", a.target, "wait", wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, status.FromContextError(ctx.Err()).Err()
			case <-s.done:
				t.Stop()
				return nil, status.Error(codes.Unavailable, "crmd: shutting down")
			}
		}
	}
	fr := &stonithv1.FenceRequest{Target: a.target, Action: a.action, Origin: s.name, Client: "crmd",
		TimeoutMs: a.timeout.Milliseconds(), Wait: true}
	if a.priorityDelay != nil {
		ms := a.priorityDelay.Milliseconds()
		fr.PriorityDelayMs = &ms
	}
	rctx := ctx
	if a.timeout > 0 {
		var cancel context.CancelFunc
		d := a.timeout + fenceRPCSlack
		if a.priorityDelay != nil {
			d += *a.priorityDelay
		}
		rctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	pd := "none"
	if a.priorityDelay != nil {
		pd = a.priorityDelay.String()
	}
	s.log.Info("fencing", "target", a.target, "action", a.action, "timeout", a.timeout, "priority_delay", pd)
	resp, err := s.cfg.Stonith.Fence(rctx, fr)
	if err != nil {
		s.log.Warn("fencing request failed", "target", a.target, "err", err)
		// stonithd away (restarting): the graph's retry comes at once and
		// has no history to wait on
		select {
		case <-time.After(fenceRPCRetry):
		case <-ctx.Done():
		case <-s.done:
		}
		return nil, status.Errorf(status.Code(err), "crmd: stonith %s of %s: %v", a.action, a.target, status.Convert(err).Message())
	}
	e := resp.GetEntry()
	switch e.GetState() {
	case stonithv1.State_STATE_DONE:
	case stonithv1.State_STATE_FAILED:
		s.log.Warn("fencing failed", "target", a.target, "action", a.action, "reason", e.GetReason(), "devices", e.GetDevices())
		return nil, status.Errorf(codes.Aborted, "crmd: stonith %s of %s failed: %s", a.action, a.target, e.GetReason())
	default:
		return nil, status.Errorf(codes.DeadlineExceeded, "crmd: stonith %s of %s: still %s", a.action, a.target, e.GetState())
	}
	s.log.Info("fenced", "target", a.target, "action", a.action, "delegate", e.GetDelegate(), "devices", e.GetDevices())
	if a.action != "on" {
		if err := s.recordFenced(ctx, a.target); err != nil {
			return nil, status.Errorf(codes.Unavailable, "crmd: stonith: %v", err)
		}
	}
	return &crmv1.ExecuteActionResponse{}, nil
}

// recordFenced writes target's node_state as fenced, as Pacemaker's
// controller does: in_ccm=false crmd=offline join=down expected=down,
// with its resource history (lrm) and transient attributes erased (the
// node was reset: nothing runs there). One write through the DC, client
// crmd-te.
func (s *Server) recordFenced(ctx context.Context, target string) error {
	state := fmt.Sprintf(`<node_state id="%s" uname="%s" in_ccm="false" crmd="offline" join="down" expected="down"/>`, target, target)
	_, err := s.Write(ctx, cib.Request{Op: cib.OpReplace, XPath: fmt.Sprintf("/cib/status/node_state[@id='%s']", target),
		XML: []byte(state), Client: ClientTE})
	if err != nil && isNotFound(err) {
		_, err = s.Write(ctx, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: []byte(state), Client: ClientTE})
	}
	if err != nil {
		return fmt.Errorf("record %s fenced: %w", target, err)
	}
	return nil
}
