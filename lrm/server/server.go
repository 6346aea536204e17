package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/systole/systole/lrm"
)

// Catalog lists installed agents (executor.Process implements it).
type Catalog interface {
	Providers() ([]string, error)
	Agents(class, provider string) ([]lrm.Resource, error)
}

type completion struct {
	id  int64
	res lrm.ExecResult
}

// Server runs the core loop. Create with New, start with Run.
type Server struct {
	core    *lrm.Manager
	exec    lrm.Executor
	catalog Catalog
	log     *slog.Logger
	now     func() time.Time

	calls       chan func()
	completions chan completion
	stopped     chan struct{}

	// Owned by the loop goroutine.
	subs    map[int]chan lrm.Result
	nextSub int
	waiters map[int64][]chan lrm.Result
}

// New returns a Server around a core configured by cfg. catalog may be
// nil (agent listing then fails). A nil logger discards.
func New(cfg lrm.Config, exec lrm.Executor, catalog Catalog, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		core:        lrm.New(cfg, log),
		exec:        exec,
		catalog:     catalog,
		log:         log,
		now:         time.Now,
		calls:       make(chan func()),
		completions: make(chan completion, 64),
		stopped:     make(chan struct{}),
		subs:        map[int]chan lrm.Result{},
		waiters:     map[int64][]chan lrm.Result{},
	}, nil
}

// Run owns the core until ctx is done, then interrupts running agents and
// waits for them. It returns nil on a clean stop.
func (s *Server) Run(ctx context.Context) error {
	execCtx, cancelExec := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer close(s.stopped)
	for {
		s.drain(execCtx, &wg)
		if d, ok := s.core.NextDeadline(); ok {
			wait := d.Sub(s.now())
			if wait < 0 {
				wait = 0
			}
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case f := <-s.calls:
			f()
		case c := <-s.completions:
			s.core.Complete(c.id, c.res, s.now())
		case <-timer.C:
			s.core.Tick(s.now())
		case <-ctx.Done():
			cancelExec(ErrStopped)
			go func() { wg.Wait(); close(s.completions) }()
			for c := range s.completions {
				s.core.Complete(c.id, c.res, s.now())
				s.publish(s.core.Ready().Results)
			}
			for _, ch := range s.subs {
				close(ch)
			}
			for _, ws := range s.waiters {
				for _, w := range ws {
					close(w)
				}
			}
			return nil
		}
	}
}

// drain hands the core's effects to the executor and to subscribers.
func (s *Server) drain(ctx context.Context, wg *sync.WaitGroup) {
	for s.core.HasReady() {
		rd := s.core.Ready()
		for _, cmd := range rd.Exec {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := s.exec.Exec(ctx, cmd)
				s.completions <- completion{id: cmd.CallID, res: res}
			}()
		}
		s.publish(rd.Results)
	}
}

func (s *Server) publish(results []lrm.Result) {
	for _, r := range results {
		s.log.Info("op result", "rsc", r.Rsc.ID, "op", r.Key(), "call", r.CallID, "rc", r.RC, "status", r.Status.String(), "reason", r.ExitReason)
		for _, w := range s.waiters[r.CallID] {
			w <- r // buffered, one result each
			close(w)
		}
		delete(s.waiters, r.CallID)
		for id, ch := range s.subs {
			select {
			case ch <- r:
			default:
				// A subscriber that cannot keep up is dropped, never waited for.
				s.log.Warn("dropping slow result subscriber", "sub", id)
				close(ch)
				delete(s.subs, id)
			}
		}
	}
}

// do runs f on the loop goroutine and waits for it.
func (s *Server) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(done) }:
	case <-s.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// Exec submits a request; if wait, it also waits for the first result.
func (s *Server) Exec(ctx context.Context, req lrm.Request, wait bool) (int64, *lrm.Result, error) {
	if err := s.exec.Check(req.Rsc); err != nil {
		return 0, nil, err
	}
	var id int64
	var serr error
	var ch chan lrm.Result
	if err := s.do(ctx, func() {
		id, serr = s.core.Submit(req, s.now())
		if serr == nil && wait {
			ch = make(chan lrm.Result, 1)
			s.waiters[id] = append(s.waiters[id], ch)
		}
	}); err != nil {
		return 0, nil, err
	}
	if serr != nil || !wait {
		return id, nil, serr
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return id, nil, ErrStopped
		}
		return id, &r, nil
	case <-ctx.Done():
		return id, nil, ctx.Err()
	}
}

// Cancel cancels an operation.
func (s *Server) Cancel(ctx context.Context, rsc, action string, interval time.Duration) error {
	var cerr error
	if err := s.do(ctx, func() { cerr = s.core.Cancel(rsc, action, interval, s.now()) }); err != nil {
		return err
	}
	return cerr
}

// Unregister forgets a resource.
func (s *Server) Unregister(ctx context.Context, rsc string) error {
	var uerr error
	if err := s.do(ctx, func() { uerr = s.core.Unregister(rsc, s.now()) }); err != nil {
		return err
	}
	return uerr
}

// History returns the history of one resource, or of all when rsc is "".
func (s *Server) History(ctx context.Context, rsc string) ([]lrm.History, error) {
	var out []lrm.History
	var herr error
	err := s.do(ctx, func() {
		ids := []string{rsc}
		if rsc == "" {
			ids = s.core.Resources()
		}
		for _, id := range ids {
			h, err := s.core.History(id)
			if err != nil {
				herr = err
				return
			}
			out = append(out, h)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, herr
}

// Subscribe returns a channel of published results (closed when the
// subscriber falls behind by more than buffer results or the server
// stops) and a function to unsubscribe. With replay, the last result of
// every operation key is sent first.
func (s *Server) Subscribe(ctx context.Context, replay bool, buffer int) (<-chan lrm.Result, func(), error) {
	var ch chan lrm.Result
	var id int
	err := s.do(ctx, func() {
		var past []lrm.Result
		if replay {
			for _, r := range s.core.Resources() {
				h, _ := s.core.History(r)
				for _, rec := range h.Ops {
					past = append(past, rec.Last)
				}
			}
		}
		ch = make(chan lrm.Result, buffer+len(past))
		for _, r := range past {
			ch <- r
		}
		s.nextSub++
		id = s.nextSub
		s.subs[id] = ch
	})
	if err != nil {
		return nil, nil, err
	}
	unsub := func() {
		_ = s.do(context.Background(), func() {
			if c, ok := s.subs[id]; ok {
				close(c)
				delete(s.subs, id)
			}
		})
	}
	return ch, unsub, nil
}

// Metadata runs an agent's meta-data action directly (not queued behind
// any resource).
func (s *Server) Metadata(ctx context.Context, agent lrm.Resource) (string, error) {
	if agent.ID == "" {
		agent.ID = agent.Type
	}
	if err := s.exec.Check(agent); err != nil {
		return "", err
	}
	res := s.exec.Exec(ctx, lrm.Command{Rsc: agent, Action: lrm.ActionMetaData, Timeout: 30 * time.Second})
	switch {
	case res.Status == lrm.StatusNotInstalled:
		return "", fmt.Errorf("%w: %s", errNotInstalled, res.ExitReason)
	case res.Status != lrm.StatusDone || res.RC != lrm.RCOK:
		return "", fmt.Errorf("lrmd: %s meta-data: rc %d (%s) %s", agent.Agent(), res.RC, res.Status, res.ExitReason)
	}
	return res.Stdout, nil
}
