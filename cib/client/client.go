package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// DefaultSocket is where systoled serves the CIB service.
const DefaultSocket = "/run/systole/cib.sock"

// Client performs CIB operations. Implementations are safe for use by one
// goroutine at a time; every method blocks until the operation is done or
// ctx ends.
type Client interface {
	// Query returns copies of the elements a query selects and the
	// version they were read at.
	Query(ctx context.Context, req cib.Request) ([]*etree.Element, cib.Version, error)
	// Apply performs a write (or a query) and returns its result. The
	// result's Patch is nil when nothing changed.
	Apply(ctx context.Context, req cib.Request) (*cib.Result, error)
	// Close releases the client.
	Close() error
}

// Config selects a backend: File when File is set, else gRPC on Socket.
type Config struct {
	File   string // CIB_file
	Socket string // CIB_socket; empty = DefaultSocket
}

// ConfigFromEnv reads CIB_file and CIB_socket.
func ConfigFromEnv() Config {
	return Config{File: os.Getenv("CIB_file"), Socket: os.Getenv("CIB_socket")}
}

// FromEnv opens the backend the environment selects: the file named by
// CIB_file, else the CIB service on CIB_socket or DefaultSocket.
func FromEnv() (Client, error) { return Open(ConfigFromEnv()) }

// Open opens the backend cfg selects.
func Open(cfg Config) (Client, error) {
	if cfg.File != "" {
		return NewFile(cfg.File)
	}
	sock := cfg.Socket
	if sock == "" {
		sock = DefaultSocket
	}
	return DialUnix(sock)
}

// File is the CIB_file backend.
type File struct {
	path string
}

// NewFile returns a File backend for path; the file must exist.
func NewFile(path string) (*File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fileErr(path, err)
	}
	return &File{path: path}, nil
}

func fileErr(path string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("CIB_file %s: %w (create one with: cibadmin --empty > %s)", path, ErrNoFile, path)
	}
	return fmt.Errorf("CIB_file %s: %w", path, unwrapPath(err))
}

// unwrapPath drops the path from *os.PathError so it is not printed twice.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (f *File) load() (*cib.CIB, []byte, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, nil, fileErr(f.path, err)
	}
	c, err := cib.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("CIB_file %s: %w: %s", f.path, cib.ErrMalformed, oneLine(err.Error()))
	}
	return c, data, nil
}

// Query implements Client.
func (f *File) Query(_ context.Context, req cib.Request) ([]*etree.Element, cib.Version, error) {
	c, _, err := f.load()
	if err != nil {
		return nil, cib.Version{}, err
	}
	out, err := c.Query(req)
	return out, c.Version(), err
}

// Apply implements Client. The file is rewritten only when the operation
// changed the CIB.
func (f *File) Apply(_ context.Context, req cib.Request) (*cib.Result, error) {
	c, _, err := f.load()
	if err != nil {
		return nil, err
	}
	res, err := c.Apply(req)
	if err != nil {
		return nil, err
	}
	if req.Op == cib.OpQuery || res.Patch == nil {
		return res, nil
	}
	if err := writeAtomic(f.path, c.Bytes()); err != nil {
		return nil, fmt.Errorf("CIB_file %s: %w: %v", f.path, ErrWrite, err)
	}
	return res, nil
}

// Close implements Client.
func (f *File) Close() error { return nil }

// writeAtomic replaces path with data: a temporary file in the same
// directory, fsync, rename, fsync of the directory. The file keeps its mode.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return unwrapPath(err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return unwrapPath(err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// GRPC is the backend that talks to the CIB service.
type GRPC struct {
	socket string
	conn   *grpc.ClientConn
	c      cibv1.CIBServiceClient
}

// DialUnix returns a GRPC backend for the service on the unix socket path.
// The connection is made lazily; a service that is not there is reported
// by the first call as ErrUnreachable.
func DialUnix(path string) (*GRPC, error) {
	conn, err := grpc.NewClient("unix:"+path, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(server.MaxMessageSize), grpc.MaxCallSendMsgSize(server.MaxMessageSize)))
	if err != nil {
		return nil, fmt.Errorf("CIB service at %s: %w", path, err)
	}
	return &GRPC{socket: path, conn: conn, c: cibv1.NewCIBServiceClient(conn)}, nil
}

// NewGRPC wraps an existing connection (tests, other transports); name is
// used in error messages.
func NewGRPC(conn *grpc.ClientConn, name string) *GRPC {
	return &GRPC{socket: name, conn: conn, c: cibv1.NewCIBServiceClient(conn)}
}

func (g *GRPC) err(err error) error {
	if err == nil {
		return nil
	}
	switch status.Code(err) {
	case codes.Unavailable:
		if _, ok := status.FromError(err); ok && !isServerReported(err) {
			return fmt.Errorf("%w at %s: is systoled running? (set CIB_file=FILE to work on a file)", ErrUnreachable, g.socket)
		}
	case codes.DeadlineExceeded:
		return fmt.Errorf("CIB service at %s: %w: %s", g.socket, context.DeadlineExceeded, oneLine(status.Convert(err).Message()))
	}
	return server.FromStatus(err)
}

// isServerReported tells a CIB service's own Unavailable (store failure,
// shutdown) from gRPC's "could not connect".
func isServerReported(err error) bool {
	st := status.Convert(err)
	return strings.HasPrefix(st.Message(), "cib ") || len(st.Details()) > 0
}

// Query implements Client.
func (g *GRPC) Query(ctx context.Context, req cib.Request) ([]*etree.Element, cib.Version, error) {
	resp, err := g.c.Query(ctx, &cibv1.QueryRequest{Scope: req.Scope, Xpath: req.XPath, NoChildren: req.NoChildren})
	if err != nil {
		return nil, cib.Version{}, g.err(err)
	}
	out, err := parseElements(resp.Elements)
	return out, server.VersionFromPB(resp.Version), err
}

// Apply implements Client.
func (g *GRPC) Apply(ctx context.Context, req cib.Request) (*cib.Result, error) {
	resp, err := g.c.Apply(ctx, &cibv1.ApplyRequest{
		Operation: server.OpToPB(req.Op), Scope: req.Scope, Xpath: req.XPath, Xml: req.XML,
		AllowCreate: req.AllowCreate, NoChildren: req.NoChildren, Force: req.Force, Score: req.Score,
		LastWritten: req.LastWritten, Origin: req.Origin, Client: req.Client, User: req.User,
	})
	if err != nil {
		return nil, g.err(err)
	}
	res := &cib.Result{Version: server.VersionFromPB(resp.Version)}
	if len(resp.Patch) > 0 {
		p, err := cib.ParsePatch(resp.Patch)
		if err != nil {
			return nil, fmt.Errorf("CIB service at %s: bad patch in reply: %w", g.socket, err)
		}
		res.Patch = p
	}
	if res.Output, err = parseElements(resp.Elements); err != nil {
		return nil, err
	}
	return res, nil
}

// Close implements Client.
func (g *GRPC) Close() error { return g.conn.Close() }

func parseElements(bs [][]byte) ([]*etree.Element, error) {
	out := make([]*etree.Element, 0, len(bs))
	for _, b := range bs {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(b); err != nil || d.Root() == nil {
			return nil, fmt.Errorf("CIB service: bad element in reply: %v", err)
		}
		r := d.Root()
		d.RemoveChild(r)
		out = append(out, r)
	}
	return out, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WithTimeout returns ctx bounded by d when d > 0.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Watch streams committed changes from the CIB service to fn, in version
// order, until ctx ends or fn returns an error (which Watch returns). With
// fullCopy the first event is the whole CIB. An event with Full set
// replaces everything before it (the watcher fell behind). Only the
// service backend can watch; a CIB_file has no one to announce changes.
func (g *GRPC) Watch(ctx context.Context, fullCopy bool, fn func(*cibv1.WatchEvent) error) error {
	stream, err := g.c.Watch(ctx, &cibv1.WatchRequest{FullCopy: fullCopy})
	if err != nil {
		return g.err(err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return g.err(err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}
