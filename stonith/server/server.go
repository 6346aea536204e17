package server

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/systole/systole/stonith"
)

// Executor runs one agent command. Exec blocks until the agent ended (or
// ctx ended and the agent was killed); it is called from many goroutines.
type Executor interface {
	Exec(ctx context.Context, c stonith.Command) stonith.Result
}

// Server runs the Fencer loop. Create with New, start with Run.
type Server struct {
	core *stonith.Fencer
	exec Executor
	log  *slog.Logger
	now  func() time.Time

	calls   chan func()
	results chan stonith.Result
	stopped chan struct{}

	// Owned by the loop goroutine.
	waiters map[uint64][]chan stonith.Entry
}

// New returns a Server around a Fencer configured by cfg; rng draws the
// pcmk_delay_max delays (nil: none). A nil logger discards.
func New(cfg stonith.Config, rng *rand.Rand, exec Executor, log *slog.Logger) (*Server, error) {
	core, err := stonith.NewFencer(cfg, rng)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{core: core, exec: exec, log: log, now: time.Now,
		calls: make(chan func()), results: make(chan stonith.Result, 64), stopped: make(chan struct{}),
		waiters: map[uint64][]chan stonith.Entry{}}, nil
}

// Run owns the Fencer until ctx is done, then interrupts the running
// agents and waits for them. It returns nil on a clean stop.
func (s *Server) Run(ctx context.Context) error {
	execCtx, cancelExec := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer close(s.stopped)
	for {
		s.drain(execCtx, &wg)
		if d := s.core.NextDeadline(); !d.IsZero() {
			timer.Reset(max(d.Sub(s.now()), 0))
		} else {
			timer.Stop()
		}
		select {
		case f := <-s.calls:
			f()
		case r := <-s.results:
			s.core.Complete(s.now(), r)
		case <-timer.C:
			s.core.Tick(s.now())
		case <-ctx.Done():
			cancelExec(ErrStopped)
			go func() { wg.Wait(); close(s.results) }()
			for r := range s.results {
				s.core.Complete(s.now(), r)
				s.publish(s.core.Ready().Completions)
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

// drain hands the Fencer's commands to the executor and its completions
// to the waiters.
func (s *Server) drain(ctx context.Context, wg *sync.WaitGroup) {
	rd := s.core.Ready()
	for _, c := range rd.Commands {
		s.log.Info("running fence agent", "device", c.Device, "agent", c.Agent, "action", c.Args[0].Value, "op", c.Op)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.results <- s.exec.Exec(ctx, c)
		}()
	}
	s.publish(rd.Completions)
}

func (s *Server) publish(cs []stonith.Completion) {
	for _, c := range cs {
		s.log.Info("fencing ended", "target", c.Target, "action", string(c.Action), "state", c.State.String(),
			"devices", c.Devices, "reason", c.Reason)
		for _, w := range s.waiters[c.ID] {
			w <- c.Entry // buffered, one entry each
			close(w)
		}
		delete(s.waiters, c.ID)
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

// Fence requests fencing (or joins the operation already fencing the
// target with the same action) and waits for its end. A failed fencing is
// an Entry with State failed, not an error; errors are a bad request, the
// caller's context ending, or the server stopping.
func (s *Server) Fence(ctx context.Context, req stonith.Request) (stonith.Entry, error) {
	ch := make(chan stonith.Entry, 1)
	var rerr error
	if err := s.do(ctx, func() {
		id, err := s.core.Request(s.now(), req)
		if err != nil {
			rerr = err
			return
		}
		s.waiters[id] = append(s.waiters[id], ch)
	}); err != nil {
		return stonith.Entry{}, err
	}
	if rerr != nil {
		return stonith.Entry{}, rerr
	}
	select {
	case e, ok := <-ch:
		if !ok {
			return stonith.Entry{}, ErrStopped
		}
		return e, nil
	case <-ctx.Done():
		return stonith.Entry{}, ctx.Err() // the operation goes on
	}
}

// Confirm records that target is safely down (manual fencing).
func (s *Server) Confirm(ctx context.Context, target, origin string) error {
	return s.do(ctx, func() { s.core.Confirm(s.now(), target, origin) })
}

// History returns the fencing history of target ("" for all).
func (s *Server) History(ctx context.Context, target string) ([]stonith.Entry, error) {
	var h []stonith.Entry
	err := s.do(ctx, func() { h = s.core.History(target) })
	return h, err
}

// CleanupHistory forgets the ended operations of target ("" for all).
func (s *Server) CleanupHistory(ctx context.Context, target string) error {
	return s.do(ctx, func() { s.core.CleanupHistory(target) })
}

// SetTopology replaces the devices and levels.
func (s *Server) SetTopology(ctx context.Context, t *stonith.Topology) error {
	return s.do(ctx, func() { s.core.SetTopology(t) })
}

// Topology returns the current devices and levels (do not modify).
func (s *Server) Topology(ctx context.Context) (*stonith.Topology, error) {
	var t *stonith.Topology
	err := s.do(ctx, func() { t = s.core.Topology() })
	return t, err
}
