// Package sourcetest serves a fake local crmd for the CRM tools' tests: the
// real CIBService (cib/server over an in-memory store) and a scripted
// CRMService on one unix socket, as crmd serves them on cib.sock. Node
// attributes set through the fake CRMService are written into the fake's
// CIB the way the tools write them offline, so a test can read them back
// with crm_attribute, crm_mon or cibadmin.
package sourcetest

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	cibserver "github.com/systole/systole/cib/server"
	"github.com/systole/systole/crm/status/source"
	cibv1 "github.com/systole/systole/proto/cib/v1"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// Fake is a running fake crmd. Its fields may be changed while it runs
// under Lock/Unlock.
type Fake struct {
	// Socket is the unix socket path to set as CIB_socket.
	Socket string
	// CIB is the CIB server behind the CIBService.
	CIB *cibserver.Server

	mu sync.Mutex
	// View is what GetStatus answers.
	View *crmv1.GetStatusResponse
	// Deny makes every call (both services) fail with PERMISSION_DENIED.
	Deny bool
	// NoCRM makes the CRMService answer UNIMPLEMENTED (an older crmd).
	NoCRM bool
	// Calls records the CRMService calls made, by method name.
	Calls []string
}

// Lock locks the fake's fields.
func (f *Fake) Lock() { f.mu.Lock() }

// Unlock unlocks them.
func (f *Fake) Unlock() { f.mu.Unlock() }

// Start serves a fake crmd holding cibXML, with GetStatus answering view,
// until the test ends.
func Start(t testing.TB, cibXML []byte, view *crmv1.GetStatusResponse) *Fake {
	t.Helper()
	c, err := cib.Parse(cibXML)
	if err != nil {
		t.Fatalf("sourcetest: bad CIB: %v", err)
	}
	store := cib.NewMemStore(10)
	if err := store.Save(c, nil); err != nil {
		t.Fatal(err)
	}
	srv, err := cibserver.New(store, cibserver.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Socket: sock, CIB: srv, View: view}
	deny := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		f.mu.Lock()
		d := f.Deny
		f.mu.Unlock()
		if d {
			return nil, status.Error(codes.PermissionDenied, "access is for root and group haclient only")
		}
		return h(ctx, req)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(deny),
		grpc.MaxRecvMsgSize(cibserver.MaxMessageSize), grpc.MaxSendMsgSize(cibserver.MaxMessageSize))
	cibv1.RegisterCIBServiceServer(gs, &cibService{s: srv})
	crmv1.RegisterCRMServiceServer(gs, &crmService{f: f})
	go gs.Serve(lis)
	t.Cleanup(func() {
		gs.Stop()
		srv.Close()
	})
	return f
}

// cibService adapts the CIB server (the real one) to gRPC.
type cibService struct {
	cibv1.UnimplementedCIBServiceServer
	s *cibserver.Server
}

func (g *cibService) Query(_ context.Context, req *cibv1.QueryRequest) (*cibv1.QueryResponse, error) {
	out, v, err := g.s.Query(cib.Request{Op: cib.OpQuery, Scope: req.Scope, XPath: req.Xpath, NoChildren: req.NoChildren})
	if err != nil {
		return nil, cibserver.ToStatus(err)
	}
	resp := &cibv1.QueryResponse{Version: cibserver.PBVersion(v)}
	for _, e := range out {
		resp.Elements = append(resp.Elements, cibserver.ElementBytes(e))
	}
	return resp, nil
}

func (g *cibService) Apply(_ context.Context, req *cibv1.ApplyRequest) (*cibv1.ApplyResponse, error) {
	r, err := cibserver.RequestFromPB(req)
	if err != nil {
		return nil, err
	}
	res, err := g.s.Apply(r)
	if err != nil {
		return nil, cibserver.ToStatus(err)
	}
	resp := &cibv1.ApplyResponse{Version: cibserver.PBVersion(res.Version)}
	for _, e := range res.Output {
		resp.Elements = append(resp.Elements, cibserver.ElementBytes(e))
	}
	if res.Patch != nil {
		resp.Patch = res.Patch.Bytes()
	}
	return resp, nil
}

func (g *cibService) Watch(req *cibv1.WatchRequest, stream grpc.ServerStreamingServer[cibv1.WatchEvent]) error {
	ch, cancel := g.s.Subscribe(req.FullCopy)
	defer cancel()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return status.Error(codes.Unavailable, "cib server: shutting down")
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// local is a client.Client over the CIB server, in process.
type local struct{ s *cibserver.Server }

func (l local) Query(_ context.Context, req cib.Request) ([]*etree.Element, cib.Version, error) {
	return l.s.Query(req)
}
func (l local) Apply(_ context.Context, req cib.Request) (*cib.Result, error) { return l.s.Apply(req) }
func (l local) Close() error                                                  { return nil }

var _ client.Client = local{}

// crmService is the scripted CRMService.
type crmService struct {
	crmv1.UnimplementedCRMServiceServer
	f *Fake
}

func (c *crmService) enter(method string) (*crmv1.GetStatusResponse, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.Calls = append(c.f.Calls, method)
	if c.f.NoCRM {
		return nil, status.Error(codes.Unimplemented, "unknown service systole.crm.v1.CRMService")
	}
	if c.f.View == nil {
		return &crmv1.GetStatusResponse{}, nil
	}
	return c.f.View, nil
}

// attrSource writes attributes into the fake's CIB as the offline tools do
// (a Source that is not live takes the CIB path).
func (c *crmService) attrSource() *source.Source {
	return &source.Source{CIB: local{c.f.CIB}, File: "(fake crmd)"}
}

func attrScope(lt crmv1.Lifetime) source.Scope {
	if lt == crmv1.Lifetime_LIFETIME_FOREVER {
		return source.ScopeNodes
	}
	return source.ScopeStatus
}

func rpcErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, source.ErrNoNode):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, cib.ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (c *crmService) GetStatus(context.Context, *crmv1.GetStatusRequest) (*crmv1.GetStatusResponse, error) {
	return c.enter("GetStatus")
}

func (c *crmService) SetAttr(ctx context.Context, req *crmv1.SetAttrRequest) (*crmv1.SetAttrResponse, error) {
	v, err := c.enter("SetAttr")
	if err != nil {
		return nil, err
	}
	node := req.Node
	if node == "" {
		node = v.Node
	}
	a := source.Attr{Scope: attrScope(req.Lifetime), Node: node, Name: req.Name}
	if req.Delete {
		_, err = c.attrSource().Delete(ctx, a)
		if errors.Is(err, source.ErrNoAttr) {
			err = nil
		}
	} else {
		err = c.attrSource().Set(ctx, a, req.Value)
	}
	if err != nil {
		return nil, rpcErr(err)
	}
	return &crmv1.SetAttrResponse{}, nil
}

func (c *crmService) GetAttr(ctx context.Context, req *crmv1.GetAttrRequest) (*crmv1.GetAttrResponse, error) {
	v, err := c.enter("GetAttr")
	if err != nil {
		return nil, err
	}
	node := req.Node
	if node == "" {
		node = v.Node
	}
	val, _, err := c.attrSource().Get(ctx, source.Attr{Scope: attrScope(req.Lifetime), Node: node, Name: req.Name})
	if errors.Is(err, source.ErrNoAttr) {
		return &crmv1.GetAttrResponse{}, nil
	}
	if err != nil {
		return nil, rpcErr(err)
	}
	return &crmv1.GetAttrResponse{Found: true, Value: val}, nil
}

func (c *crmService) RemoveNode(ctx context.Context, req *crmv1.RemoveNodeRequest) (*crmv1.RemoveNodeResponse, error) {
	v, err := c.enter("RemoveNode")
	if err != nil {
		return nil, err
	}
	members := append([]string(nil), v.Members...)
	sort.Strings(members)
	if i := sort.SearchStrings(members, req.Node); i < len(members) && members[i] == req.Node {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is a member of the current view: stop it first", req.Node)
	}
	if err := c.attrSource().RemoveNode(ctx, req.Node); err != nil {
		return nil, rpcErr(err)
	}
	return &crmv1.RemoveNodeResponse{}, nil
}
