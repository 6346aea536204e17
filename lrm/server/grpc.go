package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/lrm"
	lrmv1 "github.com/systole/systole/proto/lrm/v1"
)

// errorCodes maps lrm errors to gRPC codes: the one table for the API.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{lrm.ErrUnknownClass, codes.InvalidArgument},
	{lrm.ErrUnknownProvider, codes.InvalidArgument},
	{lrm.ErrUnknownAction, codes.InvalidArgument},
	{lrm.ErrBadRequest, codes.InvalidArgument},
	{lrm.ErrStonithClass, codes.FailedPrecondition},
	{lrm.ErrBusy, codes.FailedPrecondition},
	{lrm.ErrUnknownResource, codes.NotFound},
	{lrm.ErrNoSuchOperation, codes.NotFound},
	{errNotInstalled, codes.NotFound},
	{ErrStopped, codes.Unavailable},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

func toStatus(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return status.Error(e.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// Register registers LRMService for s on g.
func Register(g *grpc.Server, s *Server) {
	lrmv1.RegisterLRMServiceServer(g, &service{s: s})
}

type service struct {
	lrmv1.UnimplementedLRMServiceServer
	s *Server
}

// ResourceFromProto converts a protobuf resource.
func ResourceFromProto(r *lrmv1.Resource) lrm.Resource {
	return lrm.Resource{ID: r.GetId(), Class: r.GetClass(), Provider: r.GetProvider(), Type: r.GetType()}
}

// ResourceToProto converts a resource to protobuf.
func ResourceToProto(r lrm.Resource) *lrmv1.Resource {
	return &lrmv1.Resource{Id: r.ID, Class: r.Class, Provider: r.Provider, Type: r.Type}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// StatusToProto converts an execution status.
func StatusToProto(s lrm.Status) lrmv1.ExecStatus {
	switch s {
	case lrm.StatusPending:
		return lrmv1.ExecStatus_EXEC_STATUS_PENDING
	case lrm.StatusDone:
		return lrmv1.ExecStatus_EXEC_STATUS_DONE
	case lrm.StatusCancelled:
		return lrmv1.ExecStatus_EXEC_STATUS_CANCELLED
	case lrm.StatusTimeout:
		return lrmv1.ExecStatus_EXEC_STATUS_TIMEOUT
	case lrm.StatusNotSupported:
		return lrmv1.ExecStatus_EXEC_STATUS_NOT_SUPPORTED
	case lrm.StatusError:
		return lrmv1.ExecStatus_EXEC_STATUS_ERROR
	case lrm.StatusNotInstalled:
		return lrmv1.ExecStatus_EXEC_STATUS_NOT_INSTALLED
	}
	return lrmv1.ExecStatus_EXEC_STATUS_UNSPECIFIED
}

// ResultToProto converts a result.
func ResultToProto(r lrm.Result) *lrmv1.OperationResult {
	return &lrmv1.OperationResult{
		CallId: r.CallID, Rsc: ResourceToProto(r.Rsc), Action: r.Action,
		IntervalMs: r.Interval.Milliseconds(), Rc: int32(r.RC), Status: StatusToProto(r.Status),
		ExitReason: r.ExitReason, Stdout: r.Stdout, Stderr: r.Stderr,
		QueuedMs: ms(r.Queued), StartedMs: ms(r.Started), FinishedMs: ms(r.Finished),
		LastRcChangeMs: ms(r.LastRCChange), ExecTimeMs: r.ExecTime().Milliseconds(),
		QueueTimeMs: r.QueueTime().Milliseconds(), OpKey: r.Key(),
	}
}

func (v *service) Exec(ctx context.Context, in *lrmv1.ExecRequest) (*lrmv1.ExecResponse, error) {
	req := lrm.Request{
		Rsc: ResourceFromProto(in.GetRsc()), Action: in.GetAction(),
		Interval: time.Duration(in.GetIntervalMs()) * time.Millisecond,
		Timeout:  time.Duration(in.GetTimeoutMs()) * time.Millisecond,
		Params:   in.GetParams(), Meta: in.GetMeta(),
	}
	id, res, err := v.s.Exec(ctx, req, in.GetWait())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &lrmv1.ExecResponse{CallId: id}
	if res != nil {
		out.Result = ResultToProto(*res)
	}
	return out, nil
}

func (v *service) Cancel(ctx context.Context, in *lrmv1.CancelRequest) (*lrmv1.CancelResponse, error) {
	err := v.s.Cancel(ctx, in.GetRscId(), in.GetAction(), time.Duration(in.GetIntervalMs())*time.Millisecond)
	if err != nil {
		return nil, toStatus(err)
	}
	return &lrmv1.CancelResponse{}, nil
}

func (v *service) ListHistory(ctx context.Context, in *lrmv1.ListHistoryRequest) (*lrmv1.ListHistoryResponse, error) {
	hs, err := v.s.History(ctx, in.GetRscId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &lrmv1.ListHistoryResponse{}
	for _, h := range hs {
		ph := &lrmv1.ResourceHistory{Rsc: ResourceToProto(h.Rsc)}
		for _, rec := range h.Ops {
			ph.Ops = append(ph.Ops, &lrmv1.OperationRecord{Last: ResultToProto(rec.Last), Runs: int64(rec.Runs)})
		}
		if h.LastFailure != nil {
			ph.LastFailure = ResultToProto(*h.LastFailure)
		}
		out.Resources = append(out.Resources, ph)
	}
	return out, nil
}

func (v *service) WatchResults(in *lrmv1.WatchResultsRequest, stream grpc.ServerStreamingServer[lrmv1.WatchResultsResponse]) error {
	ch, unsub, err := v.s.Subscribe(stream.Context(), in.GetReplay(), 1024)
	if err != nil {
		return toStatus(err)
	}
	defer unsub()
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return status.Error(codes.Unavailable, "lrmd: result stream closed (subscriber too slow or lrmd stopping)")
			}
			if err := stream.Send(&lrmv1.WatchResultsResponse{Result: ResultToProto(r)}); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

func (v *service) Unregister(ctx context.Context, in *lrmv1.UnregisterRequest) (*lrmv1.UnregisterResponse, error) {
	if err := v.s.Unregister(ctx, in.GetRscId()); err != nil {
		return nil, toStatus(err)
	}
	return &lrmv1.UnregisterResponse{}, nil
}

func (v *service) ListAgents(ctx context.Context, in *lrmv1.ListAgentsRequest) (*lrmv1.ListAgentsResponse, error) {
	if v.s.catalog == nil {
		return nil, status.Error(codes.Unimplemented, "lrmd: no agent catalog")
	}
	as, err := v.s.catalog.Agents(in.GetClass(), in.GetProvider())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &lrmv1.ListAgentsResponse{}
	for _, a := range as {
		out.Agents = append(out.Agents, ResourceToProto(a))
	}
	if in.GetClass() == lrm.ClassOCF {
		if out.Providers, err = v.s.catalog.Providers(); err != nil {
			return nil, toStatus(err)
		}
	}
	return out, nil
}

func (v *service) AgentMetadata(ctx context.Context, in *lrmv1.AgentMetadataRequest) (*lrmv1.AgentMetadataResponse, error) {
	xml, err := v.s.Metadata(ctx, ResourceFromProto(in.GetAgent()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &lrmv1.AgentMetadataResponse{Xml: xml}, nil
}
