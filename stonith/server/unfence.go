package server

import (
	"context"
	"slices"

	"github.com/systole/systole/stonith"
)

// UnfenceSelf unfences this node as it joins the cluster: action "on"
// through every device with meta provides=unfencing that can fence it,
// as one level (every device must succeed), run here (a node may unfence
// itself). It returns nil, nil when no such device exists.
func (s *Server) UnfenceSelf(ctx context.Context) (*stonith.Entry, error) {
	t, err := s.Topology(ctx)
	if err != nil {
		return nil, err
	}
	capable, err := s.Capable(ctx, s.node)
	if err != nil {
		return nil, err
	}
	var devs []string
	for _, id := range t.DeviceIDs() {
		if d := t.Devices[id]; d.Unfencing && !d.Disabled && slices.Contains(capable, id) {
			devs = append(devs, id)
		}
	}
	if len(devs) == 0 {
		return nil, nil
	}
	s.log.Info("unfencing this node", "devices", devs)
	e, err := s.Fence(ctx, stonith.Request{Target: s.node, Action: stonith.ActionOn, Origin: s.node, Client: "stonithd-unfence",
		Devices: devs, Delay: -1})
	if err != nil {
		return nil, err
	}
	if e.State != stonith.StateDone {
		s.log.Error("unfencing failed", "reason", e.Reason)
	}
	return &e, nil
}
