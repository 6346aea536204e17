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
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// Serve serves the CIBService (the API cibadmin and the other tools use
// when CIB_file is unset) and the CRMService on lis until ctx ends or Run
// stops, then stops gracefully and returns nil. Only peers that
// Config.Access allows (root, crmd's own user, group haclient; read with
// SO_PEERCRED, so lis must be a unix socket) get an answer; others get
// PERMISSION_DENIED.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	opts := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(cibserver.MaxMessageSize), grpc.MaxSendMsgSize(cibserver.MaxMessageSize)}, s.cfg.Access.ServerOptions()...)
	gs := grpc.NewServer(opts...)
	cibv1.RegisterCIBServiceServer(gs, &service{s: s})
	crmv1.RegisterCRMServiceServer(gs, &crmService{s: s})
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
		return nil, cibserver.ToStatus(err)
	}
	return &cibv1.QueryResponse{Elements: out, Version: cibserver.PBVersion(v)}, nil
}

func (g *service) Apply(ctx context.Context, req *cibv1.ApplyRequest) (*cibv1.ApplyResponse, error) {
	r, err := cibserver.RequestFromPB(req)
	if err != nil {
		return nil, err
	}
	if r.Op == cib.OpQuery {
		out, v, err := g.s.Query(ctx, r)
		if err != nil {
			return nil, cibserver.ToStatus(err)
		}
		return &cibv1.ApplyResponse{Version: cibserver.PBVersion(v), Elements: out}, nil
	}
	v, err := g.s.Write(ctx, r)
	if err != nil {
		return nil, cibserver.ToStatus(err)
	}
	// The core answers with the version only; the patch a replicated write
	// produced is not carried back (watchers see it).
	return &cibv1.ApplyResponse{Version: cibserver.PBVersion(v)}, nil
}

func (g *service) Watch(req *cibv1.WatchRequest, stream grpc.ServerStreamingServer[cibv1.WatchEvent]) error {
	ch, cancel, err := g.s.Subscribe(stream.Context(), req.FullCopy)
	if err != nil {
		return cibserver.ToStatus(err)
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

func elementBytes(e *etree.Element) []byte { return cibserver.ElementBytes(e) }
