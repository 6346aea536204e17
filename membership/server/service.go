package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	membershipv1 "github.com/systole/systole/proto/membership/v1"
)

// service implements MembershipService by passing closures to the loop.
type service struct {
	membershipv1.UnimplementedMembershipServiceServer
	s *Server
}

// grpcError maps the daemon's errors to gRPC status codes (one table for every call).
func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrStopped):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (v *service) GetView(ctx context.Context, _ *membershipv1.GetViewRequest) (*membershipv1.GetViewResponse, error) {
	var resp *membershipv1.GetViewResponse
	err := v.s.do(ctx, func() {
		resp = &membershipv1.GetViewResponse{Node: v.s.opts.Core.Name, View: proto.Clone(v.s.view).(*membershipv1.View)}
	})
	return resp, grpcError(err)
}

func (v *service) GetQuorum(ctx context.Context, _ *membershipv1.GetQuorumRequest) (*membershipv1.GetQuorumResponse, error) {
	var resp *membershipv1.GetQuorumResponse
	err := v.s.do(ctx, func() {
		s := v.s
		resp = &membershipv1.GetQuorumResponse{
			Quorum:        s.view.GetQuorum(),
			Votes:         s.view.GetVotes(),
			ExpectedVotes: int32(s.votes),
			TwoNode:       s.opts.Core.TwoNode,
			WaitingForAll: s.opts.Core.TwoNode && !s.seenFull,
			ViewNumber:    s.view.GetNumber(),
		}
	})
	return resp, grpcError(err)
}

func (v *service) GetPeers(ctx context.Context, _ *membershipv1.GetPeersRequest) (*membershipv1.GetPeersResponse, error) {
	var resp *membershipv1.GetPeersResponse
	err := v.s.do(ctx, func() {
		s := v.s
		resp = &membershipv1.GetPeersResponse{Node: s.opts.Core.Name, MessagingConnected: s.connected}
		for _, p := range s.node.Peers() {
			pp := &membershipv1.Peer{
				Node: p.Name, Up: p.Up, Counted: p.Counted, HoldDownMs: p.HoldDown.Milliseconds(),
				HasReport: p.HasReport,
			}
			if p.HasReport {
				pp.ReportIncarnation, pp.ReportSeq, pp.ReportView = p.Report.Incarnation, p.Report.Seq, p.Report.View
				for i, n := range s.names {
					if p.Report.Hears&(1<<uint(i)) != 0 {
						pp.Hears = append(pp.Hears, n)
					}
				}
			}
			resp.Peers = append(resp.Peers, pp)
		}
	})
	return resp, grpcError(err)
}

func (v *service) WatchViews(_ *membershipv1.WatchViewsRequest, stream membershipv1.MembershipService_WatchViewsServer) error {
	ctx := stream.Context()
	w := &watcher{ch: make(chan *membershipv1.WatchViewsResponse, watcherBuffer), cut: make(chan struct{})}
	err := v.s.do(ctx, func() {
		w.ch <- &membershipv1.WatchViewsResponse{Initial: true,
			Event: &membershipv1.WatchViewsResponse_View{View: proto.Clone(v.s.view).(*membershipv1.View)}}
		v.s.watchers[w] = struct{}{}
	})
	if err != nil {
		return grpcError(err)
	}
	for {
		select {
		case ev := <-w.ch:
			if err := stream.Send(ev); err != nil {
				v.s.unwatch(w)
				return err
			}
		case <-w.cut:
			// Deliver what is queued, then end: cut off (slow) or shutting down.
			for len(w.ch) > 0 {
				if err := stream.Send(<-w.ch); err != nil {
					return err
				}
			}
			return w.reason
		case <-ctx.Done():
			v.s.unwatch(w)
			return ctx.Err()
		}
	}
}

// unwatch removes w (if the loop still runs).
func (s *Server) unwatch(w *watcher) {
	_ = s.do(context.Background(), func() {
		if _, ok := s.watchers[w]; ok {
			delete(s.watchers, w)
			w.reason = context.Canceled
			close(w.cut)
		}
	})
}
