package cts

import (
	"strings"
	"time"
)

// stonith reports whether the CIB has fencing on (stonith-enabled, whose
// default is true, as in Pacemaker). Read from the quorate partition's
// CIB; false when there is none.
func (e *env) stonith() bool {
	q := e.quorateNode()
	if q < 0 {
		return e.cfg.Stonith
	}
	x, err := e.c.Query(q)
	if err != nil {
		return e.cfg.Stonith
	}
	v := "true"
	for _, nv := range x.FindElements("./configuration/crm_config/cluster_property_set/nvpair[@name='stonith-enabled']") {
		v = nv.SelectAttrValue("value", v)
	}
	switch strings.ToLower(v) {
	case "false", "no", "0", "off", "n":
		return false
	}
	return true
}

// expectFenced records that node i must appear in the fencing history
// once the cluster settles.
func (e *env) expectFenced(i int) {
	e.fenceExpect = append(e.fenceExpect, fenceExpectation{node: e.name(i), since: time.Now()})
}

type fenceExpectation struct {
	node  string
	since time.Time
}

// checkFencing (only with stonith-enabled=true): every member of the
// quorate partition reports the same fencing history (stonith_admin -H
// '*'), and every node the suite powered off is in it with a successful
// operation.
func (e *env) checkFencing(phase string) {
	if !e.stonith() {
		return
	}
	_, part := e.dcIndex()
	var ref, refName string
	for k, i := range part {
		out, err := e.c.Tool(i, "stonith_admin", "-H", "*")
		if err != nil {
			e.violate("fencing", "%s: fencing history on %s: %v", phase, e.name(i), err)
			return
		}
		if k == 0 {
			ref, refName = out, e.name(i)
			continue
		}
		if out != ref {
			e.violate("fencing", "%s: fencing history differs between %s and %s:\n%s\n---\n%s", phase, e.name(i), refName, out, ref)
		}
	}
	for _, f := range e.fenceExpect {
		ok := false
		for _, line := range strings.Split(ref, "\n") {
			l := strings.ToLower(line)
			if strings.Contains(l, "of "+f.node+" ") && strings.Contains(l, "success") {
				ok = true
			}
		}
		if !ok {
			e.violate("fencing", "%s: %s was powered off at %s but the fencing history has no successful fencing of it:\n%s",
				phase, f.node, f.since.Format("15:04:05.000"), ref)
		}
	}
	e.fenceExpect = nil
}
