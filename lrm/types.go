package lrm

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Resource classes.
const (
	ClassOCF     = "ocf"
	ClassLSB     = "lsb"
	ClassStonith = "stonith"
)

// Actions of the OCF resource agent API (plus Pacemaker's migrate_to,
// migrate_from and reload-agent).
const (
	ActionStart       = "start"
	ActionStop        = "stop"
	ActionMonitor     = "monitor"
	ActionPromote     = "promote"
	ActionDemote      = "demote"
	ActionNotify      = "notify"
	ActionReload      = "reload"
	ActionReloadAgent = "reload-agent"
	ActionMigrateTo   = "migrate_to"
	ActionMigrateFrom = "migrate_from"
	ActionMetaData    = "meta-data"
	ActionValidateAll = "validate-all"
)

// KnownAction reports whether a is an action lrmd runs.
func KnownAction(a string) bool {
	switch a {
	case ActionStart, ActionStop, ActionMonitor, ActionPromote, ActionDemote,
		ActionNotify, ActionReload, ActionReloadAgent, ActionMigrateTo,
		ActionMigrateFrom, ActionMetaData, ActionValidateAll:
		return true
	}
	return false
}

// OCF exit codes.
const (
	RCOK               = 0
	RCErrGeneric       = 1
	RCErrArgs          = 2
	RCErrUnimplemented = 3
	RCErrPerm          = 4
	RCErrInstalled     = 5
	RCErrConfigured    = 6
	RCNotRunning       = 7
	RCRunningPromoted  = 8
	RCFailedPromoted   = 9
	RCDegraded         = 190
	RCDegradedPromoted = 191
)

// RCName returns the OCF name of an exit code.
func RCName(rc int) string {
	switch rc {
	case RCOK:
		return "OCF_SUCCESS"
	case RCErrGeneric:
		return "OCF_ERR_GENERIC"
	case RCErrArgs:
		return "OCF_ERR_ARGS"
	case RCErrUnimplemented:
		return "OCF_ERR_UNIMPLEMENTED"
	case RCErrPerm:
		return "OCF_ERR_PERM"
	case RCErrInstalled:
		return "OCF_ERR_INSTALLED"
	case RCErrConfigured:
		return "OCF_ERR_CONFIGURED"
	case RCNotRunning:
		return "OCF_NOT_RUNNING"
	case RCRunningPromoted:
		return "OCF_RUNNING_PROMOTED"
	case RCFailedPromoted:
		return "OCF_FAILED_PROMOTED"
	case RCDegraded:
		return "OCF_DEGRADED"
	case RCDegradedPromoted:
		return "OCF_DEGRADED_PROMOTED"
	}
	return "rc" + strconv.Itoa(rc)
}

// Status is the execution status of an operation, as Pacemaker's
// pcmk_exec_status: it tells whether the rc is meaningful.
type Status int

// Execution statuses.
const (
	StatusPending      Status = iota // queued or running
	StatusDone                       // the agent ran and exited; rc is its exit code
	StatusCancelled                  // cancelled before or while running
	StatusTimeout                    // killed after its timeout; rc is 1
	StatusNotSupported               // the class does not have the action; rc is 3
	StatusError                      // could not be executed (fork failed, ...); rc is 1
	StatusNotInstalled               // the agent is missing; rc is 5
)

// String names the status as Pacemaker's crm_mon prints it.
func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusDone:
		return "complete"
	case StatusCancelled:
		return "cancelled"
	case StatusTimeout:
		return "timed out"
	case StatusNotSupported:
		return "not supported"
	case StatusError:
		return "error"
	case StatusNotInstalled:
		return "not installed"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Resource names an agent instance: its id and which agent runs it.
type Resource struct {
	ID       string // resource id, e.g. "vip" or "web:0" for a clone instance
	Class    string // ocf, lsb or stonith
	Provider string // ocf only, e.g. heartbeat
	Type     string // agent name, e.g. IPaddr2
}

// Agent returns the standard spelling class:provider:type (class:type for
// lsb).
func (r Resource) Agent() string {
	if r.Provider == "" {
		return r.Class + ":" + r.Type
	}
	return r.Class + ":" + r.Provider + ":" + r.Type
}

// Request asks for one action on a resource.
type Request struct {
	Rsc    Resource
	Action string
	// Interval is zero for a one-shot action (a monitor with interval zero
	// is a probe) and positive for a recurring monitor.
	Interval time.Duration
	// Timeout bounds one execution; zero means Config.DefaultTimeout.
	Timeout time.Duration
	// Params are the instance parameters, passed as OCF_RESKEY_<name>
	// (a parameter named OCF_CHECK_LEVEL is passed under that name).
	Params map[string]string
	// Meta are extra meta attributes passed as OCF_RESKEY_CRM_meta_<name>
	// (on_node, clone, notify_type, ...). timeout, interval and name are
	// always set from the request.
	Meta map[string]string
}

// Key returns Pacemaker's operation key: RSC_ACTION_INTERVALMS.
func (r Request) Key() string { return OpKey(r.Rsc.ID, r.Action, r.Interval) }

// OpKey returns Pacemaker's operation key for a resource, action and
// interval, e.g. vip_monitor_10000.
func OpKey(rsc, action string, interval time.Duration) string {
	return rsc + "_" + action + "_" + strconv.FormatInt(interval.Milliseconds(), 10)
}

// Command is one execution handed to the Executor.
type Command struct {
	CallID int64
	// Queued is when the operation entered the queue; for a recurring
	// monitor, when this run was due. Started minus Queued is its lateness.
	Queued   time.Time
	Rsc      Resource
	Action   string
	Interval time.Duration
	Timeout  time.Duration
	Params   map[string]string
	Meta     map[string]string
}

// ExecResult is what an Executor reports for one Command.
type ExecResult struct {
	RC         int
	Status     Status
	ExitReason string // from the last "ocf-exit-reason:" line on stderr, or the executor's reason
	Stdout     string // bounded
	Stderr     string // bounded
}

// Executor runs agent actions. Exec blocks until the action finished or
// was killed (including on ctx cancellation) and never returns an error:
// failures to run are reported through ExecResult.Status. Implementations
// are safe for concurrent use by many goroutines.
type Executor interface {
	Exec(ctx context.Context, cmd Command) ExecResult
	// Check verifies that the resource's class and provider exist, without
	// running anything; it returns ErrUnknownClass, ErrUnknownProvider or
	// ErrStonithClass (wrapped).
	Check(rsc Resource) error
}

// Result is a finished (or cancelled) operation, published to clients.
type Result struct {
	CallID     int64
	Rsc        Resource
	Action     string
	Interval   time.Duration
	RC         int
	Status     Status
	ExitReason string
	Stdout     string // bounded by Config.MaxOutput
	Stderr     string // bounded by Config.MaxOutput
	// Queued is when the operation entered the queue (for a recurring
	// monitor after its first run: when it was due).
	Queued time.Time
	// Started is when it was handed to the executor; Finished when its
	// result arrived (both zero for an op cancelled while queued).
	Started, Finished time.Time
	// LastRCChange is when this operation key last changed its rc.
	LastRCChange time.Time
}

// Key returns the result's operation key.
func (r Result) Key() string { return OpKey(r.Rsc.ID, r.Action, r.Interval) }

// ExecTime is how long the agent ran.
func (r Result) ExecTime() time.Duration {
	if r.Started.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// QueueTime is how long the operation waited before it ran.
func (r Result) QueueTime() time.Duration {
	if r.Started.IsZero() {
		return 0
	}
	return r.Started.Sub(r.Queued)
}

// Record is the history of one operation key of one resource.
type Record struct {
	Last Result
	// Runs counts completed executions of this key (recurring monitors run
	// many times under one call id).
	Runs int
}

// History is everything lrmd remembers about a resource.
type History struct {
	Rsc Resource
	// Ops holds one Record per operation key, sorted by key.
	Ops []Record
	// LastFailure is the most recent result that was not the expected
	// success of its action, if any.
	LastFailure *Result
}

// Ready is the set of effects a Manager accumulated since the last Ready.
type Ready struct {
	// Exec are commands to hand to the Executor now.
	Exec []Command
	// Results are results to publish to clients, in completion order.
	Results []Result
}

// Empty reports whether there is nothing to do.
func (r Ready) Empty() bool { return len(r.Exec) == 0 && len(r.Results) == 0 }
