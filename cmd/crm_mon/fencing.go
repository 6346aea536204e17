package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	crmstatus "github.com/systole/systole/crm/status"
	"github.com/systole/systole/crm/status/source"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// StonithSocketEnv overrides where crm_mon finds stonithd (default:
// stonithd.sock beside the CIB socket, both in systoled's run directory).
const StonithSocketEnv = "STONITH_socket"

// stonithSocket is stonithd's socket for a CIB socket.
func stonithSocket(cibSocket string) string {
	if s := os.Getenv(StonithSocketEnv); s != "" {
		return s
	}
	return filepath.Join(filepath.Dir(cibSocket), "stonithd.sock")
}

// stonithHistory asks the local stonithd for the whole fencing history.
func stonithHistory(ctx context.Context, cibSocket string) ([]*stonithv1.Entry, error) {
	sock, err := filepath.Abs(stonithSocket(cibSocket))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(sock); err != nil {
		return nil, fmt.Errorf("stonithd is not running (no %s)", sock)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := stonithv1.NewStonithServiceClient(conn).History(ctx, &stonithv1.HistoryRequest{})
	if err != nil {
		return nil, fmt.Errorf("stonithd at %s: %s", sock, status.Convert(err).Message())
	}
	return resp.GetEntries(), nil
}

// fencing returns the fencing history level and what to show. Offline
// (CIB_file) there is no history: nothing is shown. Live, the level is
// --fence-history's (-m alone: 2), else 1 when fencing is enabled, as
// Pacemaker's crm_mon; an unreachable stonithd is reported only when -m
// asked for the history.
func (o *options) fencing(ctx context.Context, src *source.Source, enabled bool) (int, []crmstatus.FenceEvent, string) {
	level := crmstatus.FenceLevelOff
	if o.fence != "" {
		level, _ = strconv.Atoi(o.fence) // checked in run
	} else if enabled {
		level = crmstatus.FenceLevelFailed
	}
	if level == crmstatus.FenceLevelOff || !src.Live() || o.history == nil {
		return crmstatus.FenceLevelOff, nil, ""
	}
	entries, err := o.history(ctx, src.Socket)
	if err != nil {
		if o.fence == "" {
			return crmstatus.FenceLevelOff, nil, ""
		}
		return level, nil, "fencing history not available: " + err.Error()
	}
	return level, fenceEvents(entries), ""
}

// fenceEvents converts stonithd's entries.
func fenceEvents(entries []*stonithv1.Entry) []crmstatus.FenceEvent {
	var evs []crmstatus.FenceEvent
	for _, e := range entries {
		ev := crmstatus.FenceEvent{Target: e.GetTarget(), Action: e.GetAction(), Origin: e.GetOrigin(), Delegate: e.GetDelegate(),
			Clients: e.GetClients(), Reason: e.GetReason(), Completed: e.GetCompletedMs()}
		switch e.GetState() {
		case stonithv1.State_STATE_DONE:
			ev.State = crmstatus.FenceDone
		case stonithv1.State_STATE_FAILED:
			ev.State = crmstatus.FenceFailed
		default:
			ev.State = crmstatus.FencePending
		}
		evs = append(evs, ev)
	}
	return evs
}
