package executor

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/systole/systole/lrm"
)

// Fake is a scripted lrm.Executor for tests: it returns queued results per
// operation and records every command. Safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	script  map[string][]lrm.ExecResult
	calls   []lrm.Command
	Default lrm.ExecResult // returned when nothing is scripted
	// Delay, if set, is how long each Exec blocks (or until ctx is done).
	Delay time.Duration
	// Providers, if non-nil, are the OCF providers Check accepts.
	Providers map[string]bool
}

// NewFake returns a Fake whose default result is success.
func NewFake() *Fake {
	return &Fake{script: map[string][]lrm.ExecResult{}, Default: lrm.ExecResult{Status: lrm.StatusDone}}
}

func fakeKey(rsc, action string, interval time.Duration) string {
	return rsc + " " + action + " " + strconv.FormatInt(interval.Milliseconds(), 10)
}

// Script queues results for rsc/action/interval; they are returned in
// order, and the last one repeats.
func (f *Fake) Script(rsc, action string, interval time.Duration, res ...lrm.ExecResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fakeKey(rsc, action, interval)
	f.script[k] = append(f.script[k], res...)
}

// Calls returns the commands executed so far.
func (f *Fake) Calls() []lrm.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lrm.Command(nil), f.calls...)
}

// Check implements lrm.Executor.
func (f *Fake) Check(rsc lrm.Resource) error {
	switch rsc.Class {
	case lrm.ClassOCF:
		if f.Providers != nil && !f.Providers[rsc.Provider] {
			return fmt.Errorf("%w %q", lrm.ErrUnknownProvider, rsc.Provider)
		}
	case lrm.ClassLSB:
	case lrm.ClassStonith:
		return lrm.ErrStonithClass
	default:
		return fmt.Errorf("%w %q", lrm.ErrUnknownClass, rsc.Class)
	}
	return nil
}

// Exec implements lrm.Executor.
func (f *Fake) Exec(ctx context.Context, cmd lrm.Command) lrm.ExecResult {
	f.mu.Lock()
	f.calls = append(f.calls, cmd)
	k := fakeKey(cmd.Rsc.ID, cmd.Action, cmd.Interval)
	res := f.Default
	if q := f.script[k]; len(q) > 0 {
		res = q[0]
		if len(q) > 1 {
			f.script[k] = q[1:]
		}
	}
	d := f.Delay
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return lrm.ExecResult{RC: lrm.RCErrGeneric, Status: lrm.StatusCancelled, ExitReason: "interrupted"}
		}
	}
	return res
}
