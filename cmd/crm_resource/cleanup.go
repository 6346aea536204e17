package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	crmstatus "github.com/systole/systole/crm/status"
	"github.com/systole/systole/pengine"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// primitiveIDs returns the base ids of the primitives of the resource
// element e (e itself when it is one).
func primitiveIDs(e *etree.Element) []string {
	if e.Tag == "primitive" {
		return []string{e.SelectAttrValue("id", "")}
	}
	var out []string
	for _, ch := range e.ChildElements() {
		if resourceTags[ch.Tag] {
			out = append(out, primitiveIDs(ch)...)
		}
	}
	return out
}

// cleanupTargets returns the primitive ids -r names (orphans included)
// and the nodes to clean.
func (r *runner) cleanupTargets(s *snapshot) (rscs, nodes []string, err error) {
	if r.o.rsc != "" {
		if e := s.rscElement(r.o.rsc); e != nil {
			rscs = primitiveIDs(e)
		} else if rs := s.cluster.Resource(r.o.rsc); rs != nil {
			rscs = []string{rs.BaseID()}
		} else {
			return nil, nil, fail(client.ExitNoSuch, "Resource '%s' not found", r.o.rsc)
		}
	}
	if n, err := r.checkNode(s); err != nil {
		return nil, nil, err
	} else if n != nil {
		nodes = []string{n.Name}
	} else {
		for _, n := range s.cluster.Nodes {
			nodes = append(nodes, n.Name)
		}
	}
	return rscs, nodes, nil
}

// runCleanup is -C (onlyFailed) and -R: through crmd when live, straight
// into the status section of a CIB file.
func (r *runner) runCleanup(onlyFailed bool) error {
	s, err := r.read()
	if err != nil {
		return err
	}
	rscs, nodes, err := r.cleanupTargets(s)
	if err != nil {
		return err
	}
	if r.src.Live() {
		ids := rscs
		if len(ids) == 0 {
			ids = []string{""}
		}
		for _, id := range ids {
			ctx, cancel := r.ctx()
			resp, err := r.src.CRM.Cleanup(ctx, &crmv1.CleanupRequest{RscId: id, Node: r.o.node, OnlyFailed: onlyFailed})
			cancel()
			if err != nil {
				return r.wrap(fmt.Errorf("Unable to clean up %s: %w", orAll(id), crmErr(err)))
			}
			for _, c := range resp.GetCleaned() {
				r.verbosef(1, "crmd cleaned %s", c)
			}
		}
	} else if err := r.cleanupFile(s, rscs, nodes, onlyFailed); err != nil {
		return err
	}
	if len(rscs) == 0 {
		where := "all nodes"
		if r.o.node != "" {
			where = r.o.node
		}
		r.infof("Cleaned up all resources on %s", where)
		return nil
	}
	for _, id := range rscs {
		for _, n := range nodes {
			r.infof("Cleaned up %s on %s", id, n)
		}
	}
	return nil
}

func orAll(id string) string {
	if id == "" {
		return "all resources"
	}
	return id
}

// crmErr keeps the gRPC status for the exit code and drops the
// "rpc error: code = ..." noise from the message.
func crmErr(err error) error {
	return &rpcErr{err}
}

type rpcErr struct{ error }

func (e *rpcErr) Error() string {
	msg := e.error.Error()
	if i := strings.Index(msg, " desc = "); i >= 0 {
		return msg[i+len(" desc = "):]
	}
	return msg
}
func (e *rpcErr) Unwrap() error { return e.error }

// cleanupFile removes, for each node, the history (all of it, or only of
// resources that failed) and the fail-count/last-failure attributes of
// the resources, as crmd does on a live cluster.
func (r *runner) cleanupFile(s *snapshot, rscs, nodes []string, onlyFailed bool) error {
	want := func(id string) bool {
		if len(rscs) == 0 {
			return true
		}
		for _, x := range rscs {
			if id == x || baseID(id) == x {
				return true
			}
		}
		return false
	}
	wantNode := map[string]bool{}
	for _, n := range nodes {
		wantNode[n] = true
	}
	var paths []string
	for _, ns := range s.doc.FindElements("/cib/status/node_state") {
		name := ns.SelectAttrValue("uname", ns.SelectAttrValue("id", ""))
		if !wantNode[name] {
			continue
		}
		nsPath := "/cib/status/node_state[@id='" + ns.SelectAttrValue("id", "") + "']"
		var failed map[string]bool
		if onlyFailed {
			failed = failedOn(s.cluster.Node(name))
		}
		for _, lr := range ns.FindElements("lrm/lrm_resources/lrm_resource") {
			id := lr.SelectAttrValue("id", "")
			if !want(id) || (onlyFailed && !failed[id]) {
				continue
			}
			paths = append(paths, nsPath+"/lrm/lrm_resources/lrm_resource[@id='"+id+"']")
		}
		for _, nv := range ns.FindElements("transient_attributes/instance_attributes/nvpair") {
			name := nv.SelectAttrValue("name", "")
			var rsc string
			for _, p := range []string{"fail-count-", "last-failure-"} {
				if strings.HasPrefix(name, p) {
					rsc, _, _ = strings.Cut(strings.TrimPrefix(name, p), "#")
				}
			}
			if rsc != "" && want(rsc) {
				paths = append(paths, nsPath+"/transient_attributes/instance_attributes/nvpair[@id='"+nv.SelectAttrValue("id", "")+"']")
			}
		}
	}
	for _, p := range paths {
		r.verbosef(1, "deleting %s", p)
		if _, err := r.apply(cib.Request{Op: cib.OpDelete, XPath: p}); err != nil {
			return err
		}
	}
	return nil
}

// failedOn returns the lrm_resource ids with a failure on n.
func failedOn(n *crmstatus.Node) map[string]bool {
	out := map[string]bool{}
	if n == nil {
		return out
	}
	for _, h := range n.History {
		bad := h.FailCount > 0
		for _, op := range h.Ops {
			if op.Failed {
				bad = true
			}
		}
		if bad {
			out[h.ID] = true
		}
	}
	return out
}

// activeCount counts where the resource (every instance) is active,
// restricted to node when not "".
func activeCount(c *crmstatus.Cluster, id, node string) int {
	rs := locateTarget(c.Resource(id), id)
	names, _ := activeNodes(rs)
	n := 0
	for _, x := range names {
		if node == "" || x == node {
			n++
		}
	}
	return n
}

// waitFor polls the CIB until done reports true or the timeout passes.
func (r *runner) waitFor(timeout time.Duration, done func(*snapshot) bool) (*snapshot, bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := r.read()
		if err != nil {
			return nil, false, err
		}
		if done(s) {
			return s, true, nil
		}
		if time.Now().After(deadline) {
			return s, false, nil
		}
		time.Sleep(r.o.pollInterval)
	}
}

// runRestart is --restart (Pacemaker's cli_resource_restart): stop the
// resource (target-role=Stopped, or a ban on -N for a clone), wait until
// it is stopped, put things back, wait until it runs again.
func (r *runner) runRestart() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	if !r.src.Live() {
		return fail(client.ExitUnavailable, "--restart needs the running cluster (CIB_file names a file, which has no controller)")
	}
	e, rs, err := r.resource(s)
	if err != nil {
		return err
	}
	if _, err := r.checkNode(s); err != nil {
		return err
	}
	id := e.SelectAttrValue("id", "")
	before := activeCount(s.cluster, r.o.rsc, r.o.node)
	if before == 0 {
		where := "any node"
		if r.o.node != "" {
			where = r.o.node
		}
		return fail(client.ExitNoSuch, "%s is not running on %s and so cannot be restarted", r.o.rsc, where)
	}
	top := topOf(rs)
	if r.o.node != "" && (top == nil || top.Kind != crmstatus.KindClone) {
		return fail(client.ExitInvalidParam, "Cannot restart %s on %s only: it is not a clone (restart it everywhere without -N)", r.o.rsc, r.o.node)
	}
	stopT, err := r.timeoutOr(opTimeout(s, e, "stop") + 10*time.Second)
	if err != nil {
		return err
	}
	startT, _ := r.timeoutOr(opTimeout(s, e, "start") + 10*time.Second)

	// stop
	var restore func() error
	if r.o.node != "" {
		if err := r.putConstraint(s, banElement(baseID(r.o.rsc), r.o.node, "", false)); err != nil {
			return err
		}
		restore = func() error { return r.deleteConstraints([]string{banID(baseID(r.o.rsc), r.o.node)}) }
	} else {
		orig := ""
		had := false
		if found := r.findAttr(e, "meta_attributes", "target-role"); len(found) > 0 {
			orig, had = found[0].SelectAttrValue("value", ""), true
		}
		if err := r.setMeta(e, "target-role", "Stopped"); err != nil {
			return err
		}
		restore = func() error {
			s, err := r.read()
			if err != nil {
				return err
			}
			e := s.rscElement(id)
			if e == nil {
				return fail(client.ExitNoSuch, "Resource '%s' not found", id)
			}
			if had {
				return r.setMeta(e, "target-role", orig)
			}
			for _, nv := range r.findAttr(e, "meta_attributes", "target-role") {
				xp := "/cib/configuration/resources//" + nv.Parent().Tag + "[@id='" + nv.Parent().SelectAttrValue("id", "") + "']/nvpair[@id='" + nv.SelectAttrValue("id", "") + "']"
				if _, err := r.apply(cib.Request{Op: cib.OpDelete, XPath: xp}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	r.infof("Waiting for 1 resources to stop:")
	r.infof(" * %s", r.o.rsc)
	_, ok, err := r.waitFor(stopT, func(s *snapshot) bool { return activeCount(s.cluster, r.o.rsc, r.o.node) == 0 })
	if err != nil {
		restore()
		return err
	}
	if !ok {
		if err := restore(); err != nil {
			return err
		}
		r.errorf("Could not complete shutdown of %s, 1 resources remaining", r.o.rsc)
		r.errorf(" * %s", r.o.rsc)
		return &client.CLIError{Code: client.ExitTimeout}
	}
	if err := restore(); err != nil {
		return err
	}
	r.infof("Waiting for 1 resources to start again:")
	r.infof(" * %s", r.o.rsc)
	_, ok, err = r.waitFor(startT, func(s *snapshot) bool { return activeCount(s.cluster, r.o.rsc, r.o.node) >= before })
	if err != nil {
		return err
	}
	if !ok {
		r.errorf("Could not complete restart of %s, 1 resources remaining", r.o.rsc)
		r.errorf(" * %s", r.o.rsc)
		return &client.CLIError{Code: client.ExitTimeout}
	}
	return nil
}

// setMeta sets a meta attribute of e quietly, where it is or in a new
// RSC-meta_attributes set.
func (r *runner) setMeta(e *etree.Element, name, value string) error {
	return r.setParamOn(e, "meta_attributes", name, value, "", "", false)
}

// runWait is --wait: poll until the scheduler has nothing to do for the
// CIB as it is (and, on the DC, the transition engine is idle).
func (r *runner) runWait() error {
	timeout, err := r.timeoutOr(time.Hour)
	if err != nil {
		return err
	}
	_, ok, err := r.waitFor(timeout, func(s *snapshot) bool {
		cfg := pengine.DefaultConfig()
		cfg.Now = r.o.now().Unix()
		res, err := pengine.ComputeDoc(s.doc, cfg)
		if err != nil {
			return false
		}
		for _, syn := range res.Graph.Synapses {
			if syn.Action.Element != "pseudo_event" {
				r.verbosef(2, "pending: %s on %s", syn.Action.OperationKey, syn.Action.Node)
				return false
			}
		}
		if r.src.Live() {
			ctx, cancel := r.ctx()
			st, err := r.src.CRM.GetStatus(ctx, &crmv1.GetStatusRequest{})
			cancel()
			if err == nil && st.IsDc && st.TransitionState != crmv1.TransitionState_TRANSITION_STATE_IDLE {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if !ok {
		return opFailed(client.ExitTimeout, "Timer expired")
	}
	return nil
}
