package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	cibserver "github.com/systole/systole/cib/server"
	"github.com/systole/systole/crm"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// crmService adapts Server to the generated CRMService interface.
type crmService struct {
	crmv1.UnimplementedCRMServiceServer
	s *Server
}

func toLifetime(l crmv1.Lifetime) crm.Lifetime {
	if l == crmv1.Lifetime_LIFETIME_FOREVER {
		return crm.LifetimeForever
	}
	return crm.LifetimeReboot
}

// crmStatus maps crm errors to gRPC codes (cib errors keep theirs).
func crmStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, crm.ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrClosed):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	}
	return cibserver.ToStatus(err)
}

func (g *crmService) GetStatus(ctx context.Context, _ *crmv1.GetStatusRequest) (*crmv1.GetStatusResponse, error) {
	st := g.s.Status()
	out := &crmv1.GetStatusResponse{
		Node: st.Node, ViewNumber: int64(st.View.Number), Members: st.View.Members, Quorum: st.View.Quorum,
		Dc: st.DC, IsDc: st.IsDC, Version: cibserver.PBVersion(st.Version),
	}
	if st.IsDC {
		out.TransitionState, out.TransitionId, out.LastSummary = st.Transition, st.TransitionID, st.Summary
	}
	for i, l := range st.Lost {
		lc := &crmv1.LostChange{Node: l.Node, LostVersion: cibserver.PBVersion(l.Version), WinnerVersion: cibserver.PBVersion(l.WinnerVersion)}
		if l.Patch != nil {
			lc.Patch = l.Patch.Bytes()
		}
		if i < len(st.LostAt) {
			lc.WhenUnix = st.LostAt[i].Unix()
		}
		out.Lost = append(out.Lost, lc)
	}
	return out, nil
}

func (g *crmService) SetAttr(ctx context.Context, req *crmv1.SetAttrRequest) (*crmv1.SetAttrResponse, error) {
	node := req.GetNode()
	if node == "" {
		node = g.s.name
	}
	if req.GetDampenMs() < 0 {
		return nil, status.Error(codes.InvalidArgument, "crmd: negative dampen")
	}
	a := crm.Attr{Node: node, Name: req.GetName(), Value: req.GetValue(), Lifetime: toLifetime(req.GetLifetime()),
		Dampen: time.Duration(req.GetDampenMs()) * time.Millisecond, Delete: req.GetDelete()}
	if err := g.s.setAttrWait(ctx, a); err != nil {
		return nil, crmStatus(err)
	}
	return &crmv1.SetAttrResponse{}, nil
}

func (g *crmService) GetAttr(ctx context.Context, req *crmv1.GetAttrRequest) (*crmv1.GetAttrResponse, error) {
	node := req.GetNode()
	if node == "" {
		node = g.s.name
	}
	if !nameOK(node) || !nameOK(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: bad node %q or name %q", node, req.GetName())
	}
	var v string
	var ok bool
	if err := g.s.do(ctx, func() { v, ok = g.s.node.GetAttr(node, req.GetName(), toLifetime(req.GetLifetime())) }); err != nil {
		return nil, crmStatus(err)
	}
	return &crmv1.GetAttrResponse{Found: ok, Value: v}, nil
}

func (g *crmService) RemoveNode(ctx context.Context, req *crmv1.RemoveNodeRequest) (*crmv1.RemoveNodeResponse, error) {
	if err := g.s.RemoveNode(ctx, req.GetNode()); err != nil {
		return nil, crmStatus(err)
	}
	return &crmv1.RemoveNodeResponse{}, nil
}

// RemoveNode forgets a node that left for good: its nodes/node and
// status/node_state entries. A member of the current view is refused.
func (s *Server) RemoveNode(ctx context.Context, node string) error {
	if !nameOK(node) {
		return status.Errorf(codes.InvalidArgument, "crmd: bad node name %q", node)
	}
	if st := s.Status(); contains(st.View.Members, node) {
		return status.Errorf(codes.FailedPrecondition, "crmd: %s is a member of view %d; stop it first", node, st.View.Number)
	}
	for _, xp := range []string{
		fmt.Sprintf("/cib/configuration/nodes/node[@id='%s']", node),
		fmt.Sprintf("/cib/status/node_state[@id='%s']", node),
	} {
		if _, err := s.Write(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: xp, Client: "crm_node"}); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

func (g *crmService) ExecuteAction(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	return g.s.ExecuteAction(ctx, req)
}

// ExecuteAction runs a transition action on its target (DC only) and
// returns once its result is recorded in the CIB status.
func (s *Server) ExecuteAction(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	if st := s.Status(); !st.IsDC {
		return nil, status.Errorf(codes.FailedPrecondition, "crmd: %s is not the DC (DC: %q)", s.name, st.DC)
	}
	if err := checkAction(req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: execute: %v", err)
	}
	if err := s.do(ctx, func() { s.expect.add(req, 1) }); err != nil {
		return nil, crmStatus(err)
	}
	defer func() { _ = s.do(context.Background(), func() { s.expect.add(req, -1) }) }()
	return s.execOn(ctx, req)
}

var cleanupSeq atomic.Int64

func (g *crmService) Cleanup(ctx context.Context, req *crmv1.CleanupRequest) (*crmv1.CleanupResponse, error) {
	cleaned, err := g.s.Cleanup(ctx, req.GetRscId(), req.GetNode(), req.GetOnlyFailed())
	if err != nil {
		return nil, crmStatus(err)
	}
	return &crmv1.CleanupResponse{Cleaned: cleaned}, nil
}

type lrmEntry struct {
	node, rsc, class, provider, typ string
	failed                          bool
}

// Cleanup forgets the history of rsc ("" = every resource) on node (""
// = every node): lrmd's history (through the node's crmd) and the
// lrm_resource entries, and the resource's fail counts, so that the DC
// probes it again. With onlyFailed, resources without a failure keep
// their history.
func (s *Server) Cleanup(ctx context.Context, rsc, node string, onlyFailed bool) ([]string, error) {
	if rsc != "" && !nameOK(rsc) || node != "" && !nameOK(node) {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: bad resource %q or node %q", rsc, node)
	}
	var entries []lrmEntry
	if err := s.do(ctx, func() {
		st := s.node.CIB().Root().SelectElement("status")
		if st == nil {
			return
		}
		for _, ns := range st.SelectElements("node_state") {
			n := ns.SelectAttrValue("id", "")
			if node != "" && n != node || !nameOK(n) {
				continue
			}
			fails := map[string]bool{}
			if ta := ns.FindElement("transient_attributes"); ta != nil {
				for _, nv := range ta.FindElements(".//nvpair") {
					name := nv.SelectAttrValue("name", "")
					if r, ok := strings.CutPrefix(name, "fail-count-"); ok {
						if i := strings.LastIndex(r, "#"); i > 0 {
							fails[r[:i]] = true
						}
					}
				}
			}
			for _, re := range ns.FindElements("lrm/lrm_resources/lrm_resource") {
				id := re.SelectAttrValue("id", "")
				if rsc != "" && id != rsc || !nameOK(id) {
					continue
				}
				e := lrmEntry{node: n, rsc: id, class: re.SelectAttrValue("class", ""), provider: re.SelectAttrValue("provider", ""), typ: re.SelectAttrValue("type", ""), failed: fails[id]}
				for _, op := range re.SelectElements("lrm_rsc_op") {
					if strings.HasSuffix(op.SelectAttrValue("id", ""), "_last_failure_0") {
						e.failed = true
					}
				}
				if onlyFailed && !e.failed {
					continue
				}
				entries = append(entries, e)
			}
		}
	}); err != nil {
		return nil, err
	}
	members := s.Status().View.Members
	var cleaned []string
	for _, e := range entries {
		if contains(members, e.node) {
			req := &crmv1.ExecuteActionRequest{
				Node: e.node, Operation: "delete", OperationKey: e.rsc + "_delete_0", RscId: e.rsc,
				RscClass: e.class, RscProvider: e.provider, RscType: e.typ,
				TransitionKey: fmt.Sprintf("cleanup-%d-%d", time.Now().UnixNano(), cleanupSeq.Add(1)),
			}
			if _, err := s.execOn(ctx, req); err != nil {
				return cleaned, fmt.Errorf("crmd: cleanup %s on %s: %w", e.rsc, e.node, err)
			}
		} else if _, err := s.Write(ctx, cib.Request{Op: cib.OpDeleteAll, XPath: rscXPath(e.node, e.rsc), Client: "crm_resource"}); err != nil && !isNotFound(err) {
			return cleaned, err
		}
		if err := s.clearFailcount(ctx, e.node, e.rsc); err != nil {
			return cleaned, err
		}
		cleaned = append(cleaned, e.rsc+" on "+e.node)
	}
	return cleaned, nil
}
