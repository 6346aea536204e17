package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	crmv1 "github.com/systole/systole/proto/crm/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
	"github.com/systole/systole/tengine"
)

// Executor runs one action; crmv1.CRMServiceClient on crmd's socket is the
// real one. It may be called from many goroutines at once and blocks until
// the result is recorded or ctx ends.
type Executor interface {
	ExecuteAction(ctx context.Context, in *crmv1.ExecuteActionRequest, opts ...grpc.CallOption) (*crmv1.ExecuteActionResponse, error)
}

// Server runs transition graphs. Safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	exec Executor

	mu  sync.Mutex
	cur *runState
}

type runState struct {
	id    int64
	abort chan string
}

// New returns a Server dispatching through exec.
func New(cfg Config, exec Executor) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if exec == nil {
		return nil, fmt.Errorf("tengine server: no executor")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, exec: exec}, nil
}

// Busy reports whether a graph is running.
func (s *Server) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// Abort stops the running graph (when id is 0 or its transition id) and
// reports whether one was running.
func (s *Server) Abort(id int64, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || (id != 0 && id != s.cur.id) {
		return false
	}
	if reason == "" {
		reason = "aborted by request"
	}
	select {
	case s.cur.abort <- reason:
	default: // an abort is already queued; the first reason wins anyway
	}
	return true
}

type done struct {
	id   int
	res  tengine.Result
	call error
}

// Run executes the graph of req, sending progress to send, and returns when
// the graph has finished. ctx ending aborts the graph; Run still waits for
// the running actions. send errors are logged, not fatal: the graph goes on.
func (s *Server) Run(ctx context.Context, req *tenginev1.RunRequest, send func(*tenginev1.RunEvent) error) error {
	g, err := tengine.ParseGraph(req.GetGraphXml())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if req.GetTransitionId() != 0 && req.GetTransitionId() != int64(g.TransitionID) {
		return fmt.Errorf("%w: transition id %d, but the graph says %d", ErrBadRequest, req.GetTransitionId(), g.TransitionID)
	}
	st := &runState{id: int64(g.TransitionID), abort: make(chan string, 1)}
	s.mu.Lock()
	if s.cur != nil {
		cur := s.cur.id
		s.mu.Unlock()
		return fmt.Errorf("%w: transition %d", ErrBusy, cur)
	}
	s.cur = st
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
	}()

	eng, err := tengine.New(g, s.cfg.UUID, s.cfg.Engine, s.cfg.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	log := s.log.With("graph", g.TransitionID)
	log.Info("transition started", "synapses", len(g.Synapses), "actions", g.NumActions())
	// Calls use their own context: cancelling the Run call aborts the
	// graph but lets running actions finish.
	callCtx, cancelCalls := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancelCalls()
		wg.Wait()
	}()
	results := make(chan done, 64)
	sendErrLogged := false
	emit := func(ev *tenginev1.RunEvent) {
		if err := send(ev); err != nil && !sendErrLogged {
			sendErrLogged = true
			log.Debug("progress not delivered", "err", err)
		}
	}
	started := map[int]bool{}
	stopCtx := ctx.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r := eng.Ready()
		for _, d := range r.Dispatch {
			wg.Add(1)
			go func(d tengine.Dispatch) {
				defer wg.Done()
				res, err := s.call(callCtx, g, d)
				select {
				case results <- done{id: d.Action.ID, res: res, call: err}:
				case <-callCtx.Done(): // the graph ended (the engine timed it out)
				}
			}(d)
		}
		for _, ev := range r.Events {
			if ev.Action.Kind == tengine.Pseudo {
				continue
			}
			a := ev.Action
			if ev.Started {
				started[a.ID] = true
				log.Debug("action started", "id", a.ID, "op", a.OperationKey, "node", a.Node)
			} else {
				lvl := slog.LevelDebug
				if ev.Failed {
					lvl = slog.LevelWarn
				}
				log.Log(context.Background(), lvl, "action finished", "id", a.ID, "op", a.OperationKey, "node", a.Node,
					"rc", ev.Result.RC, "status", ev.Result.Status, "reason", ev.Result.ExitReason, "failed", ev.Failed, "ms", ev.Elapsed.Milliseconds())
			}
			emit(&tenginev1.RunEvent{Event: &tenginev1.RunEvent_Action{Action: &tenginev1.ActionEvent{
				ActionId: int64(a.ID), OperationKey: a.OperationKey, Node: a.Node, Started: ev.Started,
				Rc: int32(ev.Result.RC), OpStatus: int32(ev.Result.Status), ExitReason: ev.Result.ExitReason,
				Failed: ev.Failed, ElapsedMs: ev.Elapsed.Milliseconds()}}})
		}
		if f := r.Finished; f != nil {
			out := tenginev1.Outcome_OUTCOME_COMPLETE
			if f.Outcome != tengine.Complete {
				out = tenginev1.Outcome_OUTCOME_ABORTED
			}
			log.Info("transition finished", "outcome", f.Outcome.String(), "reason", f.Reason,
				"completed", f.Completed, "failed", f.Failed, "skipped", f.Skipped)
			emit(&tenginev1.RunEvent{Event: &tenginev1.RunEvent_Finished{Finished: &tenginev1.Finished{
				Outcome: out, Reason: f.Reason, Completed: int64(f.Completed), Failed: int64(f.Failed), Skipped: int64(f.Skipped)}}})
			return nil
		}
		if dl := eng.NextDeadline(); !dl.IsZero() {
			timer.Reset(max(dl.Sub(s.cfg.Now()), 0))
		}
		select {
		case d := <-results:
			res := d.res
			if d.call != nil {
				res = callFailure(d.call)
			}
			if err := eng.Result(s.cfg.Now(), d.id, res); err != nil {
				// A late answer after the engine timed the action out.
				log.Debug("result ignored", "id", d.id, "err", err)
			}
		case <-timer.C:
			eng.Tick(s.cfg.Now())
		case reason := <-st.abort:
			log.Info("transition aborted", "reason", reason)
			eng.Abort(s.cfg.Now(), reason)
		case <-stopCtx:
			stopCtx = nil
			log.Info("transition aborted", "reason", "run call ended")
			eng.Abort(s.cfg.Now(), "run call cancelled")
		}
	}
}

// call runs one action through the executor with the action's deadline.
func (s *Server) call(ctx context.Context, g *tengine.Graph, d tengine.Dispatch) (tengine.Result, error) {
	a := d.Action
	req := &crmv1.ExecuteActionRequest{
		TransitionId:  int64(g.TransitionID),
		ActionId:      int64(a.ID),
		Node:          a.Node,
		Operation:     a.Operation,
		OperationKey:  a.OperationKey,
		Attributes:    a.Attributes,
		TransitionKey: d.Key,
		TargetRc:      int32(a.TargetRC),
	}
	if a.Rsc != nil {
		req.RscId, req.RscLongId, req.RscClass, req.RscProvider, req.RscType = a.Rsc.ID, a.Rsc.LongID, a.Rsc.Class, a.Rsc.Provider, a.Rsc.Type
	}
	ctx, cancel := context.WithDeadline(ctx, d.Deadline)
	defer cancel()
	resp, err := s.exec.ExecuteAction(ctx, req)
	if err != nil {
		return tengine.Result{}, err
	}
	return tengine.Result{RC: int(resp.GetRc()), Status: int(resp.GetOpStatus()), ExitReason: resp.GetExitReason()}, nil
}

// callFailure turns a failed call into the action's result: it failed.
func callFailure(err error) tengine.Result {
	st := tengine.StatusError
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		st = tengine.StatusTimeout
	case codes.Canceled:
		st = tengine.StatusCancelled
	}
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Code().String() + ": " + s.Message()
	}
	return tengine.Result{RC: 1, Status: st, ExitReason: msg}
}

// errorCodes maps the server's errors to gRPC codes: the one table.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrBusy, codes.FailedPrecondition},
	{ErrBadRequest, codes.InvalidArgument},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// ToStatus converts a server error to a gRPC status error.
func ToStatus(err error) error {
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

// Register registers TransitionService for s on g.
func Register(g *grpc.Server, s *Server) {
	tenginev1.RegisterTransitionServiceServer(g, &service{s: s})
}

type service struct {
	tenginev1.UnimplementedTransitionServiceServer
	s *Server
}

func (v *service) Run(req *tenginev1.RunRequest, stream grpc.ServerStreamingServer[tenginev1.RunEvent]) error {
	return ToStatus(v.s.Run(stream.Context(), req, stream.Send))
}

func (v *service) Abort(_ context.Context, req *tenginev1.AbortRequest) (*tenginev1.AbortResponse, error) {
	return &tenginev1.AbortResponse{Running: v.s.Abort(req.GetTransitionId(), req.GetReason())}, nil
}
