package server

import (
	"context"
	"sync"
	"time"

	"github.com/systole/systole/stonith"
)

// monitorStartDelay is how long after a device appears its first monitor
// runs: long enough for a starting cluster to settle, short enough that
// stonith_admin -Q shows a status soon.
const monitorStartDelay = 5 * time.Second

// SetMonitorInterval sets the default period of the devices' recurring
// monitor (pcmk_monitor_interval overrides it per device; 0 disables the
// default). Call before Run.
func (s *Server) SetMonitorInterval(d time.Duration) { s.monitorEvery = max(d, 0) }

// MonitorLoop runs each enabled device's monitor action every
// pcmk_monitor_interval (default SetMonitorInterval), one run per device
// at a time, until ctx ends; the result is the device's status
// (ListDevices, stonith_admin -Q) and a change of it is logged. Every
// node monitors every device (the CIB gives every node the same
// devices); a failed monitor is reported, it does not stop the device
// from being used.
func (s *Server) MonitorLoop(ctx context.Context) {
	next := map[string]time.Time{}
	running := map[string]bool{}
	done := make(chan struct {
		id  string
		res stonith.Result
	}, 16)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := map[string]string{}
	var wg sync.WaitGroup
	defer wg.Wait() // no monitor agent outlives the loop
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-done:
			delete(running, r.id)
			st := s.Status(r.id).Status
			if st != last[r.id] {
				if st == "ok" {
					s.log.Info("fence device monitor ok", "device", r.id)
				} else {
					s.log.Warn("fence device monitor failed", "device", r.id, "status", st)
				}
				last[r.id] = st
			}
			continue
		case <-tick.C:
		}
		t, err := s.Topology(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		for id := range next {
			if d := t.Devices[id]; d == nil || d.Disabled {
				delete(next, id)
			}
		}
		for _, id := range t.DeviceIDs() {
			d := t.Devices[id]
			every := s.monitorEvery
			if d.MonitorIntervalSet {
				every = d.MonitorInterval
			}
			if d.Disabled || every <= 0 {
				continue
			}
			due, ok := next[id]
			if !ok {
				next[id] = now.Add(min(monitorStartDelay, every))
				continue
			}
			if now.Before(due) || running[id] {
				continue
			}
			running[id] = true
			next[id] = now.Add(every)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _ := s.RunDeviceAction(ctx, id, stonith.ActionMonitor, "")
				select {
				case done <- struct {
					id  string
					res stonith.Result
				}{id, r}:
				case <-ctx.Done():
				}
			}()
		}
	}
}
