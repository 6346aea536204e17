package server

import (
	"context"
	"fmt"
	"strconv"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// Clean shutdown, as Pacemaker's controller does it: the leaving node sets
// its transient attribute shutdown=<time>; the policy engine then moves or
// stops every resource of the node and schedules do_shutdown for it after
// those stops; the node's do_shutdown records node_state expected=down
// (so that the survivors see a clean leave, not a node to fence) and lets
// crmd exit. Without a DC (no quorum, nobody computing) Shutdown gives up
// when its context ends and crmd exits as before.

// Shutdown asks the cluster to move this node's resources away and waits
// until the DC's transition has run this node's do_shutdown (after every
// stop here), or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shuttingDown.Store(true)
	a := crm.Attr{Node: s.name, Name: "shutdown", Value: strconv.FormatInt(s.cfg.Now().Unix(), 10), Lifetime: crm.LifetimeReboot}
	s.log.Info("shutting down: asking the DC to move this node's resources away")
	if err := s.setAttrWait(ctx, a); err != nil {
		return fmt.Errorf("crmd: shutdown: set the shutdown attribute: %w", err)
	}
	select {
	case <-s.shutdownDone:
		s.log.Info("shutdown: resources stopped, leaving the cluster")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("crmd: shutdown: no do_shutdown from the DC: %w", ctx.Err())
	}
}

// runShutdown is do_shutdown for this node: every resource here is
// stopped (the graph orders do_shutdown after the stops). It records the
// node as expected down, through the DC, then releases Shutdown.
func (s *Server) runShutdown(ctx context.Context, req *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	if !s.shuttingDown.Load() {
		// a stale shutdown attribute (this crmd restarted before the DC
		// erased it): clear it, so the DC stops scheduling do_shutdown
		s.log.Warn("do_shutdown but not shutting down: clearing a stale shutdown attribute")
		if err := s.setAttrWait(ctx, crm.Attr{Node: s.name, Name: "shutdown", Lifetime: crm.LifetimeReboot, Delete: true}); err != nil {
			return nil, fmt.Errorf("crmd: do_shutdown: clear the stale shutdown attribute: %w", err)
		}
		return &crmv1.ExecuteActionResponse{}, nil
	}
	state := fmt.Sprintf(`<node_state id="%s" uname="%s" expected="down"/>`, s.name, s.name)
	if _, err := s.Write(ctx, cib.Request{Op: cib.OpModify, Scope: "status", AllowCreate: true, XML: []byte(state), Client: ClientTE}); err != nil {
		return nil, fmt.Errorf("crmd: do_shutdown: record expected=down: %w", err)
	}
	s.shutdownOnce.Do(func() { close(s.shutdownDone) })
	return &crmv1.ExecuteActionResponse{}, nil
}
