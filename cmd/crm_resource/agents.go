package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/lrm"
	"github.com/systole/systole/lrm/executor"
)

// fenceDir is where fence agents live (fence-agents installs them there).
const fenceDir = "/usr/sbin"

// executor returns a Process executor rooted at $OCF_ROOT (default
// /usr/lib/ocf), with this process's environment as the agents' base.
func (r *runner) executor() (*executor.Process, error) {
	cfg := executor.DefaultConfig()
	if root := os.Getenv("OCF_ROOT"); root != "" {
		cfg.OCFRoot = root
	}
	p, err := executor.New(cfg, nil)
	if err != nil {
		return nil, fail(client.ExitError, "%v", err)
	}
	return p, nil
}

// rcText is Pacemaker's services_ocf_exitcode_str.
func rcText(rc int) string {
	switch rc {
	case 0:
		return "ok"
	case 1:
		return "error"
	case 2:
		return "invalid parameter"
	case 3:
		return "unimplemented feature"
	case 4:
		return "insufficient privileges"
	case 5:
		return "not installed"
	case 6:
		return "not configured"
	case 7:
		return "not running"
	case 8:
		return "promoted"
	case 9:
		return "promoted (failed)"
	case 190:
		return "degraded"
	case 191:
		return "promoted (degraded)"
	}
	return "unknown"
}

func fenceAgents() []string {
	m, _ := filepath.Glob(filepath.Join(fenceDir, "fence_*"))
	var out []string
	for _, p := range m {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			out = append(out, filepath.Base(p))
		}
	}
	sort.Strings(out)
	return out
}

// runListAgents is --list-agents CLASS[:PROVIDER].
func (r *runner) runListAgents() error {
	spec := r.o.listAgents
	class, provider, _ := strings.Cut(spec, ":")
	var names []string
	switch class {
	case lrm.ClassStonith:
		names = fenceAgents()
	case lrm.ClassOCF, lrm.ClassLSB:
		p, err := r.executor()
		if err != nil {
			return err
		}
		list, _ := p.Agents(class, provider)
		seen := map[string]bool{}
		for _, a := range list {
			if !seen[a.Type] {
				seen[a.Type] = true
				names = append(names, a.Type)
			}
		}
		sort.Strings(names)
	}
	if len(names) == 0 {
		if provider != "" {
			return fail(client.ExitNoSuch, "No agents found for standard '%s', provider '%s'", class, provider)
		}
		return fail(client.ExitNoSuch, "No agents found for standard '%s'", class)
	}
	for _, n := range names {
		fmt.Fprintln(r.out, n)
	}
	return nil
}

// runListProviders is --list-ocf-providers.
func (r *runner) runListProviders() error {
	p, err := r.executor()
	if err != nil {
		return err
	}
	provs, _ := p.Providers()
	if len(provs) == 0 {
		return fail(client.ExitNoSuch, "No OCF providers found")
	}
	for _, pr := range provs {
		fmt.Fprintln(r.out, pr)
	}
	return nil
}

// runListStandards is --list-standards: the classes Systole runs.
func (r *runner) runListStandards() error {
	for _, s := range []string{lrm.ClassOCF, lrm.ClassLSB, lrm.ClassStonith} {
		fmt.Fprintln(r.out, s)
	}
	return nil
}

// parseAgentSpec splits CLASS:PROVIDER:TYPE (or CLASS:TYPE).
func parseAgentSpec(spec string) (lrm.Resource, bool) {
	p := strings.Split(spec, ":")
	switch {
	case len(p) == 3 && p[0] == lrm.ClassOCF && p[1] != "" && p[2] != "":
		return lrm.Resource{Class: p[0], Provider: p[1], Type: p[2]}, true
	case len(p) == 2 && p[0] != lrm.ClassOCF && p[0] != "" && p[1] != "":
		return lrm.Resource{Class: p[0], Type: p[1]}, true
	}
	return lrm.Resource{}, false
}

// runShowMetadata is --show-metadata.
func (r *runner) runShowMetadata() error {
	spec := r.o.showMetadata
	rsc, ok := parseAgentSpec(spec)
	if !ok {
		return &client.CLIError{Code: client.ExitUsage, Msg: fmt.Sprintf("%s: '%s' is not a valid agent specification", tool, spec)}
	}
	timeout, err := r.timeoutOr(30 * time.Second)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	var md string
	if rsc.Class == lrm.ClassStonith {
		path := filepath.Join(fenceDir, rsc.Type)
		if strings.ContainsAny(rsc.Type, "/") {
			return fail(client.ExitNoSuch, "Metadata query for %s failed: No such device or address", spec)
		}
		out, err := exec.CommandContext(ctx, path, "-o", "metadata").Output()
		if err != nil {
			code := client.ExitError
			if errors.Is(err, os.ErrNotExist) {
				code = client.ExitNoSuch
			}
			return fail(code, "Metadata query for %s failed: %v", spec, err)
		}
		md = string(out)
	} else {
		p, err := r.executor()
		if err != nil {
			return err
		}
		if err := p.Check(rsc); err != nil {
			return fail(client.ExitNoSuch, "Metadata query for %s failed: %v", spec, err)
		}
		res := p.Exec(ctx, lrm.Command{Rsc: lrm.Resource{ID: rsc.Type, Class: rsc.Class, Provider: rsc.Provider, Type: rsc.Type},
			Action: lrm.ActionMetaData, Timeout: timeout})
		if res.Status != lrm.StatusDone || res.RC != lrm.RCOK {
			code := client.ExitError
			if res.RC == lrm.RCErrInstalled {
				code = client.ExitNoSuch
			}
			reason := res.ExitReason
			if reason == "" {
				reason = rcText(res.RC)
			}
			return fail(code, "Metadata query for %s failed: %s", spec, reason)
		}
		md = res.Stdout
	}
	if !strings.HasSuffix(md, "\n") {
		md += "\n"
	}
	_, err = fmt.Fprint(r.out, md)
	return err
}

// agentParams collects what Pacemaker passes an agent run by
// crm_resource: the instance attributes, and the meta attributes (the
// resource's, its parents', rsc_defaults) as CRM_meta_* with '-' made
// '_'.
func agentParams(s *snapshot, e *etree.Element) (params, meta map[string]string) {
	params, meta = map[string]string{}, map[string]string{}
	for _, set := range e.SelectElements("instance_attributes") {
		for _, nv := range set.SelectElements("nvpair") {
			n := nv.SelectAttrValue("name", "")
			if _, ok := params[n]; !ok && n != "" {
				params[n] = nv.SelectAttrValue("value", "")
			}
		}
	}
	addMeta := func(set *etree.Element) {
		for _, nv := range set.SelectElements("nvpair") {
			n := strings.ReplaceAll(nv.SelectAttrValue("name", ""), "-", "_")
			if _, ok := meta[n]; !ok && n != "" {
				meta[n] = nv.SelectAttrValue("value", "")
			}
		}
	}
	for p := e; p != nil && resourceTags[p.Tag]; p = p.Parent() {
		for _, set := range p.SelectElements("meta_attributes") {
			addMeta(set)
		}
	}
	for _, set := range s.doc.FindElements("/cib/configuration/rsc_defaults/meta_attributes") {
		addMeta(set)
	}
	return params, meta
}

// opTimeout is the configured timeout of action (any interval), else
// op_defaults, else 20 s (Pacemaker's pe_get_configured_timeout).
func opTimeout(s *snapshot, e *etree.Element, action string) time.Duration {
	for _, op := range e.FindElements("operations/op") {
		if op.SelectAttrValue("name", "") == action {
			if ms, err := cib.ParseInterval(op.SelectAttrValue("timeout", "")); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	for _, nv := range s.doc.FindElements("/cib/configuration/op_defaults/meta_attributes/nvpair") {
		if nv.SelectAttrValue("name", "") == "timeout" {
			if ms, err := cib.ParseInterval(nv.SelectAttrValue("value", "")); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	return 20 * time.Second
}

// runAgent is --force-start/--force-stop/--force-check/--validate: run
// the agent here, directly, and return its exit code (Pacemaker's
// cli_resource_execute).
func (r *runner) runAgent(option, action string) error {
	overrides := map[string]string{}
	var names []string
	for _, kv := range r.o.agentOptions {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return client.UsageError(tool, "--option %q: want NAME=VALUE", kv)
		}
		if _, dup := overrides[k]; !dup {
			names = append(names, k)
		}
		overrides[k] = v
	}
	var (
		agent        lrm.Resource
		params, meta map[string]string
		timeout      time.Duration
		err          error
	)
	if r.o.agent != "" {
		// an agent that is not in the CIB: no CIB is read at all
		if r.o.class == "" || (r.o.class == lrm.ClassOCF) != (r.o.provider != "") {
			return client.UsageError(tool, "--agent needs --class (and --provider for class ocf)")
		}
		agent = lrm.Resource{ID: r.o.rsc, Class: r.o.class, Provider: r.o.provider, Type: r.o.agent}
		if agent.ID == "" {
			agent.ID = "test"
		}
		params, meta = map[string]string{}, map[string]string{}
		if timeout, err = r.timeoutOr(20 * time.Second); err != nil {
			return err
		}
	} else {
		if r.o.rsc == "" {
			return &client.CLIError{Code: client.ExitUsage, Msg: tool + ": Must supply a resource id with -r"}
		}
		if agent, params, meta, timeout, err = r.cibAgent(option, action); err != nil {
			return err
		}
	}
	for _, k := range names {
		if r.o.agent == "" {
			r.infof("Overriding the cluster configuration for '%s' with '%s' = '%s'", agent.ID, k, overrides[k])
		}
		params[k] = overrides[k]
	}
	if r.o.verbose > 0 && agent.Class == lrm.ClassOCF {
		params["trace_ra"] = "1"
	}
	return r.execAgent(option, action, agent, params, meta, timeout)
}

// cibAgent reads the resource's agent, parameters, meta attributes and
// timeout from the CIB.
func (r *runner) cibAgent(option, action string) (agent lrm.Resource, params, meta map[string]string, timeout time.Duration, err error) {
	fail0 := func(err error) (lrm.Resource, map[string]string, map[string]string, time.Duration, error) {
		return lrm.Resource{}, nil, nil, 0, err
	}
	s, err := r.read()
	if err != nil {
		return fail0(err)
	}
	e, rs, err := r.resource(s)
	if err != nil {
		return fail0(err)
	}
	if e.Tag == "clone" || e.Tag == "master" {
		// the first child, in the hope it is not a group (as Pacemaker)
		kids := e.ChildElements()
		e = nil
		for _, k := range kids {
			if resourceTags[k.Tag] {
				e = k
				break
			}
		}
		if e == nil {
			return fail0(fail(client.ExitNoSuch, "Resource '%s' has no child resource", r.o.rsc))
		}
		if (action == lrm.ActionStart || action == lrm.ActionPromote || action == lrm.ActionDemote) && !r.o.force {
			if names, _ := activeNodes(topOf(rs)); len(names) > 0 {
				r.errorf("It is not safe to %s %s here: the cluster claims it is already active", action, r.o.rsc)
				r.errorf("Try setting target-role=Stopped first or specifying the force option")
				return fail0(&client.CLIError{Code: client.ExitUnsafe})
			}
		}
	}
	if e.Tag != "primitive" {
		return fail0(&client.CLIError{Code: client.ExitUnimplemented, Msg: fmt.Sprintf("Sorry, the --%s option doesn't support %s resources", option, e.Tag)})
	}
	agent = lrm.Resource{ID: e.SelectAttrValue("id", ""), Class: e.SelectAttrValue("class", ""),
		Provider: e.SelectAttrValue("provider", ""), Type: e.SelectAttrValue("type", "")}
	params, meta = agentParams(s, e)
	if timeout, err = r.timeoutOr(opTimeout(s, e, action)); err != nil {
		return fail0(err)
	}
	return agent, params, meta, timeout, nil
}

// execAgent runs one agent action here and reports it as Pacemaker's
// resource-agent-action message; the exit status is the agent's rc.
func (r *runner) execAgent(option, action string, agent lrm.Resource, params, meta map[string]string, timeout time.Duration) error {
	cmd := lrm.Command{Rsc: agent, Action: action, Timeout: timeout, Params: params, Meta: meta}
	var res lrm.ExecResult
	switch agent.Class {
	case lrm.ClassOCF, lrm.ClassLSB:
		p, err := r.executor()
		if err != nil {
			return err
		}
		if err := p.Check(agent); errors.Is(err, lrm.ErrUnknownProvider) {
			// no such provider directory: the agent is not installed
			res = lrm.ExecResult{RC: lrm.RCErrInstalled, Status: lrm.StatusNotInstalled, ExitReason: err.Error()}
		} else {
			res = p.Exec(context.Background(), cmd)
		}
	default:
		return &client.CLIError{Code: client.ExitUnimplemented, Msg: fmt.Sprintf("%s: --%s does not run %s agents (use stonith_admin)", tool, option, agent.Class)}
	}
	full := agent.Agent()
	what := action + " for " + agent.ID
	if r.o.agent != "" && r.o.rsc == "" {
		what = action
	}
	if res.Status == lrm.StatusDone {
		r.infof("Operation %s (%s) returned: '%s' (%d)", what, full, rcText(res.RC), res.RC)
	} else {
		r.infof("Operation %s (%s) failed: '%s' (%d)", what, full, res.Status, res.RC)
		if res.ExitReason != "" {
			r.infof("%s", res.ExitReason)
		}
	}
	if action != lrm.ActionValidateAll || r.o.verbose > 0 {
		for _, o := range []string{res.Stdout, res.Stderr} {
			if o == "" {
				continue
			}
			if !bytes.HasSuffix([]byte(o), []byte("\n")) {
				o += "\n"
			}
			fmt.Fprint(r.out, o)
		}
	}
	code := res.RC
	if res.Status == lrm.StatusTimeout {
		code = client.ExitTimeout
	}
	if code == 0 {
		return nil
	}
	return &client.CLIError{Code: code}
}
