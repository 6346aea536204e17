package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/systole/systole/internal/lab"
	"github.com/systole/systole/membership/client"
	membershipv1 "github.com/systole/systole/proto/membership/v1"
)

var messagingBin, membershipBin string

func TestMain(m *testing.M) {
	if lab.Available() == nil {
		dir, err := os.MkdirTemp("", "systole-membership-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		messagingBin = filepath.Join(dir, "messagingd")
		membershipBin = filepath.Join(dir, "membershipd")
		for bin, pkg := range map[string]string{messagingBin: "cmd/messagingd", membershipBin: "cmd/membershipd"} {
			out, err := exec.Command("go", "build", "-o", bin, "github.com/systole/systole/"+pkg).CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
				os.Exit(1)
			}
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const (
	keepalive = 100 * time.Millisecond
	deadtime  = 500 * time.Millisecond
)

// member is one node: messagingd and membershipd in a lab namespace.
type member struct {
	name string
	node *lab.Node
	dir  string
	msgd *lab.Process
	memd *lab.Process
	c    *client.Client

	mu    sync.Mutex
	views []*membershipv1.View // every view watched, in order
}

type cluster struct {
	t       *testing.T
	lab     *lab.Lab
	members []*member
	names   []string
}

func newCluster(t *testing.T, n int) *cluster { return newClusterWith(t, n, "") }

// newClusterWith writes membership directives (quorum_votes, expected_votes, two_node) into
// a copy of ha.cf that only membershipd reads: messagingd's parser rejects them.
func newClusterWith(t *testing.T, n int, directives string) *cluster {
	if testing.Short() {
		t.Skip("end-to-end test; -short runs unit tests only")
	}
	l := lab.New(t, n, lab.WithoutIPv6())
	c := &cluster{t: t, lab: l}
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("node%02d", i))
	}
	cf := fmt.Sprintf("cluster e2e\nnode %s\nbcast eth0\nudpport 694\nkeepalive %dms\nwarntime 300ms\ndeadtime %dms\ninitdead 1\n",
		strings.Join(c.names, " "), keepalive.Milliseconds(), deadtime.Milliseconds())
	for i, nd := range l.Nodes {
		m := &member{name: c.names[i], node: nd, dir: filepath.Join(l.Dir(), c.names[i])}
		must(t, os.MkdirAll(m.dir, 0o700))
		must(t, os.WriteFile(filepath.Join(m.dir, "ha.cf"), []byte(cf), 0o644))
		must(t, os.WriteFile(filepath.Join(m.dir, "membership.cf"), []byte(cf+directives), 0o644))
		must(t, os.WriteFile(filepath.Join(m.dir, "authkeys"), []byte("auth 1\n1 sha256 e2e-membership-secret\n"), 0o600))
		cl, err := client.Dial(filepath.Join(m.dir, "membership.sock"))
		must(t, err)
		t.Cleanup(func() { cl.Close() })
		m.c = cl
		c.members = append(c.members, m)
	}
	return c
}

// logLevel is membershipd's log level: SYSTOLE_E2E_LOG_LEVEL, default info.
func logLevel() string {
	if l := os.Getenv("SYSTOLE_E2E_LOG_LEVEL"); l != "" {
		return l
	}
	return "info"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) startMessaging(i int) {
	m := c.members[i]
	m.msgd = m.node.Start(c.t, messagingBin, "--config", filepath.Join(m.dir, "ha.cf"), "--authkeys", filepath.Join(m.dir, "authkeys"),
		"--state-dir", filepath.Join(m.dir, "messaging-state"), "--socket", filepath.Join(m.dir, "messaging.sock"),
		"--node", m.name, "--log-level", "warn")
}

func (c *cluster) startMembership(i int) {
	m := c.members[i]
	m.memd = m.node.Start(c.t, membershipBin, "--config", filepath.Join(m.dir, "membership.cf"), "--run-dir", m.dir,
		"--state-dir", filepath.Join(m.dir, "membership-state"), "--node", m.name, "--log-level", logLevel())
}

// watch follows m's views in the background and records them.
func (c *cluster) watch(m *member) {
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			w, err := m.c.Watch(ctx)
			if err == nil {
				for {
					ev, err := w.Recv()
					if err != nil {
						break
					}
					if v := ev.GetView(); v != nil && v.GetNumber() > 0 {
						m.mu.Lock()
						if n := len(m.views); n == 0 || m.views[n-1].GetNumber() != v.GetNumber() || m.views[n-1].GetCoordinator() != v.GetCoordinator() {
							m.views = append(m.views, v)
						}
						m.mu.Unlock()
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

// checkGrowth verifies that every member's watched view numbers strictly grow.
func (c *cluster) checkGrowth() {
	c.t.Helper()
	for _, m := range c.members {
		m.mu.Lock()
		for i := 1; i < len(m.views); i++ {
			if m.views[i].GetNumber() <= m.views[i-1].GetNumber() {
				c.t.Errorf("%s: view number went from %d to %d", m.name, m.views[i-1].GetNumber(), m.views[i].GetNumber())
			}
		}
		m.mu.Unlock()
	}
}

func (m *member) view() *membershipv1.View {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, _, err := m.c.View(ctx)
	if err != nil {
		return nil
	}
	return v
}

// waitView waits until every member in idx has installed the same view (number and
// coordinator) holding exactly the members of idx, with the given quorum flag, and
// returns when the last of them installed it (from the daemons' own timestamps).
func (c *cluster) waitView(idx []int, quorum bool, within time.Duration) time.Time {
	c.t.Helper()
	return c.waitViewAfter(idx, quorum, 0, within)
}

// waitViewAfter is waitView for a view numbered above after.
func (c *cluster) waitViewAfter(idx []int, quorum bool, after uint64, within time.Duration) time.Time {
	c.t.Helper()
	var want []string
	for _, i := range idx {
		want = append(want, c.names[i])
	}
	slices.Sort(want)
	start := time.Now()
	var last []string
	for {
		ok := true
		var first *membershipv1.View
		var at int64
		last = last[:0]
		for _, i := range idx {
			v := c.members[i].view()
			last = append(last, fmt.Sprintf("%s: %d by %s %v q=%v", c.names[i], v.GetNumber(), v.GetCoordinator(), v.GetMembers(), v.GetQuorum()))
			if v == nil || v.GetNumber() <= after || !slices.Equal(v.GetMembers(), want) || v.GetQuorum() != quorum {
				ok = false
				continue
			}
			at = max(at, v.GetInstalledUnixMs())
			if first == nil {
				first = v
			} else if first.GetNumber() != v.GetNumber() || first.GetCoordinator() != v.GetCoordinator() {
				ok = false
			}
		}
		if ok {
			return time.UnixMilli(at)
		}
		if time.Since(start) > within {
			c.t.Fatalf("timed out after %v waiting for view %v quorum=%v; views:\n%s", within, want, quorum, strings.Join(last, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// partition drops every packet between group a and group b (nftables, inside each
// namespace, on input: broadcasts cannot be filtered by destination).
func (c *cluster) partition(a, b []int) {
	addrs := func(g []int) string {
		var s []string
		for _, i := range g {
			s = append(s, c.lab.Nodes[i].Addr4.Addr().String())
		}
		return strings.Join(s, ", ")
	}
	for _, pair := range [][2][]int{{a, b}, {b, a}} {
		for _, i := range pair[0] {
			c.lab.Nodes[i].Nft(c.t, fmt.Sprintf("table inet systole_part {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr { %s } drop\n }\n}\n", addrs(pair[1])))
		}
	}
}

func (c *cluster) heal(idx []int) {
	for _, i := range idx {
		c.lab.Nodes[i].Nft(c.t, "delete table inet systole_part\n")
	}
}

// TestFiveNodes forms a 5-node view, partitions it 3|2 and heals it, then restarts one
// node's messagingd under its running membershipd.
func TestFiveNodes(t *testing.T) {
	c := newCluster(t, 5)
	for i := range c.members {
		c.startMessaging(i)
	}
	start := time.Now()
	for i := range c.members {
		c.startMembership(i)
	}
	for _, m := range c.members {
		c.watch(m)
	}
	all := seq(0, 5)
	formed := c.waitView(all, true, 30*time.Second)
	t.Logf("5 nodes: one 5-node view with quorum installed on all %v after starting membershipd", formed.Sub(start))

	t.Run("status command", func(t *testing.T) {
		out, err := exec.Command(membershipBin, "status", "--peers", "--run-dir", c.members[0].dir).CombinedOutput()
		must(t, err)
		for _, want := range []string{"node node00 view ", "members node00 node01 node02 node03 node04", "quorum yes votes 5 expected 5", "peer node04 up"} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("status output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("partition 3|2 and heal", func(t *testing.T) {
		major, minor := seq(0, 3), seq(3, 5)
		cut := time.Now()
		c.partition(major, minor)
		t.Logf("cut at %s, rules loaded after %v", cut.UTC().Format("15:04:05.000"), time.Since(cut).Round(time.Millisecond))
		tMajor := c.waitView(major, true, 20*time.Second)
		tMinor := c.waitView(minor, false, 20*time.Second)
		t.Logf("partition 3|2: majority in a 3-node view with quorum %v after the cut, minority in a 2-node view without quorum %v after the cut (deadtime %v)",
			tMajor.Sub(cut), tMinor.Sub(cut), deadtime)
		healed := time.Now()
		c.heal(all)
		t.Logf("heal rules removed after %v", time.Since(healed).Round(time.Millisecond))
		tHeal := c.waitView(all, true, 30*time.Second)
		t.Logf("heal: one 5-node view with quorum %v after the heal (hold-down %v)", tHeal.Sub(healed), deadtime)
	})

	t.Run("messagingd restart under membershipd", func(t *testing.T) {
		m := c.members[4]
		before := m.view().GetNumber()
		m.msgd.Kill()
		restarted := time.Now()
		c.startMessaging(4)
		back := c.waitViewAfter(all, true, before, 30*time.Second)
		t.Logf("messagingd restart on node04: one 5-node view again %v after the restart", back.Sub(restarted))
		if !strings.Contains(m.memd.Output(), "lost messagingd") {
			t.Errorf("membershipd on node04 did not notice messagingd going away:\n%s", m.memd.Output())
		}
	})
	t.Run("membershipd restart under messagingd", func(t *testing.T) {
		m := c.members[3]
		before := m.view().GetNumber()
		killed := time.Now()
		m.memd.Kill()
		gone := c.waitViewAfter([]int{0, 1, 2, 4}, true, before, 20*time.Second)
		t.Logf("membershipd killed on node03 (messagingd still up): 4-node view %v after the kill (peer timeout 2 x deadtime = %v)", gone.Sub(killed), 2*deadtime)
		restarted := time.Now()
		c.startMembership(3)
		back := c.waitViewAfter(all, true, before, 20*time.Second)
		t.Logf("membershipd restarted on node03: one 5-node view %v after the restart", back.Sub(restarted))
		if n := m.view().GetNumber(); n <= before {
			t.Errorf("node03's view number went from %d to %d across its restart", before, n)
		}
	})
	c.checkGrowth()
	if os.Getenv("SYSTOLE_E2E_VERBOSE") != "" {
		t.Logf("node00 membershipd:\n%s", c.members[0].memd.Output())
	}
}

// TestSixteenNodes forms one view of 16 real nodes (16 namespaces x 2 daemons).
func TestSixteenNodes(t *testing.T) {
	c := newCluster(t, 16)
	for i := range c.members {
		c.startMessaging(i)
	}
	start := time.Now()
	for i := range c.members {
		c.startMembership(i)
	}
	formed := c.waitView(seq(0, 16), true, 60*time.Second)
	t.Logf("16 nodes: one 16-node view with quorum installed on all %v after starting membershipd", formed.Sub(start))
}

// TestTwoNode runs a two_node cluster: split, each side keeps quorum (fencing decides);
// a membershipd restarted while still cut off waits for all and has no quorum; healed, the
// pair forms one view with quorum again.
func TestTwoNode(t *testing.T) {
	c := newClusterWith(t, 2, "two_node on\n")
	for i := range c.members {
		c.startMessaging(i)
		c.startMembership(i)
	}
	for _, m := range c.members {
		c.watch(m)
	}
	both := seq(0, 2)
	c.waitView(both, true, 30*time.Second)
	c.partition([]int{0}, []int{1})
	c.waitView([]int{0}, true, 20*time.Second)
	c.waitView([]int{1}, true, 20*time.Second)
	m := c.members[1]
	before := m.view().GetNumber()
	m.memd.Kill()
	c.startMembership(1)
	c.waitViewAfter([]int{1}, false, before, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := m.c.Quorum(ctx)
	must(t, err)
	if q.GetQuorum() || !q.GetTwoNode() || !q.GetWaitingForAll() || q.GetExpectedVotes() != 2 {
		t.Fatalf("restarted node cut off from its peer: %v", q)
	}
	c.heal(both)
	c.waitViewAfter(both, true, before, 30*time.Second)
	c.checkGrowth()
}
