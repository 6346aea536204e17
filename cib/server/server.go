package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/beevik/etree"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// MaxMessageSize bounds one gRPC message each way. A whole CIB with the
// status of a large cluster (16 nodes x 5000 resources of operation
// history) is far above gRPC's 4 MiB default.
const MaxMessageSize = 256 << 20

// Server owns the node's CIB and its store. Its methods are safe for
// concurrent use: writes are serialised, reads run in parallel.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store cib.Store

	mu       sync.RWMutex
	c        *cib.CIB
	watchers map[*watcher]struct{}

	reqs     chan *pending
	stop     chan struct{} // closed by Close: the commit loop ends
	stopOnce sync.Once
	loopDone chan struct{}

	closeOnce sync.Once
	closed    chan struct{} // closed when Serve's context ends: watch streams end
}

type watcher struct {
	ch chan *cibv1.WatchEvent
}

// New loads the newest version from store and returns a Server for it,
// with its commit loop running; call Close to stop it. The server does
// not close the store.
func New(store cib.Store, cfg Config) (*Server, error) {
	def := DefaultConfig()
	if cfg.WatchBuffer == 0 {
		cfg.WatchBuffer = def.WatchBuffer
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = def.MaxBatch
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("cib server: load: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg: cfg, log: log, store: store, c: c,
		watchers: map[*watcher]struct{}{},
		reqs:     make(chan *pending),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
		closed:   make(chan struct{}),
	}
	go s.loop()
	return s, nil
}

// Version returns the current CIB version.
func (s *Server) Version() cib.Version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.Version()
}

// Snapshot returns a copy of the current CIB.
func (s *Server) Snapshot() *cib.CIB {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.c.Clone()
}

// Query answers a query operation with copies of the matching elements
// and the version they were read at.
func (s *Server) Query(req cib.Request) ([]*etree.Element, cib.Version, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out, err := s.c.Query(req)
	return out, s.c.Version(), err
}

// Apply performs one operation. A write returns only once the new version
// is durable in the store, and every watcher has been handed its event.
// On any error the CIB is unchanged. Concurrent writes are applied one at
// a time, in arrival order, by the commit loop, which makes each group of
// writes that arrive together durable with one Store.Save (group commit).
func (s *Server) Apply(req cib.Request) (*cib.Result, error) {
	if req.Op == cib.OpQuery || req.Op == "" {
		req.Op = cib.OpQuery
		out, v, err := s.Query(req)
		if err != nil {
			return nil, err
		}
		return &cib.Result{Version: v, Output: out}, nil
	}
	p := &pending{req: req, done: make(chan outcome, 1)}
	select {
	case s.reqs <- p:
	case <-s.stop:
		return nil, fmt.Errorf("cib server: %s: %w", req.Op, ErrClosed)
	}
	o := <-p.done
	return o.res, o.err
}

// pending is a write waiting for the commit loop.
type pending struct {
	req  cib.Request
	done chan outcome
}

type outcome struct {
	res *cib.Result
	err error
}

// loop is the one goroutine that changes the CIB: it takes every write
// that is waiting (up to MaxBatch) and commits them as one group.
func (s *Server) loop() {
	defer close(s.loopDone)
	for {
		var batch []*pending
		select {
		case p := <-s.reqs:
			batch = append(batch, p)
		case <-s.stop:
			return
		}
	more:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case p := <-s.reqs:
				batch = append(batch, p)
			default:
				break more
			}
		}
		s.commit(batch)
	}
}

// commit applies a group of writes in order, persists them with one Save
// (the concatenation of their patches is itself a patch from the last
// saved version to the new one), then publishes and replies. The write
// lock is held throughout, so no reader sees a version that is not yet
// durable.
func (s *Server) commit(batch []*pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	outs := make([]outcome, len(batch))
	var committed []int
	var group *cib.Patch
	for i, p := range batch {
		res, err := s.c.Apply(p.req)
		outs[i] = outcome{res: res, err: err}
		if err != nil || res.Patch == nil {
			continue // refused, or nothing changed: nothing to persist
		}
		committed = append(committed, i)
		if group == nil {
			group = &cib.Patch{Source: res.Patch.Source}
		}
		group.Target = res.Patch.Target
		group.Changes = append(group.Changes, res.Patch.Changes...)
	}
	if group != nil {
		toSave := group
		if len(committed) == 1 {
			toSave = outs[committed[0]].res.Patch
		}
		if err := s.store.Save(s.c, toSave); err != nil {
			// memory must not run ahead of the disk: go back to what is durable
			if c, lerr := s.store.Load(); lerr == nil {
				s.c = c
			} else {
				s.log.Error("reload after failed save", "err", lerr)
			}
			s.log.Error("save failed; writes rolled back", "writes", len(committed), "err", err)
			for _, i := range committed {
				outs[i] = outcome{err: wrapStore(string(batch[i].req.Op), err)}
			}
		} else {
			for _, i := range committed {
				s.log.Debug("committed", "op", batch[i].req.Op, "version", outs[i].res.Version.String(), "client", batch[i].req.Client)
				s.publish(outs[i].res)
			}
		}
	}
	for i, p := range batch {
		p.done <- outs[i]
	}
}

// Close stops the commit loop; writes after Close fail with ErrClosed.
// It does not close the store. Safe to call more than once.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.loopDone
}

// publish hands a committed version to every watcher. Called with mu held
// for writing, so events are queued in version order.
func (s *Server) publish(res *cib.Result) {
	if len(s.watchers) == 0 {
		return
	}
	ev := &cibv1.WatchEvent{Version: PBVersion(res.Version), Patch: res.Patch.Bytes()}
	var full *cibv1.WatchEvent
	for w := range s.watchers {
		select {
		case w.ch <- ev:
			continue
		default:
		}
		// the watcher fell behind: replace what it has not read by a full copy
	drain:
		for {
			select {
			case <-w.ch:
			default:
				break drain
			}
		}
		if full == nil {
			full = s.fullEvent()
		}
		w.ch <- full
		s.log.Warn("watcher fell behind; sending a full copy", "version", res.Version.String())
	}
}

func (s *Server) fullEvent() *cibv1.WatchEvent {
	return &cibv1.WatchEvent{Version: PBVersion(s.c.Version()), Cib: s.c.Bytes(), Full: true}
}

// Subscribe registers a watcher and returns its event channel and a
// function to cancel it. With fullCopy the first event is the current CIB.
// The channel is never closed; select on it together with your own
// cancellation.
func (s *Server) Subscribe(fullCopy bool) (<-chan *cibv1.WatchEvent, func()) {
	w := &watcher{ch: make(chan *cibv1.WatchEvent, s.cfg.WatchBuffer)}
	s.mu.Lock()
	if fullCopy {
		w.ch <- s.fullEvent()
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	return w.ch, func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}
}

// Serve serves the CIBService on lis until ctx is cancelled, then stops
// gracefully (open watch streams end) and returns nil. Call Serve at most
// once per Server; the Go methods (Apply, Query, Subscribe) work without
// it.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize))
	cibv1.RegisterCIBServiceServer(gs, &service{s: s})
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		s.closeOnce.Do(func() { close(s.closed) })
		gs.GracefulStop()
	}()
	err := gs.Serve(lis)
	close(stopped)
	if ctx.Err() != nil && (err == nil || errors.Is(err, grpc.ErrServerStopped)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cib server: serve: %w", err)
	}
	return nil
}

// service adapts Server to the generated gRPC interface; handlers stay
// thin.
type service struct {
	cibv1.UnimplementedCIBServiceServer
	s *Server
}

func (g *service) Query(ctx context.Context, req *cibv1.QueryRequest) (*cibv1.QueryResponse, error) {
	out, v, err := g.s.Query(cib.Request{Op: cib.OpQuery, Scope: req.Scope, XPath: req.Xpath, NoChildren: req.NoChildren})
	if err != nil {
		return nil, ToStatus(err)
	}
	return &cibv1.QueryResponse{Elements: elementBytes(out), Version: PBVersion(v)}, nil
}

func (g *service) Apply(ctx context.Context, req *cibv1.ApplyRequest) (*cibv1.ApplyResponse, error) {
	r, err := RequestFromPB(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	res, err := g.s.Apply(r)
	if err != nil {
		return nil, ToStatus(err)
	}
	resp := &cibv1.ApplyResponse{Version: PBVersion(res.Version), Elements: elementBytes(res.Output)}
	if res.Patch != nil {
		resp.Patch = res.Patch.Bytes()
	}
	return resp, nil
}

func (g *service) Watch(req *cibv1.WatchRequest, stream grpc.ServerStreamingServer[cibv1.WatchEvent]) error {
	ch, cancel := g.s.Subscribe(req.FullCopy)
	defer cancel()
	for {
		select {
		case ev := <-ch:
			if err := stream.Send(ev); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		case <-g.s.closed:
			return status.Error(codes.Unavailable, "cib server: shutting down")
		}
	}
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

// OpToPB converts a cib operation to its protobuf enum value
// (OPERATION_UNSPECIFIED for an unknown one).
func OpToPB(op cib.Op) cibv1.Operation {
	for k, v := range opFromPB {
		if v == op {
			return k
		}
	}
	return cibv1.Operation_OPERATION_UNSPECIFIED
}

// RequestFromPB converts an ApplyRequest into a cib.Request; an unknown
// operation is an InvalidArgument status. Every server of CIBService (this
// one, crmd's) decodes requests through it.
func RequestFromPB(req *cibv1.ApplyRequest) (cib.Request, error) {
	op, ok := opFromPB[req.Operation]
	if !ok {
		return cib.Request{}, status.Errorf(codes.InvalidArgument, "cib service: unknown operation %v", req.Operation)
	}
	return cib.Request{
		Op: op, Scope: req.Scope, XPath: req.Xpath, XML: req.Xml,
		AllowCreate: req.AllowCreate, NoChildren: req.NoChildren, Force: req.Force, Score: req.Score,
		LastWritten: req.LastWritten, Origin: req.Origin, Client: req.Client, User: req.User,
	}, nil
}

// PBVersion converts a CIB version to its protobuf message.
func PBVersion(v cib.Version) *cibv1.Version {
	return &cibv1.Version{AdminEpoch: v.AdminEpoch, Epoch: v.Epoch, NumUpdates: v.NumUpdates}
}

// VersionFromPB converts a protobuf version (nil is 0.0.0).
func VersionFromPB(v *cibv1.Version) cib.Version {
	if v == nil {
		return cib.Version{}
	}
	return cib.Version{AdminEpoch: v.AdminEpoch, Epoch: v.Epoch, NumUpdates: v.NumUpdates}
}

// ElementBytes serialises one element as indented XML.
func ElementBytes(e *etree.Element) []byte {
	d := etree.NewDocument()
	d.SetRoot(e.Copy())
	d.Indent(2)
	b, err := d.WriteToBytes()
	if err != nil {
		panic(fmt.Sprintf("cib server: write element: %v", err)) // in-memory write cannot fail
	}
	return b
}

func elementBytes(es []*etree.Element) [][]byte {
	if len(es) == 0 {
		return nil
	}
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = ElementBytes(e)
	}
	return out
}
