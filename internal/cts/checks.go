package cts

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/pengine"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// placement maps a primitive to the sorted names of the nodes where it is
// active.
type placement map[string][]string

func (p placement) add(rsc, node string) {
	if !slices.Contains(p[rsc], node) {
		p[rsc] = append(p[rsc], node)
		sort.Strings(p[rsc])
	}
}

func (p placement) String() string {
	var parts []string
	for _, pr := range primitives {
		if len(p[pr.ID]) > 0 {
			parts = append(parts, pr.ID+"@"+strings.Join(p[pr.ID], ","))
		}
	}
	return strings.Join(parts, " ")
}

// settle waits until the cluster is stable (see stable), then runs every
// check. It reports whether the cluster settled.
func (e *env) settle(phase string) bool {
	deadline := time.Now().Add(e.cfg.SettleTimeout)
	for {
		ok, why := e.stable()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			e.violate("settle", "%s: not settled within %v: %s", phase, e.cfg.SettleTimeout, why)
			e.checkCrashes()
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
	e.checkAll(phase)
	return true
}

// stable reports whether every partition agrees on its view, the quorate
// one on its DC, and the DC has nothing left to do: its transition engine
// is idle and the policy engine, run on its CIB, computes no action.
func (e *env) stable() (bool, string) {
	e.syncFenced()
	dc := -1
	for _, part := range e.partitions() {
		q := e.quorate(len(part))
		var names []string
		for _, i := range part {
			names = append(names, e.name(i))
		}
		sort.Strings(names)
		dcName := ""
		for _, i := range part {
			st, err := e.status(i)
			if err != nil {
				return false, fmt.Sprintf("%s: crmd: %v", e.name(i), err)
			}
			if st.GetQuorum() != q {
				return false, fmt.Sprintf("%s: quorum=%v, want %v", e.name(i), st.GetQuorum(), q)
			}
			if !q {
				if st.GetIsDc() {
					return false, fmt.Sprintf("%s: DC without quorum", e.name(i))
				}
				continue
			}
			if !slices.Equal(st.GetMembers(), names) {
				return false, fmt.Sprintf("%s: view %v, want %v", e.name(i), st.GetMembers(), names)
			}
			if st.GetDc() == "" || (dcName != "" && st.GetDc() != dcName) {
				return false, fmt.Sprintf("%s: DC %q (others: %q)", e.name(i), st.GetDc(), dcName)
			}
			dcName = st.GetDc()
		}
		if q {
			dc = e.c.Index(dcName)
			if !hasIn(part, dc) {
				return false, fmt.Sprintf("DC %s is not in the partition %v", dcName, names)
			}
		}
	}
	if dc < 0 {
		return true, "" // no quorate partition: nothing runs anywhere
	}
	st, err := e.status(dc)
	if err != nil {
		return false, fmt.Sprintf("DC %s: %v", e.name(dc), err)
	}
	if st.GetTransitionState() != crmv1.TransitionState_TRANSITION_STATE_IDLE {
		return false, fmt.Sprintf("DC %s: transition %s", e.name(dc), st.GetTransitionState())
	}
	x, err := e.c.Query(dc)
	if err != nil {
		return false, fmt.Sprintf("DC %s: query: %v", e.name(dc), err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(x.Copy())
	res, err := pengine.ComputeDoc(doc, pengine.Config{Now: time.Now().Unix()})
	if err != nil {
		return false, fmt.Sprintf("policy engine on the DC's CIB: %v", err)
	}
	if n := len(res.Graph.Synapses); n > 0 {
		return false, fmt.Sprintf("policy engine on the DC's CIB: %d actions pending: %s", n, strings.Join(res.Summary, "; "))
	}
	return true, ""
}

// checkAll runs the checks of a settled cluster.
func (e *env) checkAll(phase string) {
	e.checkDCs(phase)
	e.checkPlacement(phase)
	e.checkCIBs(phase)
	e.checkCrashes()
	e.checkFencing(phase)
}

// checkDCs: at most one DC with quorum in the whole cluster (two quorate
// partitions cannot exist), and none in a partition without quorum.
func (e *env) checkDCs(phase string) {
	var dcs []string
	for _, i := range e.runningNodes() {
		st, err := e.status(i)
		if err != nil {
			continue
		}
		if st.GetIsDc() && st.GetQuorum() {
			dcs = append(dcs, e.name(i))
		}
	}
	if len(dcs) > 1 {
		e.violate("dc", "%s: %d DCs with quorum: %v", phase, len(dcs), dcs)
	}
}

// dcIndex returns the quorate partition's DC, or -1.
func (e *env) dcIndex() (int, []int) {
	for _, part := range e.partitions() {
		if !e.quorate(len(part)) {
			continue
		}
		st, err := e.status(part[0])
		if err != nil || st.GetDc() == "" {
			return -1, part
		}
		return e.c.Index(st.GetDc()), part
	}
	return -1, nil
}

// expected is where the DC's CIB status says each primitive is active.
func (e *env) expected(dc int) (placement, *etree.Element, error) {
	x, err := e.c.Query(dc)
	if err != nil {
		return nil, nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(x.Copy())
	u, err := pengine.Unpack(doc, pengine.Config{Now: time.Now().Unix()})
	if err != nil {
		return nil, nil, err
	}
	p := placement{}
	var walk func(r *pengine.Resource)
	walk = func(r *pengine.Resource) {
		if len(r.Children) == 0 {
			base, _, _ := strings.Cut(r.ID, ":")
			for _, n := range r.RunningOn {
				p.add(base, n.Uname)
			}
			return
		}
		for _, ch := range r.Children {
			walk(ch)
		}
	}
	for _, r := range u.Resources {
		walk(r)
	}
	return p, x, nil
}

// groundTruth is where the primitives are active on the running nodes, as
// their agents' traces show: Dummy state files and addresses on eth0. It
// also reports nodes holding two instances of a clone.
func (e *env) groundTruth() (placement, []string) {
	p := placement{}
	var dup []string
	for _, i := range e.runningNodes() {
		ents, _ := os.ReadDir(e.c.Nodes[i].RscTmp())
		count := map[string]int{}
		for _, ent := range ents {
			inst, ok := strings.CutPrefix(ent.Name(), "Dummy-")
			if !ok {
				continue
			}
			inst, ok = strings.CutSuffix(inst, ".state")
			if !ok {
				continue
			}
			if id, ok := instanceOf(inst); ok {
				p.add(id, e.name(i))
				count[id]++
			}
		}
		for id, k := range count {
			if k > 1 {
				dup = append(dup, fmt.Sprintf("%s has %d instances of %s", e.name(i), k, id))
			}
		}
		addrs, _ := e.c.Addrs(i)
		for _, pr := range primitives {
			if pr.Kind == kindVIP && slices.Contains(addrs, pr.VIP) {
				p.add(pr.ID, e.name(i))
			}
		}
	}
	return p, dup
}

// observed is what the watcher sees: the nodes answering ARP for each
// virtual IP.
func (e *env) observed() (placement, error) {
	got, err := e.arp.Probe(vipTargets(), 100*time.Millisecond)
	if err != nil {
		return nil, err
	}
	p := placement{}
	for _, pr := range primitives {
		if pr.Kind != kindVIP {
			continue
		}
		for _, mac := range got[pr.VIP] {
			if i, ok := e.macs[mac]; ok {
				p.add(pr.ID, e.name(i))
			} else {
				p.add(pr.ID, "mac:"+mac)
			}
		}
	}
	return p, nil
}

// checkPlacement compares the DC's CIB status with the ground truth on
// every running node and with the watcher's ARP probes; a monitor may
// need a few intervals to notice a change, so it retries for 8 s.
func (e *env) checkPlacement(phase string) {
	var last []finding
	same := 0
	for try := 0; try < 16; try++ {
		if try > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		d := e.placementDiff()
		if len(d) == 0 {
			return
		}
		// only tolerated kinds, unchanged for a second and a half: a
		// known defect, not a monitor about to notice something
		if slices.Equal(d, last) && e.allTolerated(d) {
			if same++; same == 3 {
				break
			}
		} else {
			same = 0
		}
		last = d
	}
	for _, d := range last {
		e.violate(d.kind, "%s: %s", phase, d.msg)
	}
}

// finding is a violation not yet reported.
type finding struct{ kind, msg string }

func (e *env) allTolerated(fs []finding) bool {
	for _, f := range fs {
		if !slices.Contains(e.cfg.Tolerate, f.kind) {
			return false
		}
	}
	return true
}

func (e *env) placementDiff() []finding {
	dc, part := e.dcIndex()
	var diffs []finding
	f := func(kind, format string, args ...any) {
		diffs = append(diffs, finding{kind, fmt.Sprintf(format, args...)})
	}
	truth, dup := e.groundTruth()
	for _, d := range dup {
		f("double", "%s", d)
	}
	var want placement
	if dc >= 0 {
		var err error
		if want, _, err = e.expected(dc); err != nil {
			return []finding{{"placement", fmt.Sprintf("DC's CIB: %v", err)}}
		}
	} else {
		want = placement{}
	}
	inPart := map[string]bool{}
	for _, i := range part {
		inPart[e.name(i)] = true
	}
	for _, pr := range primitives {
		var t, outside []string
		for _, n := range truth[pr.ID] {
			if inPart[n] {
				t = append(t, n)
			} else {
				outside = append(outside, n)
			}
		}
		if !slices.Equal(t, want[pr.ID]) {
			f("placement", "%s active on %v, the DC's CIB says %v", pr.ID, t, want[pr.ID])
		}
		for _, n := range outside {
			e.outsideQuorum[n] = true
		}
		if len(outside) > 0 {
			f("outside-quorum", "%s active on %v, outside the quorate partition", pr.ID, outside)
		}
		if !pr.Clone && len(t) > 1 {
			f("double", "%s active on %d nodes: %v", pr.ID, len(t), t)
		}
	}
	if e.arp != nil {
		obs, err := e.observed()
		if err != nil {
			f("placement", "arp: %v", err)
		}
		for _, pr := range primitives {
			if pr.Kind != kindVIP || err != nil {
				continue
			}
			var in, out []string
			for _, n := range obs[pr.ID] {
				if inPart[n] {
					in = append(in, n)
				} else {
					out = append(out, n)
				}
			}
			if !slices.Equal(in, want[pr.ID]) {
				kind := "placement"
				if len(in) > 1 {
					kind = "double"
				}
				f(kind, "%s (%s) answers ARP from %v, the DC's CIB says %v", pr.ID, pr.VIP, in, want[pr.ID])
			}
			for _, n := range out {
				e.outsideQuorum[n] = true
			}
			if len(out) > 0 {
				f("outside-quorum", "%s (%s) answers ARP from %v, outside the quorate partition", pr.ID, pr.VIP, out)
			}
		}
	}
	return diffs
}

// cibSig is what must be identical between members: the version counters
// and the configuration. The status section is compared too, but only
// reported when the versions agree (it changes with every operation).
type cibSig struct {
	version, config, status string
}

func sigOf(x *etree.Element) cibSig {
	s := cibSig{version: fmt.Sprintf("%s.%s.%s", x.SelectAttrValue("admin_epoch", "0"), x.SelectAttrValue("epoch", "0"),
		x.SelectAttrValue("num_updates", "0"))}
	str := func(path string) string {
		el := x.FindElement(path)
		if el == nil {
			return ""
		}
		d := etree.NewDocument()
		d.SetRoot(el.Copy())
		out, _ := d.WriteToString()
		return out
	}
	s.config, s.status = str("./configuration"), str("./status")
	return s
}

// checkCIBs: every member of the quorate partition holds the same CIB,
// with every acknowledged write of the suite.
func (e *env) checkCIBs(phase string) {
	_, part := e.dcIndex()
	if len(part) == 0 {
		return
	}
	var last []finding
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		last = nil
		var ref cibSig
		var refName string
		for k, i := range part {
			x, err := e.c.Query(i)
			if err != nil {
				last = append(last, finding{"cib", fmt.Sprintf("%s: query: %v", e.name(i), err)})
				continue
			}
			s := sigOf(x)
			if k == 0 {
				ref, refName = s, e.name(i)
				var missing []string
				for _, id := range e.acked {
					if x.FindElement(fmt.Sprintf("./configuration/crm_config/cluster_property_set[@id='%s']", id)) == nil {
						missing = append(missing, id)
					}
				}
				if len(missing) > 0 {
					last = append(last, finding{"acked", fmt.Sprintf("acknowledged writes missing on %s: %v", e.name(i), missing)})
				}
				continue
			}
			switch {
			case s.version != ref.version:
				last = append(last, finding{"cib", fmt.Sprintf("CIB version %s on %s, %s on %s", s.version, e.name(i), ref.version, refName)})
			case s.config != ref.config:
				last = append(last, finding{"cib", fmt.Sprintf("CIB configuration differs between %s and %s at version %s", e.name(i), refName, s.version)})
			case s.status != ref.status:
				last = append(last, finding{"cib", fmt.Sprintf("CIB status differs between %s and %s at version %s", e.name(i), refName, s.version)})
			}
		}
		if len(last) == 0 {
			return
		}
	}
	for _, d := range last {
		e.violate(d.kind, "%s: %s", phase, d.msg)
	}
}

// checkCrashes scans every running node's logs and restart counters.
func (e *env) checkCrashes() {
	for _, i := range e.runningNodes() {
		e.scanLogs(i)
	}
	e.checkRestarts()
}

func vipTargets() (t []netip.Addr) {
	for _, pr := range primitives {
		if pr.Kind == kindVIP {
			t = append(t, pr.VIP)
		}
	}
	return t
}
