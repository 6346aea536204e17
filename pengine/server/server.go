package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/pengine"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
)

// Server computes transition graphs. It is safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	sem chan struct{}
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, sem: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// Compute runs the policy engine on req's CIB. It blocks while
// MaxConcurrent computations run, or until ctx ends.
func (s *Server) Compute(ctx context.Context, req *penginev1.ComputeRequest) (*penginev1.ComputeResponse, error) {
	if req.GetTransitionId() < 0 || req.GetTransitionId() > math.MaxInt32 {
		return nil, fmt.Errorf("%w: transition id %d out of range", ErrBadRequest, req.GetTransitionId())
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	start := time.Now()
	cfg := pengine.Config{
		Now:             req.GetNowUnix(),
		ShowScores:      req.GetShowScores(),
		ShowUtilization: req.GetShowUtilization(),
		TransitionID:    int(req.GetTransitionId()),
	}
	if cfg.Now == 0 {
		cfg.Now = s.cfg.Now().Unix()
	}
	res, err := s.compute(req.GetCibXml(), cfg)
	if err != nil {
		s.log.Warn("compute failed", "bytes", len(req.GetCibXml()), "err", err)
		return nil, err
	}
	g := res.Graph
	resp := &penginev1.ComputeResponse{
		GraphXml:      g.XML(),
		Summary:       res.Summary,
		Warnings:      res.Warnings,
		CurrentStatus: res.CurrentStatus,
		RecheckByUnix: g.RecheckBy,
	}
	if cfg.ShowScores || cfg.ShowUtilization {
		resp.Scores = res.Scores
	}
	for _, syn := range g.Synapses {
		if syn.Action.Element != "pseudo_event" {
			resp.Actions++
		}
	}
	resp.ComputeUs = time.Since(start).Microseconds()
	s.log.Debug("computed", "graph", cfg.TransitionID, "bytes", len(req.GetCibXml()),
		"synapses", len(g.Synapses), "actions", resp.Actions, "us", resp.ComputeUs)
	return resp, nil
}

// compute parses and computes; a panic in the scheduler becomes
// ErrInternal instead of killing the daemon.
func (s *Server) compute(data []byte, cfg pengine.Config) (res *pengine.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: scheduler panic: %v", ErrInternal, r)
		}
	}()
	// ParseInput's strings point into its input, and the result's strings
	// (summary, status) into them; gRPC may recycle the request's buffer
	// once the handler returned, before the response is marshalled, so
	// the computation gets its own copy.
	in, err := pengine.ParseInput(bytes.Clone(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCIB, err)
	}
	root := in.Doc.Root()
	if root == nil || root.Tag != "cib" {
		return nil, fmt.Errorf("%w: the root element is not <cib>", ErrBadCIB)
	}
	res, err = pengine.ComputeInput(in, cfg)
	if err != nil {
		if errors.Is(err, pengine.ErrNoCIB) {
			return nil, fmt.Errorf("%w: %v", ErrBadCIB, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return res, nil
}

// errorCodes maps the server's errors to gRPC codes: the one table.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrBadCIB, codes.InvalidArgument},
	{ErrBadRequest, codes.InvalidArgument},
	{ErrInternal, codes.Internal},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// ToStatus converts an error of Compute to a gRPC status error.
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

// Register registers PEngineService for s on g.
func Register(g *grpc.Server, s *Server) {
	penginev1.RegisterPEngineServiceServer(g, &service{s: s})
}

type service struct {
	penginev1.UnimplementedPEngineServiceServer
	s *Server
}

func (v *service) Compute(ctx context.Context, req *penginev1.ComputeRequest) (*penginev1.ComputeResponse, error) {
	resp, err := v.s.Compute(ctx, req)
	return resp, ToStatus(err)
}
