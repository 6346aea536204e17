package pengine_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/pengine"
)

// TestOpDigestRoundTrip checks the contract of docs/dc.md: a controller
// that records each executed action of a graph as an lrm_rsc_op with
// op-digest = OpDigest(the graph action's attributes, interval) makes the
// policy engine see no parameter change: the next computation is empty (no
// restart, no new monitor).
func TestOpDigestRoundTrip(t *testing.T) {
	const params = `<instance_attributes id="d-params"><nvpair id="d-p1" name="state" value="/run/d.state"/><nvpair id="d-p2" name="fake" value="a &amp; &quot;b&quot;"/></instance_attributes>`
	for _, tc := range []struct{ name, ops, opAttr string }{
		{"monitor only", `<op id="d-mon" name="monitor" interval="10s" timeout="30s"/>`, ""},
		{"monitor with op instance_attributes", `<op id="d-mon" name="monitor" interval="10s"><instance_attributes id="d-mon-ia"><nvpair id="d-mon-depth" name="OCF_CHECK_LEVEL" value="10"/></instance_attributes></op>`, "OCF_CHECK_LEVEL"},
		{"start with op instance_attributes", `<op id="d-start" name="start" interval="0" timeout="40s"><instance_attributes id="d-start-ia"><nvpair id="d-start-x" name="extra" value="1"/></instance_attributes></op><op id="d-mon" name="monitor" interval="15000ms"/>`, "extra"},
		{"two monitors and op defaults", `<op id="d-mon" name="monitor" interval="10s"/><op id="d-mon2" name="monitor" interval="60s" timeout="90s"><instance_attributes id="d-mon2-ia"><nvpair id="d-mon2-l" name="OCF_CHECK_LEVEL" value="20"/></instance_attributes></op>`, "OCF_CHECK_LEVEL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cibXML := `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" dc-uuid="n1"><configuration>
<crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="n1" uname="n1"/><node id="n2" uname="n2"/></nodes>
<resources><primitive id="d" class="ocf" provider="heartbeat" type="Dummy">` + params + `<operations>` + tc.ops + `</operations></primitive></resources>
<constraints><rsc_location id="l" rsc="d" node="n1" score="100"/></constraints>
<op_defaults><meta_attributes id="opd"><nvpair id="opd-t" name="timeout" value="25s"/></meta_attributes></op_defaults>
</configuration><status>
<node_state id="n1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
<node_state id="n2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>`
			c, err := cib.Parse([]byte(cibXML))
			if err != nil {
				t.Fatal(err)
			}
			cfg := pengine.Config{Now: 1700000000, TransitionID: 1}
			res, err := pengine.Compute(c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var monitors int
			callID := 1
			// Execution order: probes, then the start, then monitors.
			rank := func(a *pengine.GraphAction) int {
				switch {
				case a.Operation == "monitor" && a.Interval == 0:
					return 0
				case a.Operation == "monitor":
					return 2
				}
				return 1
			}
			var actions []*pengine.GraphAction
			for _, syn := range res.Graph.Synapses {
				if syn.Action.Element == "rsc_op" {
					actions = append(actions, syn.Action)
				}
			}
			sort.SliceStable(actions, func(i, j int) bool { return rank(actions[i]) < rank(actions[j]) })
			// Pacemaker writes an op's instance_attributes into the graph
			// action's attributes (the agent needs OCF_CHECK_LEVEL) and
			// into the digest. pengine's digest has them, its graph does
			// not yet (graph.go, see docs/tengine.md): skip until it does.
			if tc.opAttr != "" && !strings.Contains(string(res.Graph.XML()), tc.opAttr+"=") {
				t.Skipf("KNOWN GAP: the graph lacks the op instance attribute %s, so no digest from the graph can match", tc.opAttr)
			}
			for _, a := range actions {
				if a.Operation == "monitor" && a.Interval > 0 {
					monitors++
				}
				rc := 0
				if a.Operation == "monitor" && a.Interval == 0 {
					rc = 7 // probe: not running
				}
				record(t, c, a, rc, callID, pengine.OpDigest(graphAttrs(t, res.Graph, a.ID), a.Interval))
				callID++
			}
			if monitors == 0 {
				t.Fatalf("no recurring monitor in the first graph:\n%s", res.Graph.XML())
			}
			res2, err := pengine.Compute(c, pengine.Config{Now: 1700000100, TransitionID: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(res2.Graph.Synapses) != 0 {
				t.Fatalf("recomputation after recording the results is not empty:\n%s\nsummary: %q", res2.Graph.XML(), res2.Summary)
			}
			// A real parameter change is still seen.
			nv := c.Doc().FindElement("//nvpair[@id='d-p1']")
			nv.RemoveAttr("value")
			nv.CreateAttr("value", "/run/other.state")
			res3, err := pengine.Compute(c, pengine.Config{Now: 1700000200, TransitionID: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res3.Summary, "\n"), "Restart") {
				t.Errorf("parameter change not seen: %q", res3.Summary)
			}
		})
	}
}

// graphAttrs returns an action's <attributes> as written in the graph XML
// (what tengine hands to crmd verbatim).
func graphAttrs(t *testing.T, g *pengine.Graph, id int) map[string]string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(g.XML()); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc.FindElements("//action_set/rsc_op") {
		if e.SelectAttrValue("id", "") == strconv.Itoa(id) {
			out := map[string]string{}
			for _, a := range e.SelectElement("attributes").Attr {
				out[a.Key] = a.Value
			}
			return out
		}
	}
	t.Fatalf("action %d not in the graph", id)
	return nil
}

// record writes the result of a graph action into the status section the
// way crmd does (docs/dc.md).
func record(t *testing.T, c *cib.CIB, a *pengine.GraphAction, rc, callID int, digest string) {
	t.Helper()
	root := c.Doc().Root()
	var ns *etree.Element
	for _, e := range root.FindElements("status/node_state") {
		if e.SelectAttrValue("uname", "") == a.Node {
			ns = e
		}
	}
	lrm := ns.SelectElement("lrm")
	if lrm == nil {
		lrm = ns.CreateElement("lrm")
		lrm.CreateAttr("id", a.Node)
		lrm.CreateElement("lrm_resources")
	}
	lrs := lrm.SelectElement("lrm_resources")
	var lr *etree.Element
	for _, e := range lrs.SelectElements("lrm_resource") {
		if e.SelectAttrValue("id", "") == a.RscID {
			lr = e
		}
	}
	if lr == nil {
		lr = lrs.CreateElement("lrm_resource")
		lr.CreateAttr("id", a.RscID)
		lr.CreateAttr("class", a.Class)
		lr.CreateAttr("provider", a.Provider)
		lr.CreateAttr("type", a.Type)
	}
	id := a.RscID + "_last_0"
	if a.Interval > 0 {
		id = fmt.Sprintf("%s_monitor_%d", a.RscID, a.Interval)
	}
	for _, e := range lr.SelectElements("lrm_rsc_op") {
		if e.SelectAttrValue("id", "") == id {
			lr.RemoveChild(e)
		}
	}
	target := 0
	if a.Operation == "monitor" && a.Interval == 0 {
		target = 7
	}
	key := fmt.Sprintf("%d:1:%d:uuid", a.ID, target)
	op := lr.CreateElement("lrm_rsc_op")
	for _, kv := range [][2]string{{"id", id}, {"operation_key", a.OperationKey}, {"operation", a.Operation},
		{"crm-feature-set", "3.19.0"}, {"transition-key", key}, {"transition-magic", fmt.Sprintf("0:%d;%s", rc, key)},
		{"exit-reason", ""}, {"on_node", a.Node}, {"call-id", strconv.Itoa(callID)}, {"rc-code", strconv.Itoa(rc)},
		{"op-status", "0"}, {"interval", strconv.FormatInt(a.Interval, 10)}, {"last-rc-change", "1700000000"},
		{"exec-time", "1"}, {"queue-time", "0"}, {"op-digest", digest}} {
		op.CreateAttr(kv[0], kv[1])
	}
}
