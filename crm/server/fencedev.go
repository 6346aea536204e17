package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/lrm"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// Fence devices are resources of class stonith. lrmd does not run them
// (lrm.ErrStonithClass): stonithd reads every device from the CIB and
// fences with it wherever the resource runs. As in Pacemaker's executor,
// crmd answers their operations itself: start asks stonithd to monitor the
// device (it must be registered and its agent answer), stop succeeds,
// a probe reports what this crmd last did (running after a start), a
// monitor asks stonithd again (once: a recurring device monitor is
// stonithd's, not repeated here). Results are recorded in the status
// section like lrmd's, and kept in the lrm mirror for the join.

// fenceDevCallID numbers the device operations crmd answers; seeded from
// the clock so that a restarted crmd's call ids keep growing.
var fenceDevCallID atomic.Int64

func init() { fenceDevCallID.Store(time.Now().Unix() - 1_700_000_000) }

// fenceDevRegisterWait is how long a start waits for stonithd to know a
// device that was just added to the CIB (it follows the CIB itself).
const fenceDevRegisterWait = 10 * time.Second

// fenceDevRunning reports whether the mirror's last one-shot operation of
// rsc is a successful start.
func (s *Server) fenceDevRunning(rsc string) bool {
	for _, r := range s.lrm.latest()[rsc] {
		if r.GetIntervalMs() == 0 {
			return r.GetAction() == lrm.ActionStart && r.GetRc() == lrm.RCOK && r.GetStatus() == lrmv1.ExecStatus_EXEC_STATUS_DONE
		}
	}
	return false
}

// queryDevice runs the device's monitor through stonithd; a device
// stonithd does not know yet is asked again until wait passes.
func (s *Server) queryDevice(ctx context.Context, rsc string, wait time.Duration) (int32, string) {
	if s.cfg.Stonith == nil {
		return lrm.RCErrGeneric, "no stonithd configured"
	}
	deadline := time.Now().Add(wait)
	for {
		qctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		resp, err := s.cfg.Stonith.QueryDevice(qctx, &stonithv1.QueryDeviceRequest{Device: rsc})
		cancel()
		switch {
		case err == nil && resp.GetRc() == 0:
			return lrm.RCOK, ""
		case err == nil:
			reason := resp.GetError()
			if reason == "" {
				reason = fmt.Sprintf("device monitor rc %d", resp.GetRc())
			}
			return lrm.RCErrGeneric, reason
		case status.Code(err) == codes.Unimplemented:
			return lrm.RCOK, ""
		case time.Now().After(deadline) || ctx.Err() != nil:
			return lrm.RCErrGeneric, "stonithd: " + status.Convert(err).Message()
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// runFenceDevice answers an operation of a class stonith resource and
// records its result.
func (s *Server) runFenceDevice(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	rsc, op := req.GetRscId(), req.GetOperation()
	attrs := req.GetAttributes()
	iv := msAttr(attrs, "CRM_meta_interval")
	start := time.Now()
	rc, reason := int32(lrm.RCOK), ""
	switch op {
	case lrm.ActionStart:
		rc, reason = s.queryDevice(ctx, rsc, fenceDevRegisterWait)
	case lrm.ActionStop:
	case lrm.ActionMonitor:
		if iv == 0 {
			if !s.fenceDevRunning(rsc) {
				rc = lrm.RCNotRunning
			}
		} else {
			rc, reason = s.queryDevice(ctx, rsc, 0)
		}
	default:
		rc, reason = lrm.RCErrUnimplemented, fmt.Sprintf("%s is not an operation of a fence device", op)
	}
	end := time.Now()
	r := &lrmv1.Resource{Id: rsc, Class: req.GetRscClass(), Provider: req.GetRscProvider(), Type: req.GetRscType()}
	res := &lrmv1.OperationResult{CallId: fenceDevCallID.Add(1), Rsc: r, Action: op, IntervalMs: iv, Rc: rc,
		Status: lrmv1.ExecStatus_EXEC_STATUS_DONE, ExitReason: reason, QueuedMs: start.UnixMilli(), StartedMs: start.UnixMilli(),
		FinishedMs: end.UnixMilli(), LastRcChangeMs: end.UnixMilli(), ExecTimeMs: end.Sub(start).Milliseconds(),
		OpKey: lrm.OpKey(rsc, op, time.Duration(iv)*time.Millisecond)}
	om := opMeta{attrs: attrs, tkey: req.GetTransitionKey(), targetRC: int(req.GetTargetRc())}
	key := opKeyOf(res)
	s.lrm.begin(key, om)
	defer s.lrm.end(key)
	if op == lrm.ActionStop {
		for _, k := range s.lrm.recurring(rsc) {
			s.lrm.forget(rsc, k)
		}
	}
	s.lrm.observe(res)
	s.lrm.setRecorded(res)
	s.pushLRM(ctx)
	if err := s.recordResult(ctx, res, om, ClientTE); err != nil {
		return nil, status.Errorf(codes.Unavailable, "crmd: %v", err)
	}
	s.log.Info("fence device operation", "rsc", rsc, "op", key, "rc", rc, "reason", reason)
	return &crmv1.ExecuteActionResponse{Rc: rc, OpStatus: int32(pcmkStatus(res.GetStatus())), ExitReason: reason, CallId: res.GetCallId()}, nil
}
