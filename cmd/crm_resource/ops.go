package main

import (
	"fmt"
	"time"

	"github.com/systole/systole/cib/client"
	crmstatus "github.com/systole/systole/crm/status"
)

// runListOps is -O (active resources only) and -o (every resource): the
// operation history, one line per operation, optionally for -r and -N,
// as Pacemaker's resource-operation-list prints it.
func (r *runner) runListOps(all bool) error {
	s, err := r.read()
	if err != nil {
		return err
	}
	if _, err := r.checkNode(s); err != nil {
		return err
	}
	if r.o.rsc != "" {
		if _, _, err := r.resource(s); err != nil && s.cluster.Resource(r.o.rsc) == nil {
			return err
		}
	}
	n := 0
	for _, node := range s.cluster.Nodes {
		if r.o.node != "" && node.Name != r.o.node {
			continue
		}
		for _, h := range node.History {
			rs := h.Resource
			if r.o.rsc != "" && h.ID != r.o.rsc && baseID(h.ID) != baseID(r.o.rsc) && (rs == nil || rs.Top().ID != r.o.rsc) {
				continue
			}
			if !all && (rs == nil || !rs.Active()) {
				continue
			}
			for _, op := range h.Ops {
				fmt.Fprintln(r.out, opLine(h, rs, node, op))
				n++
			}
		}
	}
	if n == 0 {
		return &client.CLIError{Code: client.ExitNoSuch}
	}
	return nil
}

func opLine(h *crmstatus.ResourceHistory, rs *crmstatus.Resource, node *crmstatus.Node, op *crmstatus.Op) string {
	head := h.ID
	role := crmstatus.RoleStopped
	if rs != nil {
		head = rs.PrintableID() + "\t(" + rs.Agent() + "):\t"
		role = rs.Role
	}
	changed := ""
	if op.LastRCChange > 0 {
		changed = ", last-rc-change=" + time.Unix(op.LastRCChange, 0).Format("Mon Jan _2 15:04:05 2006")
	}
	return fmt.Sprintf("%s %s: %s (node=%s, call=%d, rc=%d%s, exec=%dms): %s",
		head, role, op.Key, node.Name, op.CallID, op.RC, changed, op.ExecTime, crmstatus.ExecStatusText(op.Status))
}
