package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/internal/lab"
)

// TestClones (issue 10's must-show) runs one namespace cluster of three
// nodes with stonith-enabled=false and checks, in order:
//
//   - anonymous: a clone of ocf:systole:Dummy runs one instance on every
//     node (state files and crm_mon --output-as=xml);
//   - notify: a clone with notify=true of a recording shell agent written
//     into the lab's OCF root (provider clonetest): every node's agent saw
//     a post-start notification (notify_type, notify_operation,
//     notify_start_uname naming every node); with clone-max lowered to 2,
//     pre-stop on the three nodes and post-stop on the two that remain,
//     naming the stopped node in notify_stop_uname;
//   - promotable: a promotable clone of ocf:systole:Stateful is promoted on
//     exactly one node (state files; crm_mon --output-as=xml: one Promoted,
//     two Unpromoted); that node (the DC so far) is killed (lab KillNode)
//     and another one is promoted; the killed node is started again, a
//     rsc_location with role Promoted moves the promotion to a node that is
//     not the DC, that node is killed and another one is promoted. The
//     times are logged, not asserted.
//
// The Stateful agent offers its promotion score with crm_attribute
// --promotion: systoled gives lrmd (and so the agents) CIB_socket=RUNDIR/
// cib.sock and Systole's tools first on PATH, so it reaches its node's
// crmd even where Debian's Pacemaker crm_attribute is installed.
func TestClones(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	bin := lab.Binaries(t)

	c := lab.NewCluster(t, 3, lab.ClusterOptions{BinDir: bin, LogLevel: os.Getenv("E2E_LOG_LEVEL")})
	if _, err := c.WaitDC(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	cloneTool(t, c, 0, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false")
	if err := cloneInstallRecorder(c.OCFRoot); err != nil {
		t.Fatal(err)
	}
	t.Run("anonymous", func(t *testing.T) { cloneTestAnonymous(t, c) })
	t.Run("notify", func(t *testing.T) { cloneTestNotify(t, c) })
	t.Run("promotable", func(t *testing.T) { cloneTestPromotable(t, c) })
}

// cloneRecorder is an OCF agent that keeps a state file per instance and,
// on notify, writes its OCF_RESKEY_CRM_meta_notify_* environment to one
// file per call in HA_RSCTMP (notify-*.env), so concurrent calls never
// interleave.
const cloneRecorder = `#!/bin/sh
# NotifyRec: records the notify environment (systole e2e, clone_test.go)
: "${HA_RSCTMP:=/tmp}"
inst=$(printf '%s' "$OCF_RESOURCE_INSTANCE" | tr ':/' '__')
state="$HA_RSCTMP/NotifyRec-$inst.state"
case "$1" in
meta-data)
	cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="NotifyRec" version="1.0">
<version>1.1</version>
<longdesc lang="en">Records the notify environment.</longdesc>
<shortdesc lang="en">Notify recorder</shortdesc>
<parameters/>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="notify" timeout="5s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
EOF
	exit 0 ;;
start) touch "$state"; exit 0 ;;
stop) rm -f "$state"; exit 0 ;;
monitor) [ -f "$state" ] && exit 0; exit 7 ;;
notify)
	f="$HA_RSCTMP/notify-$(date +%s%N)-$$.env"
	{ echo "instance=$OCF_RESOURCE_INSTANCE"; env | grep '^OCF_RESKEY_CRM_meta_notify' | sort; } > "$f.tmp"
	mv "$f.tmp" "$f"
	exit 0 ;;
validate-all) exit 0 ;;
*) exit 3 ;;
esac
`

// cloneInstallRecorder writes the recording agent as
// ocf:clonetest:NotifyRec into the lab's OCF root (read by lrmd at each
// execution, so after the nodes started is fine).
func cloneInstallRecorder(root string) error {
	d := filepath.Join(root, "resource.d", "clonetest")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, "NotifyRec"), []byte(cloneRecorder), 0o755)
}

// cloneTool runs a CLI against node i, retrying a quick failure (a DC
// change) up to 5 times.
func cloneTool(t testing.TB, c *lab.Cluster, i int, name string, args ...string) string {
	t.Helper()
	var out string
	var err error
	for try := 0; try < 5; try++ {
		t0 := time.Now()
		if out, err = c.Tool(i, name, args...); err == nil || time.Since(t0) > 5*time.Second {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("%s %s on %s: %v", name, strings.Join(args, " "), c.Nodes[i].Name, err)
	}
	return out
}

// cloneAlive lists the nodes that run.
func cloneAlive(c *lab.Cluster) []int {
	var r []int
	for i, nd := range c.Nodes {
		if nd.Pid != 0 {
			r = append(r, i)
		}
	}
	return r
}

// cloneWait polls cond every 100 ms until it holds or timeout passes and
// returns how long it took.
func cloneWait(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		ok, detail := cond()
		if ok {
			return time.Since(t0)
		}
		if time.Since(t0) > timeout {
			t.Fatalf("timeout (%v) waiting for %s: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cloneInstance is one resource line of crm_mon's XML.
type cloneInstance struct {
	ID, Role, Node string
}

// cloneMonXML runs crm_mon --output-as=xml on node i and returns the
// resources with the given id prefix found anywhere under <resources>.
func cloneMonXML(c *lab.Cluster, i int, prefix string) ([]cloneInstance, string, error) {
	out, err := c.Tool(i, "crm_mon", "-1", "--output-as=xml")
	if err != nil {
		return nil, out, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(out); err != nil {
		return nil, out, err
	}
	var r []cloneInstance
	for _, e := range doc.FindElements("//resource") {
		id := e.SelectAttrValue("id", "")
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		in := cloneInstance{ID: id, Role: e.SelectAttrValue("role", "")}
		if n := e.SelectElement("node"); n != nil {
			in.Node = n.SelectAttrValue("name", "")
		}
		r = append(r, in)
	}
	return r, out, nil
}

// cloneRoles counts crm_mon's roles of the instances (by role) and the
// nodes of each role.
func cloneRoles(in []cloneInstance) map[string][]string {
	m := map[string][]string{}
	for _, x := range in {
		m[x.Role] = append(m[x.Role], x.Node)
	}
	for _, v := range m {
		sort.Strings(v)
	}
	return m
}

// cloneStateFiles returns, per running node, the contents of the agent's
// state files (AGENT-*.state) in its HA_RSCTMP: the ground truth.
func cloneStateFiles(c *lab.Cluster, agent string) map[int][]string {
	m := map[int][]string{}
	for _, i := range cloneAlive(c) {
		fs, _ := filepath.Glob(filepath.Join(c.Nodes[i].RscTmp(), agent+"-*.state"))
		for _, f := range fs {
			b, err := os.ReadFile(f)
			if err == nil {
				m[i] = append(m[i], strings.TrimSpace(string(b)))
			}
		}
	}
	return m
}

func cloneDummyXML() string {
	return `<clone id="dc-clone">
  <primitive id="dc" class="ocf" provider="systole" type="Dummy">
    <operations><op id="dc-mon" name="monitor" interval="2s" timeout="20s"/></operations>
  </primitive>
</clone>`
}

// cloneTestAnonymous: an anonymous Dummy clone runs on every node.
func cloneTestAnonymous(t *testing.T, c *lab.Cluster) {
	cloneTool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", cloneDummyXML())
	took := cloneWait(t, "a Dummy instance on every node", 60*time.Second, func() (bool, string) {
		st := cloneStateFiles(c, "Dummy")
		n := 0
		for _, i := range cloneAlive(c) {
			n += min(len(st[i]), 1)
		}
		if n != len(c.Nodes) {
			return false, fmt.Sprintf("state files %v", st)
		}
		in, out, err := cloneMonXML(c, 0, "dc")
		if err != nil {
			return false, err.Error()
		}
		m := cloneRoles(in)
		want := []string{"node1", "node2", "node3"}
		return slices.Equal(m["Started"], want), fmt.Sprintf("crm_mon roles %v\n%s", m, out)
	})
	t.Logf("anonymous Dummy clone Started on 3 nodes %v after the cibadmin -C", took.Round(time.Millisecond))
	for _, i := range cloneAlive(c) {
		if st := cloneStateFiles(c, "Dummy")[i]; len(st) != 1 {
			t.Errorf("%s has %d Dummy state files, want 1", c.Nodes[i].Name, len(st))
		}
	}
}

// cloneNotifyRecord is one notify call seen by the agent.
type cloneNotifyRecord struct {
	Node string
	Vars map[string]string
}

// cloneNotifyRecords reads every node's notify-*.env files.
func cloneNotifyRecords(c *lab.Cluster) []cloneNotifyRecord {
	var r []cloneNotifyRecord
	for _, i := range cloneAlive(c) {
		fs, _ := filepath.Glob(filepath.Join(c.Nodes[i].RscTmp(), "notify-*.env"))
		sort.Strings(fs)
		for _, f := range fs {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			rec := cloneNotifyRecord{Node: c.Nodes[i].Name, Vars: map[string]string{}}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					rec.Vars[strings.TrimPrefix(k, "OCF_RESKEY_CRM_meta_")] = v
				}
			}
			r = append(r, rec)
		}
	}
	return r
}

// cloneTestNotify: notify=true, the agent sees pre and post start
// notifications with the instance lists.
func cloneTestNotify(t *testing.T, c *lab.Cluster) {
	x := `<clone id="nr-clone">
  <meta_attributes id="nr-clone-meta"><nvpair id="nr-clone-notify" name="notify" value="true"/></meta_attributes>
  <primitive id="nr" class="ocf" provider="clonetest" type="NotifyRec">
    <operations><op id="nr-mon" name="monitor" interval="5s" timeout="20s"/></operations>
  </primitive>
</clone>`
	cloneTool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", x)
	var recs []cloneNotifyRecord
	took := cloneWait(t, "pre and post start notifications on every node", 60*time.Second, func() (bool, string) {
		recs = cloneNotifyRecords(c)
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Node+" "+r.Vars["notify_type"]+"-"+r.Vars["notify_operation"]] = true
		}
		for _, nd := range c.Nodes {
			if !seen[nd.Name+" post-start"] {
				return false, fmt.Sprintf("%d records: %v", len(recs), recs)
			}
		}
		return true, ""
	})
	t.Logf("post-start notifications on every node %v after the cibadmin -C; %d notify calls recorded", took.Round(time.Millisecond), len(recs))
	for _, r := range recs {
		t.Logf("notify on %s: %v", r.Node, r.Vars)
	}
	pre, post := 0, 0
	for _, r := range recs {
		if r.Vars["notify_operation"] != "start" {
			continue
		}
		switch r.Vars["notify_type"] {
		case "pre":
			pre++
		case "post":
			post++
		}
		// every start notification names the three nodes being started
		got := strings.Fields(r.Vars["notify_start_uname"])
		sort.Strings(got)
		if !slices.Equal(got, []string{"node1", "node2", "node3"}) {
			t.Errorf("%s %s-start notify: notify_start_uname=%q, want the three nodes", r.Node, r.Vars["notify_type"], r.Vars["notify_start_uname"])
		}
		if len(strings.Fields(r.Vars["notify_start_resource"])) != 3 {
			t.Errorf("%s %s-start notify: notify_start_resource=%q, want 3 instances", r.Node, r.Vars["notify_type"], r.Vars["notify_start_resource"])
		}
	}
	// a pre-start notification goes to instances already running: none
	// when the clone is new, so only post-start is required
	if post < len(c.Nodes) {
		t.Errorf("%d post-start notifications, want %d (one per node)", post, len(c.Nodes))
	}
	t.Logf("start notifications: %d pre, %d post", pre, post)

	// one instance stops (clone-max 2): pre-stop goes to the three running
	// instances, post-stop to the two that remain
	cloneTool(t, c, 0, "crm_resource", "-r", "nr-clone", "--meta", "-p", "clone-max", "-v", "2")
	var stopped string
	took = cloneWait(t, "pre and post stop notifications", 60*time.Second, func() (bool, string) {
		recs = cloneNotifyRecords(c)
		pre, post := map[string]bool{}, map[string]bool{}
		for _, r := range recs {
			if r.Vars["notify_operation"] != "stop" {
				continue
			}
			switch r.Vars["notify_type"] {
			case "pre":
				pre[r.Node] = true
			case "post":
				post[r.Node] = true
			}
		}
		st := cloneStateFiles(c, "NotifyRec")
		var running []string
		for _, i := range cloneAlive(c) {
			if len(st[i]) > 0 {
				running = append(running, c.Nodes[i].Name)
			} else {
				stopped = c.Nodes[i].Name
			}
		}
		if len(pre) != 3 || len(post) != 2 || len(running) != 2 {
			return false, fmt.Sprintf("pre-stop on %v, post-stop on %v, running on %v; records %v", pre, post, running, recs)
		}
		return !post[stopped], fmt.Sprintf("post-stop sent to the stopped instance's node %s", stopped)
	})
	t.Logf("clone-max 2: %s stopped, pre-stop on 3 nodes and post-stop on 2 after %v", stopped, took.Round(time.Millisecond))
	for _, r := range recs {
		if r.Vars["notify_operation"] != "stop" {
			continue
		}
		t.Logf("notify on %s: type=%s operation=%s stop_uname=%q stop_resource=%q active_uname=%q inactive_resource=%q",
			r.Node, r.Vars["notify_type"], r.Vars["notify_operation"], r.Vars["notify_stop_uname"],
			r.Vars["notify_stop_resource"], r.Vars["notify_active_uname"], r.Vars["notify_inactive_resource"])
		if strings.TrimSpace(r.Vars["notify_stop_uname"]) != stopped {
			t.Errorf("%s %s-stop notify: notify_stop_uname=%q, want %s", r.Node, r.Vars["notify_type"], r.Vars["notify_stop_uname"], stopped)
		}
		if r.Vars["notify_type"] == "pre" && len(strings.Fields(r.Vars["notify_active_uname"])) != 3 {
			t.Errorf("%s pre-stop notify: notify_active_uname=%q, want the three nodes", r.Node, r.Vars["notify_active_uname"])
		}
	}
}

// cloneStatefulXML is a promotable clone of ocf:systole:Stateful with one
// promoted instance.
func cloneStatefulXML() string {
	return `<clone id="st-clone">
  <meta_attributes id="st-clone-meta">
    <nvpair id="st-clone-promotable" name="promotable" value="true"/>
    <nvpair id="st-clone-pmax" name="promoted-max" value="1"/>
  </meta_attributes>
  <primitive id="st" class="ocf" provider="systole" type="Stateful">
    <operations>
      <op id="st-mon-p" name="monitor" interval="2s" role="Promoted" timeout="20s"/>
      <op id="st-mon-u" name="monitor" interval="3s" role="Unpromoted" timeout="20s"/>
    </operations>
  </primitive>
</clone>`
}

// clonePromoted waits until, among the running nodes, exactly one runs the
// promoted Stateful instance and the others an unpromoted one (state
// files, and crm_mon on a running node agreeing), satisfying ok; it
// returns the promoted node and the time it took.
func clonePromoted(t *testing.T, c *lab.Cluster, ok func(int) bool) (int, time.Duration) {
	t.Helper()
	p := -1
	took := cloneWait(t, "one promoted Stateful instance", 60*time.Second, func() (bool, string) {
		st := cloneStateFiles(c, "Stateful")
		var prom, unprom []int
		for _, i := range cloneAlive(c) {
			switch {
			case slices.Equal(st[i], []string{"promoted"}):
				prom = append(prom, i)
			case slices.Equal(st[i], []string{"unpromoted"}):
				unprom = append(unprom, i)
			}
		}
		if len(prom) != 1 || len(prom)+len(unprom) != len(cloneAlive(c)) || (ok != nil && !ok(prom[0])) {
			return false, fmt.Sprintf("state files %v", st)
		}
		p = prom[0]
		return true, ""
	})
	return p, took
}

// cloneCheckMon checks crm_mon's XML on node i: one Promoted instance on
// node promoted, Unpromoted ones on the other running nodes.
func cloneCheckMon(t *testing.T, c *lab.Cluster, i, promoted int) {
	t.Helper()
	var want []string
	for _, j := range cloneAlive(c) {
		if j != promoted {
			want = append(want, c.Nodes[j].Name)
		}
	}
	var last string
	// the status may lag the agents by a monitor or a CIB write
	for try := 0; try < 50; try++ {
		in, out, err := cloneMonXML(c, i, "st")
		if err == nil {
			m := cloneRoles(in)
			if slices.Equal(m["Promoted"], []string{c.Nodes[promoted].Name}) && slices.Equal(m["Unpromoted"], want) {
				return
			}
			last = fmt.Sprintf("roles %v\n%s", m, out)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("crm_mon --output-as=xml on %s: want Promoted on %s, Unpromoted on %v; got %s", c.Nodes[i].Name, c.Nodes[promoted].Name, want, last)
}

// cloneTestPromotable: one promoted instance; its node killed, another is
// promoted.
func cloneTestPromotable(t *testing.T, c *lab.Cluster) {
	cloneTool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", cloneStatefulXML())
	p, took := clonePromoted(t, c, nil)
	t.Logf("Stateful promoted on %s %v after the cibadmin -C", c.Nodes[p].Name, took.Round(time.Millisecond))
	other := (p + 1) % len(c.Nodes)
	cloneCheckMon(t, c, other, p)
	x, err := c.Query(other)
	if err == nil {
		for _, nv := range x.FindElements("./status/node_state/transient_attributes//nvpair") {
			if strings.HasPrefix(nv.SelectAttrValue("name", ""), "master-") {
				t.Logf("promotion score %s=%s", nv.SelectAttrValue("id", ""), nv.SelectAttrValue("value", ""))
			}
		}
	}
	dc := c.DC()
	t0 := time.Now()
	if err := c.KillNode(p); err != nil {
		t.Fatal(err)
	}
	q, _ := clonePromoted(t, c, func(i int) bool { return i != p })
	t.Logf("promoted node %s killed (DC was %s): %s promoted after %v", c.Nodes[p].Name, dc, c.Nodes[q].Name, time.Since(t0).Round(time.Millisecond))
	cloneCheckMon(t, c, q, q)

	// the killed node comes back (unpromoted); a location constraint with
	// role Promoted moves the promoted instance to a node that is not the
	// DC (demote, promote), and that node is killed: the case not seen
	// above when the first promoted node was the DC
	if err := c.StartNode(p); err != nil {
		t.Fatal(err)
	}
	took = cloneWait(t, "the restarted node running an unpromoted instance", 60*time.Second, func() (bool, string) {
		st := cloneStateFiles(c, "Stateful")
		return slices.Equal(st[p], []string{"unpromoted"}), fmt.Sprintf("state files %v", st)
	})
	t.Logf("%s restarted: unpromoted instance after %v", c.Nodes[p].Name, took.Round(time.Millisecond))
	dci := -1
	cloneWait(t, "an agreed DC", 60*time.Second, func() (bool, string) {
		dci = c.Index(c.DC())
		return dci >= 0, "no agreed DC"
	})
	k := (dci + 1) % len(c.Nodes)
	cloneTool(t, c, dci, "cibadmin", "-C", "-o", "constraints", "-X",
		fmt.Sprintf(`<rsc_location id="st-prom-loc" rsc="st-clone" role="Promoted" node="%s" score="100"/>`, c.Nodes[k].Name))
	_, took = clonePromoted(t, c, func(i int) bool { return i == k })
	t.Logf("location role=Promoted on %s: promoted there after %v", c.Nodes[k].Name, took.Round(time.Millisecond))
	cloneCheckMon(t, c, dci, k)
	dc = c.DC()
	t0 = time.Now()
	if err := c.KillNode(k); err != nil {
		t.Fatal(err)
	}
	q3, _ := clonePromoted(t, c, func(i int) bool { return i != k })
	t.Logf("promoted node %s killed (DC %s): %s promoted after %v", c.Nodes[k].Name, dc, c.Nodes[q3].Name, time.Since(t0).Round(time.Millisecond))
	cloneCheckMon(t, c, q3, q3)
}
