package server

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	cibserver "github.com/systole/systole/cib/server"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// Serve serves the CIBService (the API cibadmin and the other tools use
// when CIB_file is unset) on lis until ctx ends or Run stops, then stops
// gracefully and returns nil.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(cibserver.MaxMessageSize), grpc.MaxSendMsgSize(cibserver.MaxMessageSize))
	cibv1.RegisterCIBServiceServer(gs, &service{s: s})
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
		case <-stopped:
			return
		}
		gs.GracefulStop()
	}()
	err := gs.Serve(lis)
	close(stopped)
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("crmd: serve: %w", err)
	}
	return nil
}

// service adapts Server to the generated CIBService interface.
type service struct {
	cibv1.UnimplementedCIBServiceServer
	s *Server
}

func (g *service) Query(ctx context.Context, req *cibv1.QueryRequest) (*cibv1.QueryResponse, error) {
	out, v, err := g.s.Query(ctx, cib.Request{Op: cib.OpQuery, Scope: req.Scope, XPath: req.Xpath, NoChildren: req.NoChildren})
	if err != nil {
		return nil, toStatus(err)
	}
	return &cibv1.QueryResponse{Elements: out, Version: pbVersion(v)}, nil
}

func (g *service) Apply(ctx context.Context, req *cibv1.ApplyRequest) (*cibv1.ApplyResponse, error) {
	op, ok := opFromPB[req.Operation]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "crmd: unknown operation %v", req.Operation)
	}
	r := cib.Request{
		Op: op, Scope: req.Scope, XPath: req.Xpath, XML: req.Xml,
		AllowCreate: req.AllowCreate, NoChildren: req.NoChildren, Force: req.Force, Score: req.Score,
		LastWritten: req.LastWritten, Origin: req.Origin, Client: req.Client, User: req.User,
	}
	if op == cib.OpQuery {
		out, v, err := g.s.Query(ctx, r)
		if err != nil {
			return nil, toStatus(err)
		}
		return &cibv1.ApplyResponse{Version: pbVersion(v), Elements: out}, nil
	}
	v, err := g.s.Write(ctx, r)
	if err != nil {
		return nil, toStatus(err)
	}
	// The core answers with the version only; the patch a replicated write
	// produced is not carried back (watchers see it).
	return &cibv1.ApplyResponse{Version: pbVersion(v)}, nil
}

func (g *service) Watch(req *cibv1.WatchRequest, stream grpc.ServerStreamingServer[cibv1.WatchEvent]) error {
	ch, cancel, err := g.s.Subscribe(stream.Context(), req.FullCopy)
	if err != nil {
		return toStatus(err)
	}
	defer cancel()
	for {
		select {
		case ev := <-ch:
			if err := stream.Send(ev); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		case <-g.s.done:
			return status.Error(codes.Unavailable, "cib service (crmd): shutting down")
		}
	}
}

// toStatus maps errors onto gRPC statuses with the CIB service's table
// (cib sentinels keep their identity across the wire); context errors
// keep their codes.
func toStatus(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	}
	return cibserver.ToStatus(err)
}

var opFromPB = map[cibv1.Operation]cib.Op{
	cibv1.Operation_OPERATION_QUERY:      cib.OpQuery,
	cibv1.Operation_OPERATION_CREATE:     cib.OpCreate,
	cibv1.Operation_OPERATION_MODIFY:     cib.OpModify,
	cibv1.Operation_OPERATION_REPLACE:    cib.OpReplace,
	cibv1.Operation_OPERATION_DELETE:     cib.OpDelete,
	cibv1.Operation_OPERATION_DELETE_ALL: cib.OpDeleteAll,
	cibv1.Operation_OPERATION_ERASE:      cib.OpErase,
	cibv1.Operation_OPERATION_BUMP:       cib.OpBump,
	cibv1.Operation_OPERATION_PATCH:      cib.OpPatch,
}

func pbVersion(v cib.Version) *cibv1.Version {
	return &cibv1.Version{AdminEpoch: v.AdminEpoch, Epoch: v.Epoch, NumUpdates: v.NumUpdates}
}

func elementBytes(e *etree.Element) []byte { return cibserver.ElementBytes(e) }
