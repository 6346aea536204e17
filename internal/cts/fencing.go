package cts

import (
	"fmt"
	"strings"

	"github.com/systole/systole/internal/lab"
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

// fenceDeviceXML is the lab's fence device: fence_systole_lab for every
// node of the lab in dir.
func fenceDeviceXML(dir string, nodes []string) string {
	return fmt.Sprintf(`<primitive id="fence-lab" class="stonith" type="fence_systole_lab">
  <instance_attributes id="fence-lab-ia">
    <nvpair id="fence-lab-dir" name="lab_dir" value="%s"/>
    <nvpair id="fence-lab-hosts" name="pcmk_host_list" value="%s"/>
  </instance_attributes>
  <operations><op id="fence-lab-mon" name="monitor" interval="10s" timeout="20s"/></operations>
</primitive>`, dir, strings.Join(nodes, " "))
}

// syncFenced learns from the lab's state file which nodes the cluster
// fenced (fence_systole_lab kills a node and records it there): they no
// longer run.
func (e *env) syncFenced() {
	if !e.cfg.Stonith {
		return
	}
	l, err := lab.Load(e.c.Dir)
	if err != nil || len(l.Nodes) != len(e.c.Nodes) {
		return
	}
	for i, nd := range l.Nodes {
		if nd.Pid == 0 && e.c.Nodes[i].Pid != 0 {
			e.note("%s fenced by the cluster", e.name(i))
			e.fenced = append(e.fenced, e.name(i))
			e.c.Nodes[i].Pid = 0
			e.setAlive(i, false)
		}
	}
}

// successfulFencings counts the successful fencings of node in a
// stonith_admin -H output ("reboot of node2 successful: ...").
func successfulFencings(history, node string) int {
	n := 0
	for _, line := range strings.Split(history, "\n") {
		if strings.Contains(line, " of "+node+" successful") {
			n++
		}
	}
	return n
}

// fenceBaseline records how many successful fencings of each node the
// history holds at the start of a step.
func (e *env) fenceBaseline() {
	e.fenceBase = map[string]int{}
	if !e.cfg.Stonith {
		return
	}
	q := e.quorateNode()
	if q < 0 {
		return
	}
	out, err := e.c.Tool(q, "stonith_admin", "-H", "*")
	if err != nil {
		return
	}
	for _, nd := range e.c.Nodes {
		e.fenceBase[nd.Name] = successfulFencings(out, nd.Name)
	}
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
	want := append([]fenceExpectation(nil), e.fenceExpect...)
	for _, n := range e.fenced {
		want = append(want, fenceExpectation{node: n, since: e.stepStart})
	}
	for _, f := range want {
		if successfulFencings(ref, f.node) <= e.fenceBase[f.node] {
			e.violate("fencing", "%s: %s was powered off at %s but the fencing history has no successful fencing of it:\n%s",
				phase, f.node, f.since.Format("15:04:05.000"), ref)
		}
	}
	e.fenceExpect, e.fenced = nil, nil
	e.fenceBaseline()
}
