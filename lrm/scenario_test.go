package lrm

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScenarios runs the scripts in testdata/scenarios/*.txt against a
// Manager and compares the trace with the .golden file beside each.
// Regenerate with GOLDEN_UPDATE=1 go test ./lrm/ and review the diff.
//
// Commands (one per line, # comments):
//
//	config parallel=N
//	submit rsc=ID action=A [interval=D] [timeout=D]
//	complete call=N [rc=N] [status=timeout|error|not-installed] [after=D]
//	cancel rsc=ID action=A [interval=D]
//	tick D            advance the clock by D, then Tick
//	unregister rsc=ID
//	history rsc=ID
//
// After each command the trace shows what Ready returned and any error.
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			got := runScenario(t, f)
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if os.Getenv("GOLDEN_UPDATE") != "" {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with GOLDEN_UPDATE=1)", err)
			}
			if got != string(want) {
				t.Fatalf("trace differs from %s:\n--- got\n%s", golden, got)
			}
		})
	}
}

func kv(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func dur(t *testing.T, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

func rel(now time.Time) string {
	if now.IsZero() {
		return "-"
	}
	return "+" + now.Sub(t0).String()
}

func runScenario(t *testing.T, file string) string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := DefaultConfig()
	var m *Manager
	mgr := func() *Manager {
		if m == nil {
			m = New(cfg, nil)
		}
		return m
	}
	now := t0
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		out.WriteString("> " + line + "\n")
		fields := strings.Fields(line)
		args := kv(fields[1:])
		var err error
		switch fields[0] {
		case "config":
			cfg.MaxParallel, _ = strconv.Atoi(args["parallel"])
		case "submit":
			var id int64
			id, err = mgr().Submit(Request{Rsc: dummy(args["rsc"]), Action: args["action"],
				Interval: dur(t, args["interval"]), Timeout: dur(t, args["timeout"])}, now)
			if err == nil {
				fmt.Fprintf(&out, "call %d\n", id)
			}
		case "complete":
			id, _ := strconv.ParseInt(args["call"], 10, 64)
			rc, _ := strconv.Atoi(args["rc"])
			st := StatusDone
			switch args["status"] {
			case "timeout":
				st, rc = StatusTimeout, 1
			case "error":
				st, rc = StatusError, 1
			case "not-installed":
				st, rc = StatusNotInstalled, 5
			}
			now = now.Add(dur(t, args["after"]))
			mgr().Complete(id, ExecResult{RC: rc, Status: st}, now)
		case "cancel":
			err = mgr().Cancel(args["rsc"], args["action"], dur(t, args["interval"]), now)
		case "tick":
			now = now.Add(dur(t, fields[1]))
			mgr().Tick(now)
		case "unregister":
			err = mgr().Unregister(args["rsc"], now)
		case "history":
			var h History
			h, err = mgr().History(args["rsc"])
			for _, r := range h.Ops {
				l := r.Last
				fmt.Fprintf(&out, "history %s call=%d rc=%d status=%s runs=%d queued=%s started=%s finished=%s last-rc-change=%s exec=%v queue=%v\n",
					l.Key(), l.CallID, l.RC, l.Status, r.Runs, rel(l.Queued), rel(l.Started), rel(l.Finished), rel(l.LastRCChange), l.ExecTime(), l.QueueTime())
			}
			if h.LastFailure != nil {
				fmt.Fprintf(&out, "last-failure %s call=%d rc=%d status=%s\n", h.LastFailure.Key(), h.LastFailure.CallID, h.LastFailure.RC, h.LastFailure.Status)
			}
		default:
			t.Fatalf("%s: unknown command %q", file, fields[0])
		}
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		if m == nil {
			continue
		}
		rd := m.Ready()
		for _, c := range rd.Exec {
			fmt.Fprintf(&out, "exec call=%d %s queued=%s\n", c.CallID, OpKey(c.Rsc.ID, c.Action, c.Interval), rel(c.Queued))
		}
		for _, r := range rd.Results {
			fmt.Fprintf(&out, "result call=%d %s rc=%d status=%s\n", r.CallID, r.Key(), r.RC, r.Status)
		}
		if d, ok := m.NextDeadline(); ok {
			fmt.Fprintf(&out, "next-due %s\n", rel(d))
		}
	}
	return out.String()
}
