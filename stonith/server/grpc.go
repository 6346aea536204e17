package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	"github.com/systole/systole/stonith"
	"github.com/systole/systole/stonith/agent"
)

// Register registers the StonithService of s on g.
func Register(g *grpc.Server, s *Server) {
	stonithv1.RegisterStonithServiceServer(g, &service{s: s})
}

// Serve serves the StonithService on lis (a unix socket) until ctx ends,
// then stops gracefully. Only callers the policy allows get an answer.
func Serve(ctx context.Context, s *Server, lis net.Listener, policy AccessPolicy) error {
	gs := grpc.NewServer(policy.ServerOptions()...)
	Register(gs, s)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			gs.Stop()
		}
	}()
	err := gs.Serve(lis)
	close(stopped)
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("stonithd: serve: %w", err)
	}
	return nil
}

// errorCodes maps the layer's errors to gRPC codes (first match wins).
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{stonith.ErrBadRequest, codes.InvalidArgument},
	{agent.ErrBadName, codes.InvalidArgument},
	{ErrNoDevice, codes.NotFound},
	{agent.ErrNotInstalled, codes.NotFound},
	{ErrStopped, codes.Unavailable},
	{ErrNoPeer, codes.FailedPrecondition},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus turns an error into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// service adapts Server to the generated StonithService interface.
type service struct {
	stonithv1.UnimplementedStonithServiceServer
	s *Server
}

// EntryToPB converts a history entry.
func EntryToPB(e stonith.Entry) *stonithv1.Entry {
	pb := &stonithv1.Entry{Id: e.ID, Target: e.Target, Action: string(e.Action), Origin: e.Origin,
		Clients: e.Clients, Delegate: e.Delegate, Devices: e.Devices, Reason: e.Reason}
	switch e.State {
	case stonith.StatePending:
		pb.State = stonithv1.State_STATE_PENDING
	case stonith.StateDone:
		pb.State = stonithv1.State_STATE_DONE
	case stonith.StateFailed:
		pb.State = stonithv1.State_STATE_FAILED
	}
	if !e.Requested.IsZero() {
		pb.RequestedMs = e.Requested.UnixMilli()
	}
	if !e.Completed.IsZero() {
		pb.CompletedMs = e.Completed.UnixMilli()
	}
	return pb
}

// EntryFromPB converts a history entry back; it checks nothing (see
// checkEntry for entries from the network).
func EntryFromPB(pb *stonithv1.Entry) stonith.Entry {
	e := stonith.Entry{ID: pb.GetId(), Target: pb.GetTarget(), Action: stonith.Action(pb.GetAction()), Origin: pb.GetOrigin(),
		Clients: pb.GetClients(), Delegate: pb.GetDelegate(), Devices: pb.GetDevices(), Reason: pb.GetReason()}
	switch pb.GetState() {
	case stonithv1.State_STATE_DONE:
		e.State = stonith.StateDone
	case stonithv1.State_STATE_FAILED:
		e.State = stonith.StateFailed
	default:
		e.State = stonith.StatePending
	}
	if ms := pb.GetRequestedMs(); ms != 0 {
		e.Requested = time.UnixMilli(ms)
	}
	if ms := pb.GetCompletedMs(); ms != 0 {
		e.Completed = time.UnixMilli(ms)
	}
	return e
}

// RequestFromPB converts a FenceRequest; origin "" becomes node.
func RequestFromPB(req *stonithv1.FenceRequest, node string) stonith.Request {
	r := stonith.Request{Target: req.GetTarget(), Action: stonith.Action(req.GetAction()), Origin: req.GetOrigin(),
		Client: req.GetClient(), Timeout: time.Duration(req.GetTimeoutMs()) * time.Millisecond,
		Delay: time.Duration(req.GetDelayMs()) * time.Millisecond, Tolerance: time.Duration(req.GetToleranceMs()) * time.Millisecond}
	if req.PriorityDelayMs != nil {
		d := time.Duration(req.GetPriorityDelayMs()) * time.Millisecond
		r.PriorityDelay = &d
	}
	if r.Origin == "" {
		r.Origin = node
	}
	if r.Client == "" {
		r.Client = "unknown"
	}
	return r
}

// requestToPB is the inverse of RequestFromPB (for forwarding).
func requestToPB(r stonith.Request) *stonithv1.FenceRequest {
	pb := &stonithv1.FenceRequest{Target: r.Target, Action: string(r.Action), Origin: r.Origin, Client: r.Client,
		TimeoutMs: r.Timeout.Milliseconds(), DelayMs: r.Delay.Milliseconds(), ToleranceMs: r.Tolerance.Milliseconds(), Wait: true}
	if r.PriorityDelay != nil {
		v := r.PriorityDelay.Milliseconds()
		pb.PriorityDelayMs = &v
	}
	return pb
}

func (g *service) Fence(ctx context.Context, req *stonithv1.FenceRequest) (*stonithv1.FenceResponse, error) {
	r := RequestFromPB(req, g.s.node)
	if err := validate(r); err != nil {
		return nil, toStatus(err)
	}
	var e stonith.Entry
	var err error
	if req.GetWait() {
		e, err = g.s.Fence(ctx, r)
	} else {
		e, err = g.s.Submit(ctx, r)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &stonithv1.FenceResponse{Id: e.ID, Entry: EntryToPB(e)}, nil
}

func (g *service) Confirm(ctx context.Context, req *stonithv1.ConfirmRequest) (*stonithv1.ConfirmResponse, error) {
	origin := req.GetOrigin()
	if origin == "" {
		origin = g.s.node
	}
	if err := g.s.Confirm(ctx, req.GetTarget(), origin); err != nil {
		return nil, toStatus(err)
	}
	return &stonithv1.ConfirmResponse{}, nil
}

func (g *service) ListDevices(ctx context.Context, req *stonithv1.ListDevicesRequest) (*stonithv1.ListDevicesResponse, error) {
	t, err := g.s.Topology(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	ids := t.DeviceIDs()
	if req.GetTarget() != "" {
		if ids, err = g.s.Capable(ctx, req.GetTarget()); err != nil {
			return nil, toStatus(err)
		}
	}
	resp := &stonithv1.ListDevicesResponse{}
	for _, id := range ids {
		d := t.Devices[id]
		if d == nil {
			continue
		}
		pb := &stonithv1.Device{Id: d.ID, Agent: d.Agent, Status: g.s.Status(id).Status}
		if d.HostCheck == stonith.CheckStaticList {
			pb.Targets = append(pb.Targets, d.HostList...)
			for n := range d.HostMap {
				if !contains(pb.Targets, n) {
					pb.Targets = append(pb.Targets, n)
				}
			}
		}
		resp.Devices = append(resp.Devices, pb)
	}
	return resp, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (g *service) QueryDevice(ctx context.Context, req *stonithv1.QueryDeviceRequest) (*stonithv1.QueryDeviceResponse, error) {
	if req.GetDevice() == "" {
		return nil, status.Error(codes.InvalidArgument, "stonithd: no device")
	}
	r, err := g.s.RunDeviceAction(ctx, req.GetDevice(), stonith.ActionMonitor, "")
	if err != nil {
		return nil, toStatus(err)
	}
	return &stonithv1.QueryDeviceResponse{Rc: int32(r.RC), Output: r.Output, Error: r.Error}, nil
}

func (g *service) History(ctx context.Context, req *stonithv1.HistoryRequest) (*stonithv1.HistoryResponse, error) {
	target := req.GetTarget()
	if target == "*" {
		target = ""
	}
	h, err := g.s.History(ctx, target)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &stonithv1.HistoryResponse{}
	for _, e := range h {
		resp.Entries = append(resp.Entries, EntryToPB(e))
	}
	if req.GetCleanup() {
		if err := g.s.CleanupHistory(ctx, target); err != nil {
			return nil, toStatus(err)
		}
	}
	return resp, nil
}

func (g *service) WatchEvents(_ *stonithv1.WatchEventsRequest, stream grpc.ServerStreamingServer[stonithv1.WatchEventsResponse]) error {
	ch, cancel, err := g.s.Subscribe(stream.Context())
	if err != nil {
		return toStatus(err)
	}
	defer cancel()
	// The headers tell the client the subscription is in place.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return status.Error(codes.Unavailable, "stonithd: event stream ended (stopping, or the watcher fell behind)")
			}
			if err := stream.Send(&stonithv1.WatchEventsResponse{Entry: EntryToPB(e)}); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (g *service) ListAgents(ctx context.Context, _ *stonithv1.ListAgentsRequest) (*stonithv1.ListAgentsResponse, error) {
	if g.s.agents == nil {
		return nil, status.Error(codes.Unimplemented, "stonithd: no agent runner")
	}
	l, err := g.s.agents.List()
	if err != nil {
		return nil, toStatus(err)
	}
	return &stonithv1.ListAgentsResponse{Agents: l}, nil
}

func (g *service) AgentMetadata(ctx context.Context, req *stonithv1.AgentMetadataRequest) (*stonithv1.AgentMetadataResponse, error) {
	if g.s.agents == nil {
		return nil, status.Error(codes.Unimplemented, "stonithd: no agent runner")
	}
	if strings.TrimSpace(req.GetAgent()) == "" {
		return nil, status.Error(codes.InvalidArgument, "stonithd: no agent")
	}
	md, err := g.s.agents.Metadata(ctx, req.GetAgent(), 30*time.Second)
	if err != nil {
		return nil, toStatus(err)
	}
	return &stonithv1.AgentMetadataResponse{Metadata: md}, nil
}
