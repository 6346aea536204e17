package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/messaging"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// errorCodes maps the core's sentinel errors to gRPC codes: the one table
// every handler uses.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{messaging.ErrBadChannel, codes.InvalidArgument},
	{messaging.ErrBadDest, codes.InvalidArgument},
	{messaging.ErrTooLarge, codes.InvalidArgument},
	{messaging.ErrQueueFull, codes.ResourceExhausted},
	{errStopped, codes.Unavailable},
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

type service struct {
	messagingv1.UnimplementedMessagingServiceServer
	s *Server
}

func (v *service) Send(ctx context.Context, req *messagingv1.SendRequest) (*messagingv1.SendResponse, error) {
	var err error
	if cerr := v.s.call(ctx, func() { err = v.s.node.Send(req.GetDest(), req.GetChannel(), req.GetPayload(), time.Now()) }); cerr != nil {
		return nil, toStatus(cerr)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &messagingv1.SendResponse{}, nil
}

func (v *service) Subscribe(req *messagingv1.SubscribeRequest, stream messagingv1.MessagingService_SubscribeServer) error {
	ctx := stream.Context()
	sub := &subscriber{channels: map[string]bool{}, ch: make(chan *messagingv1.Message, subscriberBuffer), dead: make(chan struct{})}
	for _, c := range req.GetChannels() {
		sub.channels[c] = true
	}
	if err := v.s.call(ctx, func() { v.s.subs[sub] = true }); err != nil {
		return toStatus(err)
	}
	defer v.s.call(context.Background(), func() { delete(v.s.subs, sub) }) //nolint:errcheck
	// The header tells the client the subscription is registered: every
	// message delivered from now on reaches it.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.dead:
			return status.Error(codes.ResourceExhausted, "subscriber fell too far behind; resubscribe")
		case m, ok := <-sub.ch:
			if !ok {
				return status.Error(codes.Unavailable, "messaging daemon stopping")
			}
			if err := stream.Send(&messagingv1.SubscribeResponse{Message: m}); err != nil {
				return err
			}
		}
	}
}

func (v *service) WatchPeers(_ *messagingv1.WatchPeersRequest, stream messagingv1.MessagingService_WatchPeersServer) error {
	ctx := stream.Context()
	w := &watcher{ch: make(chan *messagingv1.WatchPeersResponse, watcherBuffer), dead: make(chan struct{})}
	var snap []*messagingv1.Peer
	if err := v.s.call(ctx, func() { snap = v.s.peerTable(); v.s.watch[w] = true }); err != nil {
		return toStatus(err)
	}
	defer v.s.call(context.Background(), func() { delete(v.s.watch, w) }) //nolint:errcheck
	now := time.Now().UnixMilli()
	for _, p := range snap {
		ev := &messagingv1.PeerEvent{Peer: p, Snapshot: true, TimeUnixMs: now}
		if err := stream.Send(&messagingv1.WatchPeersResponse{Event: &messagingv1.WatchPeersResponse_Peer{Peer: ev}}); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.dead:
			return status.Error(codes.ResourceExhausted, "watcher fell too far behind; watch again")
		case ev, ok := <-w.ch:
			if !ok {
				return status.Error(codes.Unavailable, "messaging daemon stopping")
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}

func (v *service) GetStatus(ctx context.Context, _ *messagingv1.GetStatusRequest) (*messagingv1.GetStatusResponse, error) {
	var r *messagingv1.GetStatusResponse
	err := v.s.call(ctx, func() {
		c := v.s.node.Config()
		r = &messagingv1.GetStatusResponse{Node: c.Node, Cluster: c.Cluster, Generation: c.Generation, Media: v.s.names, Peers: v.s.peerTable()}
	})
	return r, toStatus(err)
}

func (v *service) GetStats(ctx context.Context, _ *messagingv1.GetStatsRequest) (*messagingv1.GetStatsResponse, error) {
	var r *messagingv1.GetStatsResponse
	err := v.s.call(ctx, func() {
		st := v.s.node.Stats()
		r = &messagingv1.GetStatsResponse{PacketsIn: st.PacketsIn, PacketsOut: st.PacketsOut, BytesIn: st.BytesIn, BytesOut: st.BytesOut,
			BadAuth: st.BadAuth, UnknownKey: st.UnknownKey, Truncated: st.Truncated, Malformed: st.Malformed,
			ForeignCluster: st.ForeignCluster, UnknownNode: st.UnknownNode, Replays: st.Replays, Duplicates: st.Duplicates,
			DupData: st.DupData, Retransmits: st.Retransmits, NacksSent: st.NacksSent, NacksReceived: st.NacksReceived,
			LostSent: st.LostSent, LostReceived: st.LostReceived, MessagesSent: st.MessagesSent,
			MessagesDelivered: st.MessagesDelivered, WindowDrops: st.WindowDrops, FlowBlocked: st.FlowBlocked,
			SendErrors: v.s.sendErr, QueuedBytes: uint64(v.s.node.Queued())}
	})
	return r, toStatus(err)
}
