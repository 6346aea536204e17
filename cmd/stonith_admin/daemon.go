package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib/client"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

// Exit codes of the daemon commands (Pacemaker's CRM_EX_* values).
const (
	exitUnavailable = 69  // CRM_EX_UNAVAILABLE: stonithd is shutting down
	exitDisconnect  = 102 // CRM_EX_DISCONNECT: stonithd is not reachable
	exitNoSuch      = 105 // CRM_EX_NOSUCH: no such device, or no device can fence the target
	exitTimeout     = 124 // CRM_EX_TIMEOUT
)

// defaultSocket is stonithd's socket: STONITH_socket, else stonithd.sock
// beside CIB_socket (the lab gives each node its own run directory), else
// /run/systole/stonithd.sock.
func defaultSocket() string {
	if s := os.Getenv("STONITH_socket"); s != "" {
		return s
	}
	if s := os.Getenv("CIB_socket"); s != "" {
		return filepath.Join(filepath.Dir(s), "stonithd.sock")
	}
	return "/run/systole/stonithd.sock"
}

// dial connects to stonithd.
func (o *options) dial() (stonithv1.StonithServiceClient, func(), error) {
	conn, err := grpc.NewClient("unix://"+o.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, &client.CLIError{Code: exitDisconnect, Msg: "Could not connect to fencer: " + err.Error(), Err: err}
	}
	return stonithv1.NewStonithServiceClient(conn), func() { conn.Close() }, nil
}

// rpcError turns an RPC error into the tool's exit and message.
func (o *options) rpcError(err error, what string) error {
	st := status.Convert(err)
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if strings.HasPrefix(msg, "stonithd") {
			return &client.CLIError{Code: exitUnavailable, Msg: tool + ": " + msg, Err: err}
		}
		return &client.CLIError{Code: exitDisconnect, Msg: "Could not connect to fencer at " + o.socket + ": is systoled running? (" + msg + ")", Err: err}
	case codes.InvalidArgument:
		return &client.CLIError{Code: client.ExitUsage, Msg: tool + ": " + what + ": " + msg, Err: err}
	case codes.NotFound:
		return &client.CLIError{Code: exitNoSuch, Msg: tool + ": " + what + ": " + msg, Err: err}
	case codes.DeadlineExceeded:
		return &client.CLIError{Code: exitTimeout, Msg: tool + ": " + what + ": timed out", Err: err}
	case codes.PermissionDenied:
		return &client.CLIError{Code: 4, Msg: tool + ": " + msg, Err: err} // CRM_EX_INSUFFICIENT_PRIV
	}
	return &client.CLIError{Code: client.ExitError, Msg: tool + ": " + what + ": " + msg, Err: err}
}

// daemonCommand runs a command that needs stonithd.
func (o *options) daemonCommand(cmd string, out io.Writer) error {
	api, closeConn, err := o.dial()
	if err != nil {
		return err
	}
	defer closeConn()
	timeout := time.Duration(o.timeout) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	switch cmd {
	case "--fence":
		return o.fenceNode(ctx, api, o.fence, "off", out)
	case "--reboot":
		return o.fenceNode(ctx, api, o.reboot, "reboot", out)
	case "--unfence":
		return o.fenceNode(ctx, api, o.unfence, "on", out)
	case "--confirm":
		if _, err := api.Confirm(ctx, &stonithv1.ConfirmRequest{Target: o.confirm}); err != nil {
			return o.rpcError(err, "Couldn't confirm "+o.confirm)
		}
		if !o.quiet {
			fmt.Fprintf(out, "Node %s confirmed safely down (manual fencing)\n", o.confirm)
		}
		return nil
	case "--list", "--list-registered":
		req := &stonithv1.ListDevicesRequest{}
		if cmd == "--list" {
			req.Target = o.list
		}
		resp, err := api.ListDevices(ctx, req)
		if err != nil {
			return o.rpcError(err, "Couldn't list devices")
		}
		for _, d := range resp.Devices {
			fmt.Fprintln(out, d.Id)
		}
		if !o.quiet {
			fmt.Fprintf(out, "%d fence devices found\n", len(resp.Devices))
		}
		return nil
	case "--query":
		return o.queryDevice(ctx, api, out)
	case "--history":
		return o.showHistory(ctx, api, out)
	case "--last":
		return o.lastFenced(ctx, api, out)
	}
	return fmt.Errorf("%s: not a daemon command", cmd)
}

func (o *options) fenceNode(ctx context.Context, api stonithv1.StonithServiceClient, target, action string, out io.Writer) error {
	req := &stonithv1.FenceRequest{Target: target, Action: action, Client: fmt.Sprintf("stonith_admin.%d", os.Getpid()),
		TimeoutMs: int64(o.timeout) * 1000, ToleranceMs: o.tolerance.Milliseconds(), Wait: true}
	if o.delay != 0 {
		req.DelayMs = int64(o.delay) * 1000
		if o.delay < 0 {
			req.DelayMs = -1
		}
	}
	verb := map[string]string{"off": "fence", "reboot": "reboot", "on": "unfence"}[action]
	resp, err := api.Fence(ctx, req)
	if err != nil {
		return o.rpcError(err, "Couldn't "+verb+" "+target)
	}
	e := resp.GetEntry()
	if e.GetState() == stonithv1.State_STATE_DONE {
		if o.verbose > 0 {
			fmt.Fprintln(out, eventLine(e))
		}
		return nil
	}
	code := client.ExitError
	switch r := e.GetReason(); {
	case strings.HasPrefix(r, "timed out"):
		code = exitTimeout
	case strings.HasPrefix(r, "no fence device can fence"):
		code = exitNoSuch
	}
	return &client.CLIError{Code: code, Msg: fmt.Sprintf("%s: Couldn't %s %s: %s", tool, verb, target, e.GetReason())}
}

func (o *options) queryDevice(ctx context.Context, api stonithv1.StonithServiceClient, out io.Writer) error {
	resp, err := api.QueryDevice(ctx, &stonithv1.QueryDeviceRequest{Device: o.query})
	if err != nil {
		return o.rpcError(err, "Couldn't query "+o.query)
	}
	recurring := ""
	if l, err := api.ListDevices(ctx, &stonithv1.ListDevicesRequest{}); err == nil {
		for _, d := range l.Devices {
			if d.Id == o.query {
				recurring = d.Status
			}
		}
	}
	if resp.Error == "" && resp.Rc == 0 {
		if !o.quiet {
			fmt.Fprintf(out, "%s is active\n", o.query)
			if o.verbose > 0 && recurring != "" {
				fmt.Fprintf(out, "last monitor: %s\n", recurring)
			}
		}
		return nil
	}
	why := resp.Error
	if why == "" {
		why = fmt.Sprintf("monitor returned rc=%d", resp.Rc)
		if t := strings.TrimSpace(resp.Output); t != "" {
			why += ": " + strings.ReplaceAll(t, "\n", " ")
		}
	}
	if !o.quiet {
		fmt.Fprintf(out, "%s is not active: %s\n", o.query, why)
		if recurring != "" {
			fmt.Fprintf(out, "last monitor: %s\n", recurring)
		}
	}
	return &client.CLIError{Code: client.ExitError}
}

// timeString formats a history time as Pacemaker's
// pcmk__timespec2str(... log_date|log_timeofday|with_timezone).
func timeString(ms int64) string {
	return time.UnixMilli(ms).Format("2006-01-02 15:04:05 -07:00")
}

// eventLine is one history entry in Pacemaker's text format.
func eventLine(e *stonithv1.Entry) string {
	clients := strings.Join(e.Clients, ",")
	reason := ""
	if e.Reason != "" {
		reason = " (" + e.Reason + ")"
	}
	switch e.State {
	case stonithv1.State_STATE_DONE:
		return fmt.Sprintf("%s of %s successful: delegate=%s, client=%s, origin=%s, completed='%s'%s",
			e.Action, e.Target, e.Delegate, clients, e.Origin, timeString(e.CompletedMs), reason)
	case stonithv1.State_STATE_FAILED:
		return fmt.Sprintf("%s of %s failed: delegate=%s, client=%s, origin=%s, last-failed='%s'%s",
			e.Action, e.Target, e.Delegate, clients, e.Origin, timeString(e.CompletedMs), reason)
	}
	return fmt.Sprintf("%s of %s pending: client=%s, origin=%s", e.Action, e.Target, clients, e.Origin)
}

// sortHistory orders as Pacemaker's stonith__sort_history: pending first,
// then the ended ones, most recent first.
func sortHistory(es []*stonithv1.Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		pi, pj := es[i].State == stonithv1.State_STATE_PENDING, es[j].State == stonithv1.State_STATE_PENDING
		if pi != pj {
			return pi
		}
		return es[i].CompletedMs > es[j].CompletedMs
	})
}

func (o *options) showHistory(ctx context.Context, api stonithv1.StonithServiceClient, out io.Writer) error {
	target := o.history
	if target == "*" {
		target = ""
	}
	if o.cleanup {
		if _, err := api.History(ctx, &stonithv1.HistoryRequest{Target: target, Cleanup: true}); err != nil {
			return o.rpcError(err, "Couldn't clean up the fencing history")
		}
		if !o.quiet {
			if target == "" {
				fmt.Fprintln(out, "cleaning up fencing-history")
			} else {
				fmt.Fprintf(out, "cleaning up fencing-history for node %s\n", target)
			}
		}
		return nil
	}
	resp, err := api.History(ctx, &stonithv1.HistoryRequest{Target: target})
	if err != nil {
		return o.rpcError(err, "Couldn't read the fencing history")
	}
	es := resp.Entries
	sortHistory(es)
	if o.quiet {
		// Pacemaker's quiet history: the time of the latest successful
		// fencing per target, as seconds since the epoch.
		seen := map[string]bool{}
		for _, e := range es {
			if e.State == stonithv1.State_STATE_DONE && !seen[e.Target] {
				seen[e.Target] = true
				fmt.Fprintf(out, "%d\n", e.CompletedMs/1000)
			}
		}
		return nil
	}
	for _, e := range es {
		fmt.Fprintln(out, eventLine(e))
	}
	return nil
}

func (o *options) lastFenced(ctx context.Context, api stonithv1.StonithServiceClient, out io.Writer) error {
	resp, err := api.History(ctx, &stonithv1.HistoryRequest{Target: o.last})
	if err != nil {
		return o.rpcError(err, "Couldn't read the fencing history")
	}
	var when int64
	for _, e := range resp.Entries {
		if e.State == stonithv1.State_STATE_DONE && e.CompletedMs > when {
			when = e.CompletedMs
		}
	}
	switch {
	case o.quiet:
		fmt.Fprintf(out, "%d\n", when/1000)
	case when == 0:
		fmt.Fprintf(out, "Node %s has never been fenced\n", o.last)
	default:
		fmt.Fprintf(out, "Node %s last fenced at: %s\n", o.last, time.UnixMilli(when).Format("Mon Jan _2 15:04:05 2006"))
	}
	return nil
}
