package main

import (
	"bytes"
	"fmt"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
	crmstatus "github.com/systole/systole/crm/status"
)

// runList is -L: every resource as crm_mon lists it.
func (r *runner) runList() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	lines := s.cluster.ResourceLines(true)
	if len(lines) == 0 {
		r.infof("NO resources configured")
		return &client.CLIError{Code: client.ExitNoSuch}
	}
	fmt.Fprintln(r.out, "Full List of Resources:")
	for _, l := range lines {
		fmt.Fprintln(r.out, l)
	}
	return nil
}

// runListRaw is -l: the id of every primitive (clone instances
// included), one per line.
func (r *runner) runListRaw() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	n := 0
	for _, rs := range s.cluster.Resources {
		for _, p := range rs.Primitives() {
			fmt.Fprintln(r.out, p.ID)
			n++
		}
	}
	if n == 0 {
		r.infof("NO resources configured")
		return &client.CLIError{Code: client.ExitNoSuch}
	}
	return nil
}

// locateTarget returns the status resource -W and friends report on: a
// cloned primitive named by its base id means its clone.
func locateTarget(rs *crmstatus.Resource, id string) *crmstatus.Resource {
	if rs != nil && rs.ID != id && rs.Parent != nil && rs.Parent.Kind == crmstatus.KindClone {
		return rs.Parent
	}
	return rs
}

// runLocate is -W: "resource d1 is running on: n1".
func (r *runner) runLocate() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	_, rs, err := r.resource(s)
	if err != nil {
		return err
	}
	names, promoted := activeNodes(locateTarget(rs, r.o.rsc))
	if len(names) == 0 {
		if !r.o.quiet {
			r.errorf("resource %s is NOT running", r.o.rsc)
		}
		return nil
	}
	for i, n := range names {
		if r.o.quiet {
			fmt.Fprintln(r.out, n)
			continue
		}
		role := ""
		if promoted[i] {
			role = " Promoted"
		}
		fmt.Fprintf(r.out, "resource %s is running on: %s%s\n", r.o.rsc, n, role)
	}
	return nil
}

// runQueryXML is -q/-w: the resource's configuration.
func (r *runner) runQueryXML() error {
	s, err := r.read()
	if err != nil {
		return err
	}
	e, _, err := r.resource(s)
	if err != nil {
		return err
	}
	if !r.o.quiet {
		fmt.Fprintf(r.out, "resource %s xml:\n", r.o.rsc)
	}
	return writeElement(r, e)
}

func writeElement(r *runner, e *etree.Element) error {
	b := server.ElementBytes(e)
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	_, err := r.out.Write(b)
	return err
}
