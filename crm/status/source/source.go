// Package source is where the CRM command-line tools (crm_mon,
// crm_attribute, crm_node, crm_standby, crmadmin, crm_resource) read the
// cluster's state and change node attributes and cluster options. As with
// Pacemaker, the environment decides:
//
//   - CIB_file=FILE: the CIB in FILE (cib/client.File). Everything that is
//     in the CIB works: the status as the file records it, attribute and
//     option reads and writes (written straight into the file, as
//     Pacemaker's tools do offline). What needs the running controller
//     (the live view, the DC's state, RemoveNode through crmd) fails with
//     ErrOffline.
//   - otherwise: the local crmd on CIB_socket (default
//     /run/systole/cib.sock), which serves both cib.v1.CIBService and
//     crm.v1.CRMService on that socket. Node attributes go through
//     CRMService (the attrd role); cluster options through CIBService.
//
// Errors keep their gRPC code (client.RPCCode), so client.CRMExitCode gives
// Pacemaker's exit codes, PERMISSION_DENIED included.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
	crmstatus "github.com/systole/systole/crm/status"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// ErrOffline reports an operation that needs the running controller while
// the tool works on a CIB file.
var ErrOffline = errors.New("needs the running cluster (crmd); CIB_file names a file, which has no controller")

// ErrNoNode reports a node name the CIB does not know.
var ErrNoNode = errors.New("no such node")

// ErrNoAttr reports an attribute or option that is not set.
var ErrNoAttr = errors.New("no such attribute")

// Source reads the cluster's state and writes attributes, from a CIB file
// or the local crmd. It is used by one goroutine at a time.
type Source struct {
	// CIB performs CIB operations (file or service).
	CIB client.Client
	// CRM is the CRM service; nil with a CIB file.
	CRM crmv1.CRMServiceClient
	// File is the CIB_file ("" when live); Socket the service's socket.
	File, Socket string
	conn         *grpc.ClientConn
}

// FromEnv opens the source the environment selects (CIB_file, CIB_socket).
func FromEnv() (*Source, error) { return Open(client.ConfigFromEnv()) }

// Open opens the source cfg selects.
func Open(cfg client.Config) (*Source, error) {
	if cfg.File != "" {
		f, err := client.NewFile(cfg.File)
		if err != nil {
			return nil, err
		}
		return &Source{CIB: f, File: cfg.File}, nil
	}
	sock := cfg.Socket
	if sock == "" {
		sock = client.DefaultSocket
	}
	conn, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(server.MaxMessageSize), grpc.MaxCallSendMsgSize(server.MaxMessageSize)))
	if err != nil {
		return nil, fmt.Errorf("CRM service at %s: %w", sock, err)
	}
	return &Source{CIB: client.NewGRPC(conn, sock), CRM: crmv1.NewCRMServiceClient(conn), Socket: sock, conn: conn}, nil
}

// Live reports whether the source is the running cluster (not a file).
func (s *Source) Live() bool { return s.File == "" }

// Close releases the connection.
func (s *Source) Close() error {
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

// crmErr turns a CRM service error into one line that keeps the gRPC code.
func (s *Source) crmErr(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		if !strings.HasPrefix(st.Message(), "crm") && len(st.Details()) == 0 {
			return &rpcError{code: st.Code(), msg: fmt.Sprintf("%v at %s: is systoled running? (set CIB_file=FILE to work on a file)", client.ErrUnreachable, s.Socket), base: client.ErrUnreachable}
		}
	case codes.PermissionDenied:
		return &rpcError{code: st.Code(), msg: fmt.Sprintf("permission denied by the CRM service at %s: %s (run as root or as a member of group haclient)", s.Socket, st.Message())}
	case codes.Unimplemented:
		return &rpcError{code: st.Code(), msg: fmt.Sprintf("the service at %s does not implement the CRM service (%s)", s.Socket, st.Message())}
	case codes.DeadlineExceeded:
		return &rpcError{code: st.Code(), msg: fmt.Sprintf("CRM service at %s: %v", s.Socket, context.DeadlineExceeded), base: context.DeadlineExceeded}
	}
	return &rpcError{code: st.Code(), msg: st.Message()}
}

// rpcError is a CRM service error: its one-line message and gRPC code.
type rpcError struct {
	code codes.Code
	msg  string
	base error
}

func (e *rpcError) Error() string { return e.msg }
func (e *rpcError) Unwrap() error { return e.base }

// GRPCStatus lets client.RPCCode find the code.
func (e *rpcError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// cibErr adds PERMISSION_DENIED wording to a CIB service error.
func (s *Source) cibErr(err error) error {
	if err == nil {
		return nil
	}
	if client.RPCCode(err) == codes.PermissionDenied {
		return &rpcError{code: codes.PermissionDenied, msg: fmt.Sprintf("permission denied by the CIB service at %s: %v (run as root or as a member of group haclient)", s.Socket, err)}
	}
	return err
}

// ReadCIB returns the whole CIB.
func (s *Source) ReadCIB(ctx context.Context) (*etree.Document, error) {
	out, _, err := s.CIB.Query(ctx, cib.Request{Op: cib.OpQuery})
	if err != nil {
		return nil, s.cibErr(err)
	}
	if len(out) != 1 || out[0].Tag != "cib" {
		return nil, fmt.Errorf("the CIB query returned no <cib>")
	}
	doc := etree.NewDocument()
	doc.SetRoot(out[0])
	return doc, nil
}

// GetStatus asks crmd for its view (ErrOffline with a file).
func (s *Source) GetStatus(ctx context.Context) (*crmv1.GetStatusResponse, error) {
	if !s.Live() {
		return nil, ErrOffline
	}
	resp, err := s.CRM.GetStatus(ctx, &crmv1.GetStatusRequest{})
	return resp, s.crmErr(err)
}

// Cluster reads the CIB and returns the state at now. Live, the DC and
// quorum come from crmd's view when it answers (the CIB records what the
// DC last wrote); the view is returned too (nil with a file, or when crmd
// does not implement CRMService).
func (s *Source) Cluster(ctx context.Context, now int64) (*crmstatus.Cluster, *crmv1.GetStatusResponse, error) {
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := crmstatus.New(doc, now)
	if err != nil {
		return nil, nil, err
	}
	if !s.Live() {
		return c, nil, nil
	}
	view, err := s.GetStatus(ctx)
	if err != nil {
		if client.RPCCode(err) == codes.Unimplemented {
			return c, nil, nil
		}
		return nil, nil, err
	}
	ApplyView(c, view)
	return c, view, nil
}

// ApplyView replaces the DC and quorum the CIB records with crmd's view.
func ApplyView(c *crmstatus.Cluster, v *crmv1.GetStatusResponse) {
	if v == nil {
		return
	}
	c.Quorum = v.Quorum
	if c.DC != nil {
		c.DC.IsDC = false
	}
	c.DC = nil
	if v.Dc != "" {
		if n := c.Node(v.Dc); n != nil {
			n.IsDC = true
			c.DC = n
		}
	}
}

// LocalNode returns this node's name: crmd's, or with a file the host
// name (as Pacemaker's tools use uname when the cluster is not running).
func (s *Source) LocalNode(ctx context.Context) (string, error) {
	if s.Live() {
		st, err := s.GetStatus(ctx)
		if err != nil {
			return "", err
		}
		return st.Node, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name: %w", err)
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h, nil
}

// NodeInfo is one node as crm_node -l lists it.
type NodeInfo struct {
	ID, Name string
	Member   bool
}

// Nodes lists the nodes the CIB knows (nodes section and status), with
// membership from crmd's view when live, from the CIB's status with a file.
func (s *Source) Nodes(ctx context.Context) ([]NodeInfo, *crmv1.GetStatusResponse, error) {
	doc, err := s.ReadCIB(ctx)
	if err != nil {
		return nil, nil, err
	}
	var view *crmv1.GetStatusResponse
	if s.Live() {
		if view, err = s.GetStatus(ctx); err != nil {
			return nil, nil, err
		}
	}
	byName := map[string]*NodeInfo{}
	var order []string
	add := func(id, name string) *NodeInfo {
		if name == "" {
			name = id
		}
		if n, ok := byName[name]; ok {
			return n
		}
		n := &NodeInfo{ID: id, Name: name}
		byName[name] = n
		order = append(order, name)
		return n
	}
	root := doc.Root()
	for _, n := range root.FindElements("configuration/nodes/node") {
		add(n.SelectAttrValue("id", ""), n.SelectAttrValue("uname", ""))
	}
	for _, ns := range root.FindElements("status/node_state") {
		id := ns.SelectAttrValue("id", "")
		name := ns.SelectAttrValue("uname", "")
		if name == "" {
			for _, x := range byName {
				if x.ID == id {
					name = x.Name
				}
			}
		}
		n := add(id, name)
		if view == nil {
			n.Member = isTrue(ns.SelectAttrValue("in_ccm", "")) && strings.EqualFold(ns.SelectAttrValue("crmd", ""), "online")
		}
	}
	if view != nil {
		for _, m := range view.Members {
			add(m, m).Member = true
		}
	}
	out := make([]NodeInfo, 0, len(order))
	for _, name := range order {
		out = append(out, *byName[name])
	}
	sort.SliceStable(out, func(i, j int) bool { return crmstatus.NaturalLess(out[i].Name, out[j].Name) })
	return out, view, nil
}

// isTrue reads a boolean, or a timestamp (Pacemaker 2.1 writes in_ccm as
// the time the node joined) as true when positive.
func isTrue(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "true", "yes", "on", "1", "y":
		return true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n > 0
}

// CLIError turns err into what tool exits with: "TOOL: message" and
// Pacemaker's exit code (client.CRMExitCode; ErrOffline gives
// CRM_EX_UNAVAILABLE, ErrNoNode and ErrNoAttr CRM_EX_NOSUCH). A
// *client.CLIError is returned as it is.
func CLIError(tool string, err error) error {
	if err == nil {
		return nil
	}
	var ce *client.CLIError
	if errors.As(err, &ce) {
		return ce
	}
	code := client.CRMExitCode(err)
	switch {
	case errors.Is(err, ErrOffline):
		code = client.ExitUnavailable
	case errors.Is(err, ErrNoNode), errors.Is(err, ErrNoAttr):
		code = client.ExitNoSuch
	}
	return &client.CLIError{Code: code, Msg: tool + ": " + oneLine(err.Error()), Err: err}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
