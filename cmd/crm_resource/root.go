package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source"
)

const tool = "crm_resource"

// options holds every flag and the seams tests replace. There are no
// package-level globals: each command has its own.
type options struct {
	// commands
	list, listRaw, locate, queryXML, queryXMLRaw, constraints, why bool
	listOps, listAllOps                                            bool
	move, ban, clear, cleanup, refresh, restart, wait, deleteRsc   bool
	getParam, setParam, delParam                                   string
	forceStart, forceStop, forceCheck, validate                    bool
	forcePromote, forceDemote                                      bool
	listAgents, showMetadata                                       string
	listProviders, listStandards                                   bool

	// modifiers
	rsc, node, lifetime, value, setName, nvpair, rscType, timeout string
	promoted, meta, util, force, quiet, expired                   bool
	class, provider, agent                                        string
	agentOptions                                                  []string
	verbose                                                       int

	// seams
	now          func() time.Time
	pollInterval time.Duration // --restart and --wait
	openSource   func() (*source.Source, error)
	hostname     func() (string, error)
}

func newOptions() *options {
	return &options{
		now:          time.Now,
		pollInterval: time.Second,
		openSource:   source.FromEnv,
		hostname:     os.Hostname,
	}
}

// AddFlags registers the flags with Pacemaker 2.1's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	// queries
	fs.BoolVarP(&o.list, "list", "L", false, "list all cluster resources with their status")
	fs.BoolVarP(&o.listRaw, "list-raw", "l", false, "list the ids of all instantiated resources (individual members rather than groups etc.)")
	fs.BoolVarP(&o.listOps, "list-operations", "O", false, "list the operation history of active resources (-r, -N filter)")
	fs.BoolVarP(&o.listAllOps, "list-all-operations", "o", false, "list the operation history of every resource (-r, -N filter)")
	fs.BoolVarP(&o.locate, "locate", "W", false, "show the node(s) running the resource")
	fs.BoolVarP(&o.queryXML, "query-xml", "q", false, "show the XML configuration of the resource")
	fs.BoolVarP(&o.queryXMLRaw, "query-xml-raw", "w", false, "show the XML configuration of the resource (same as -q: Systole has no templates)")
	fs.BoolVarP(&o.constraints, "constraints", "a", false, "show the location and colocation constraints that apply to the resource")
	fs.BoolVarP(&o.why, "why", "Y", false, "explain the placement of the resource (scores, constraints, reasons it is stopped)")
	fs.StringVarP(&o.getParam, "get-parameter", "g", "", "print the value of a resource parameter (with -m: meta attribute, -z: utilization)")
	// changes
	fs.BoolVarP(&o.move, "move", "M", false, "move the resource to the node -N (without -N: away from its current node)")
	fs.BoolVarP(&o.ban, "ban", "B", false, "prevent the resource from running on the node -N (default: its current node)")
	fs.BoolVarP(&o.clear, "clear", "U", false, "remove the constraints -M and -B created (cli-prefer-*, cli-ban-*)")
	fs.BoolVarP(&o.cleanup, "cleanup", "C", false, "forget the failures of the resource (all resources without -r), so the cluster probes it again")
	fs.BoolVarP(&o.refresh, "refresh", "R", false, "forget the whole operation history of the resource (all without -r)")
	fs.BoolVar(&o.restart, "restart", false, "stop the resource, wait until it is stopped, start it again, wait until it runs")
	fs.BoolVar(&o.wait, "wait", false, "wait until the cluster has nothing left to do (or --timeout)")
	fs.StringVarP(&o.setParam, "set-parameter", "p", "", "set a resource parameter to the value -v (with -m: meta attribute, -z: utilization)")
	fs.StringVarP(&o.delParam, "delete-parameter", "d", "", "delete a resource parameter (with -m: meta attribute, -z: utilization)")
	fs.BoolVarP(&o.deleteRsc, "delete", "D", false, "delete the resource -r of type -t from the configuration")
	// agents
	fs.BoolVar(&o.forceStart, "force-start", false, "run the resource agent's start action here, bypassing the cluster")
	fs.BoolVar(&o.forceStop, "force-stop", false, "run the resource agent's stop action here, bypassing the cluster")
	fs.BoolVar(&o.forceCheck, "force-check", false, "run the resource agent's monitor action here, bypassing the cluster")
	fs.BoolVar(&o.forcePromote, "force-promote", false, "run the resource agent's promote action here, bypassing the cluster")
	fs.BoolVar(&o.forceDemote, "force-demote", false, "run the resource agent's demote action here, bypassing the cluster")
	fs.BoolVar(&o.validate, "validate", false, "run the resource agent's validate-all action here")
	fs.StringVar(&o.listAgents, "list-agents", "", "list the agents of a standard: ocf, ocf:PROVIDER, lsb")
	fs.BoolVar(&o.listProviders, "list-ocf-providers", false, "list the OCF providers")
	fs.BoolVar(&o.listStandards, "list-standards", false, "list the supported standards (resource classes)")
	fs.StringVar(&o.showMetadata, "show-metadata", "", "print the meta-data of an agent: CLASS:PROVIDER:TYPE or CLASS:TYPE")
	// modifiers
	fs.StringVarP(&o.rsc, "resource", "r", "", "resource id")
	fs.StringVarP(&o.node, "node", "N", "", "node name")
	fs.StringVarP(&o.node, "host-uname", "H", "", "node name (old spelling of -N)")
	fs.MarkHidden("host-uname")
	fs.StringVarP(&o.lifetime, "lifetime", "u", "", "with -M or -B: how long the constraint lasts, an ISO 8601 duration (PT1H, P1D)")
	fs.BoolVar(&o.promoted, "promoted", false, "with -M, -B, -U: limit the constraint to the Promoted role")
	fs.BoolVar(&o.promoted, "master", false, "old spelling of --promoted")
	fs.MarkHidden("master")
	fs.StringVarP(&o.value, "parameter-value", "v", "", "the value for -p")
	fs.BoolVarP(&o.meta, "meta", "m", false, "with -g, -p, -d: a meta attribute instead of a parameter")
	fs.BoolVarP(&o.util, "utilization", "z", false, "with -g, -p, -d: a utilization attribute instead of a parameter")
	fs.StringVarP(&o.setName, "set-name", "s", "", "with -p, -d: the id of the attribute set to use")
	fs.StringVarP(&o.nvpair, "nvpair", "i", "", "with -p, -d: the id of the nvpair to use")
	fs.StringVarP(&o.rscType, "resource-type", "t", "", "with -D: the resource's element (primitive, group, clone, ...)")
	fs.StringVarP(&o.timeout, "timeout", "T", "", "with --restart, --wait, --force-*: give up after this long (10, 10s, 2min, PT30S)")
	fs.BoolVarP(&o.force, "force", "f", false, "do it even when it looks unsafe (move to the current node, start an active clone, ...)")
	fs.BoolVarP(&o.quiet, "quiet", "Q", false, "print only essential output")
	fs.StringVar(&o.class, "class", "", "with --force-*/--validate and --agent: the agent's standard (ocf, lsb), for an agent not in the CIB")
	fs.StringVar(&o.provider, "provider", "", "with --class ocf: the agent's provider")
	fs.StringVar(&o.agent, "agent", "", "with --force-*/--validate: run this agent without a resource in the CIB")
	fs.StringArrayVar(&o.agentOptions, "option", nil, "with --force-*/--validate: NAME=VALUE, an instance parameter for the agent (overrides the CIB's; repeatable)")
	fs.BoolVarP(&o.expired, "expired", "e", false, "with -U: remove only the constraints whose lifetime has ended")
	fs.CountVarP(&o.verbose, "verbose", "V", "print more (repeat for more)")
}

func newRootCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "crm_resource <command> [options]",
		Short: "Inspect and control cluster resources",
		Long: `crm_resource inspects and controls cluster resources, as Pacemaker's
crm_resource does. With CIB_file=FILE in the environment it works on that
file; otherwise on the local crmd (CIB_socket, default ` + client.DefaultSocket + `).

Commands (one at a time): -L -l -O -o -W -q -w -a -Y -g -p -d -M -B -U -C -R -D
--restart --wait --force-start --force-stop --force-check --force-promote
--force-demote --validate
--list-agents --list-ocf-providers --list-standards --show-metadata.`,
		Example: `  crm_resource -L
  crm_resource -W -r vip
  crm_resource -M -r vip -N node2 -u PT1H
  crm_resource -U -r vip
  crm_resource -r vip -p ip -v 192.0.2.10
  crm_resource -C -r vip -N node1
  crm_resource --force-check -r vip
  crm_resource -Y -r vip
  crm_resource --show-metadata ocf:heartbeat:Dummy`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := &runner{o: o, cmd: cmd, out: cmd.OutOrStdout(), errw: cmd.ErrOrStderr()}
			defer r.close()
			return r.dispatch()
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return client.UsageError(tool, "%s", err.Error()) })
	o.AddFlags(cmd.Flags())
	return cmd
}

// runner carries one invocation's state.
type runner struct {
	o         *options
	cmd       *cobra.Command
	out, errw io.Writer
	src       *source.Source
}

func (r *runner) close() {
	if r.src != nil {
		r.src.Close()
	}
}

func (r *runner) changed(name string) bool { return r.cmd.Flags().Changed(name) }

// command returns the one command given.
func (r *runner) command() (string, error) {
	var cmds []string
	for _, name := range []string{"list", "list-raw", "list-operations", "list-all-operations", "locate", "query-xml", "query-xml-raw", "constraints", "why",
		"get-parameter", "set-parameter", "delete-parameter", "move", "ban", "clear", "cleanup", "refresh",
		"restart", "wait", "delete", "force-start", "force-stop", "force-check", "force-promote", "force-demote", "validate",
		"list-agents", "list-ocf-providers", "list-standards", "show-metadata"} {
		if r.changed(name) {
			cmds = append(cmds, "--"+name)
		}
	}
	switch len(cmds) {
	case 0:
		return "", client.UsageError(tool, "no command given")
	case 1:
		return strings.TrimPrefix(cmds[0], "--"), nil
	}
	return "", client.UsageError(tool, "give only one command, not %s", strings.Join(cmds, " "))
}

func (r *runner) dispatch() error {
	c, err := r.command()
	if err != nil {
		return err
	}
	switch c {
	case "list-agents":
		return r.runListAgents()
	case "list-ocf-providers":
		return r.runListProviders()
	case "list-standards":
		return r.runListStandards()
	case "show-metadata":
		return r.runShowMetadata()
	case "list":
		return r.runList()
	case "list-raw":
		return r.runListRaw()
	case "list-operations", "list-all-operations":
		return r.runListOps(c == "list-all-operations")
	case "wait":
		return r.runWait()
	case "cleanup", "refresh":
		return r.runCleanup(c == "cleanup")
	case "why":
		return r.runWhy()
	}
	if r.o.agent != "" {
		switch c {
		case "force-start":
			return r.runAgent("force-start", "start")
		case "force-stop":
			return r.runAgent("force-stop", "stop")
		case "force-check":
			return r.runAgent("force-check", "monitor")
		case "force-promote":
			return r.runAgent("force-promote", "promote")
		case "force-demote":
			return r.runAgent("force-demote", "demote")
		case "validate":
			return r.runAgent("validate", "validate-all")
		}
		return client.UsageError(tool, "--agent goes with --force-start, --force-stop, --force-check, --force-promote, --force-demote or --validate")
	}
	if c == "clear" && r.o.expired && r.o.rsc == "" {
		return r.runClear() // every resource's expired constraints
	}
	// everything else acts on one resource
	if r.o.rsc == "" {
		return &client.CLIError{Code: client.ExitUsage, Msg: tool + ": Must supply a resource id with -r"}
	}
	switch c {
	case "locate":
		return r.runLocate()
	case "query-xml", "query-xml-raw":
		return r.runQueryXML()
	case "constraints":
		return r.runConstraints()
	case "get-parameter":
		return r.runGetParam()
	case "set-parameter":
		return r.runSetParam()
	case "delete-parameter":
		return r.runDeleteParam()
	case "move":
		return r.runMove()
	case "ban":
		return r.runBan()
	case "clear":
		return r.runClear()
	case "restart":
		return r.runRestart()
	case "delete":
		return r.runDelete()
	case "force-start":
		return r.runAgent("force-start", "start")
	case "force-stop":
		return r.runAgent("force-stop", "stop")
	case "force-check":
		return r.runAgent("force-check", "monitor")
	case "force-promote":
		return r.runAgent("force-promote", "promote")
	case "force-demote":
		return r.runAgent("force-demote", "demote")
	case "validate":
		return r.runAgent("validate", "validate-all")
	}
	return client.UsageError(tool, "unknown command %s", c)
}

// infof prints an informational line on stdout unless --quiet.
func (r *runner) infof(format string, a ...any) {
	if !r.o.quiet {
		fmt.Fprintf(r.out, format+"\n", a...)
	}
}

// errorf prints a line on stderr.
func (r *runner) errorf(format string, a ...any) {
	fmt.Fprintf(r.errw, format+"\n", a...)
}

// verbosef prints on stderr with -V.
func (r *runner) verbosef(level int, format string, a ...any) {
	if r.o.verbose >= level {
		fmt.Fprintf(r.errw, tool+": "+format+"\n", a...)
	}
}

// fail returns a CLIError printed as "crm_resource: MSG".
func fail(code int, format string, a ...any) error {
	return &client.CLIError{Code: code, Msg: tool + ": " + fmt.Sprintf(format, a...)}
}

// opFailed is Pacemaker's "Error performing operation: REASON".
func opFailed(code int, reason string) error {
	return fail(code, "Error performing operation: %s", reason)
}

// ctx returns a context for one service call.
func (r *runner) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// source opens the CIB file or the local crmd.
func (r *runner) source() (*source.Source, error) {
	if r.src != nil {
		return r.src, nil
	}
	s, err := r.o.openSource()
	if err != nil {
		return nil, r.wrap(err)
	}
	r.src = s
	return s, nil
}

// wrap turns a client error into a CLIError with Pacemaker's exit code.
func (r *runner) wrap(err error) error {
	if err == nil {
		return nil
	}
	var ce *client.CLIError
	if errors.As(err, &ce) {
		return err
	}
	code := client.CRMExitCode(err)
	if errors.Is(err, source.ErrOffline) {
		code = client.ExitUnavailable
	}
	return &client.CLIError{Code: code, Msg: tool + ": " + oneLine(err.Error()), Err: err}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// apply performs one CIB write with the housekeeping attributes cibadmin
// records, crm_resource as the client.
func (r *runner) apply(req cib.Request) (*cib.Result, error) {
	s, err := r.source()
	if err != nil {
		return nil, err
	}
	req.LastWritten = r.o.now().Format("Mon Jan _2 15:04:05 2006")
	req.Client = tool
	if u, err := user.Current(); err == nil {
		req.User = u.Username
	}
	if h, err := r.o.hostname(); err == nil {
		req.Origin = h
	}
	ctx, cancel := r.ctx()
	defer cancel()
	res, err := s.CIB.Apply(ctx, req)
	if err != nil {
		r.verbosef(1, "cib_%s failed: %v", req.Op, err)
		if errors.Is(err, client.ErrUnreachable) || errors.Is(err, client.ErrNoFile) {
			return nil, r.wrap(err)
		}
		msg := oneLine(err.Error())
		for _, p := range []string{"cib: " + string(req.Op) + ": ", "cib: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return nil, &client.CLIError{Code: client.CRMExitCode(err), Msg: tool + ": Error performing operation: " + msg, Err: err}
	}
	if res.Patch != nil {
		r.verbosef(1, "cib_%s: version %s", req.Op, res.Version)
	}
	return res, nil
}

// timeoutOr returns --timeout, or def when it is not given.
func (r *runner) timeoutOr(def time.Duration) (time.Duration, error) {
	if r.o.timeout == "" {
		return def, nil
	}
	ms, err := cib.ParseInterval(r.o.timeout)
	if err != nil || ms <= 0 {
		return 0, client.UsageError(tool, "--timeout %q: not a positive duration", r.o.timeout)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
