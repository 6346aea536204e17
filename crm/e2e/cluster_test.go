package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	cibclient "github.com/systole/systole/cib/client"
	"github.com/systole/systole/internal/lab"
)

var messagingBin, membershipBin, crmdBin, cibadminBin string

func TestMain(m *testing.M) {
	flag.Parse() // for testing.Short: -short builds nothing
	if lab.Available() == nil && !testing.Short() {
		dir, err := os.MkdirTemp("", "systole-crm-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		messagingBin = filepath.Join(dir, "messagingd")
		membershipBin = filepath.Join(dir, "membershipd")
		crmdBin = filepath.Join(dir, "crmd")
		cibadminBin = filepath.Join(dir, "cibadmin")
		for bin, pkg := range map[string]string{messagingBin: "cmd/messagingd", membershipBin: "cmd/membershipd",
			crmdBin: "cmd/crmd", cibadminBin: "cmd/cibadmin"} {
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

// member is one node: messagingd, membershipd and crmd in a namespace.
type member struct {
	name string
	node *lab.Node
	dir  string
	msgd *lab.Process
	memd *lab.Process
	crmd *lab.Process
	cib  *cibclient.GRPC
	t    testing.TB
}

func (m *member) socket() string { return filepath.Join(m.dir, "cib.sock") }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// logLevel is crmd's log level: debug with SYSTOLE_E2E_LOG_LEVEL=debug,
// else info (the test reads the DC events crmd logs at info).
func logLevel() string {
	if os.Getenv("SYSTOLE_E2E_LOG_LEVEL") == "debug" {
		return "debug"
	}
	return "info"
}

func startCluster(t testing.TB, n int) []*member {
	if testing.Short() {
		t.Skip("end-to-end test; -short runs unit tests only")
	}
	l := lab.New(t, n, lab.WithoutIPv6())
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("node%02d", i))
	}
	cf := fmt.Sprintf("cluster e2e-crm\nnode %s\nbcast eth0\nudpport 694\nkeepalive %dms\nwarntime 300ms\ndeadtime %dms\ninitdead 1\n",
		strings.Join(names, " "), keepalive.Milliseconds(), deadtime.Milliseconds())
	var ms []*member
	for i, nd := range l.Nodes {
		m := &member{name: names[i], node: nd, dir: filepath.Join(l.Dir(), names[i])}
		must(t, os.MkdirAll(m.dir, 0o700))
		must(t, os.WriteFile(filepath.Join(m.dir, "ha.cf"), []byte(cf), 0o644))
		must(t, os.WriteFile(filepath.Join(m.dir, "authkeys"), []byte("auth 1\n1 sha256 e2e-crm-secret\n"), 0o600))
		ms = append(ms, m)
	}
	for _, m := range ms {
		m.t = t
		m.startStack()
		c, err := cibclient.DialUnix(m.socket())
		must(t, err)
		t.Cleanup(func() { c.Close() })
		m.cib = c
	}
	return ms
}

// startStack starts messagingd, membershipd and crmd on m (again after
// killStack: the state directories are kept).
func (m *member) startStack() {
	t := m.t
	m.msgd = m.node.Start(t, messagingBin, "--config", filepath.Join(m.dir, "ha.cf"), "--authkeys", filepath.Join(m.dir, "authkeys"),
		"--state-dir", filepath.Join(m.dir, "messaging-state"), "--socket", filepath.Join(m.dir, "messaging.sock"),
		"--node", m.name, "--log-level", "warn")
	m.memd = m.node.Start(t, membershipBin, "--config", filepath.Join(m.dir, "ha.cf"), "--run-dir", m.dir,
		"--state-dir", filepath.Join(m.dir, "membership-state"), "--node", m.name, "--log-level", "warn")
	m.startCrmd()
}

// startCrmd starts m's crmd alone (again after crmd.Kill: messagingd and
// membershipd keep running, so the membership view does not change).
func (m *member) startCrmd() {
	m.crmd = m.node.Start(m.t, crmdBin, "--node", m.name, "--run-dir", m.dir,
		"--state-dir", filepath.Join(m.dir, "crm-state"), "--log-level", logLevel())
}

// killStack kills m's three daemons (SIGKILL: a node crash as far as the
// cluster can tell; the stores survive).
func (m *member) killStack() {
	m.crmd.Kill()
	m.memd.Kill()
	m.msgd.Kill()
}

// root returns the <cib> element as m's crmd has it, or nil.
func (m *member) root() *etree.Element {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, _, err := m.cib.Query(ctx, cib.Request{Op: cib.OpQuery})
	if err != nil || len(out) != 1 {
		return nil
	}
	return out[0]
}

// waitDC waits until every crmd's CIB names the same DC (dc-uuid, written
// by the DC at the end of its join) and returns it.
func waitDC(t testing.TB, ms []*member, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var seen []string
	for time.Now().Before(deadline) {
		seen = seen[:0]
		for _, m := range ms {
			dc := ""
			if r := m.root(); r != nil {
				dc = r.SelectAttrValue("dc-uuid", "")
			}
			seen = append(seen, dc)
		}
		agree := seen[0] != ""
		for _, dc := range seen {
			agree = agree && dc == seen[0]
		}
		if agree {
			for _, m := range ms {
				if m.name == seen[0] {
					return seen[0]
				}
			}
			t.Fatalf("DC %q is not a member", seen[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no single DC within %v: dc-uuid per node %v", within, seen)
	return ""
}

func cibadmin(t *testing.T, sock string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cibadminBin, args...)
	cmd.Env = append(os.Environ(), "CIB_socket="+sock, "CIB_file=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestThreeNodes: one DC; a cibadmin write on a replica is on every node;
// the DC dies and the survivors elect another; the old DC rejoins, syncs
// to the newest CIB and does not take the role back.
func TestThreeNodes(t *testing.T) {
	ms := startCluster(t, 3)
	dc := waitDC(t, ms, 30*time.Second)
	// exactly one DC reported: each crmd's latest DC event names it, and
	// only the DC's says self=true (earlier views may have had other DCs)
	for _, m := range ms {
		last := ""
		for _, line := range strings.Split(m.crmd.Output(), "\n") {
			if strings.Contains(line, "msg=DC ") {
				last = line
			}
		}
		want := fmt.Sprintf("dc=%s self=%v", dc, m.name == dc)
		if !strings.Contains(last, want) {
			t.Errorf("%s: last DC event %q, want %q", m.name, last, want)
		}
	}
	var replica *member
	for _, m := range ms {
		if m.name != dc {
			replica = m
			break
		}
	}
	t.Logf("DC %s; writing on %s", dc, replica.name)
	out, err := cibadmin(t, replica.socket(), "-C", "-o", "resources", "-X",
		`<primitive id="e2e-d1" class="ocf" provider="heartbeat" type="Dummy"/>`)
	if err != nil {
		t.Fatalf("cibadmin -C on %s: %v\n%s", replica.name, err, out)
	}
	// acknowledged means every member persisted it; read every replica
	for _, m := range ms {
		out, err := cibadmin(t, m.socket(), "-Q", "-A", "//primitive[@id='e2e-d1']")
		if err != nil || !strings.Contains(out, `id="e2e-d1"`) {
			t.Errorf("%s: cibadmin -Q: %v\n%s", m.name, err, out)
		}
	}
	// a second create is refused on every path (replica -> DC -> replica)
	if out, err := cibadmin(t, replica.socket(), "-C", "-o", "resources", "-X",
		`<primitive id="e2e-d1" class="ocf" provider="heartbeat" type="Dummy"/>`); err == nil {
		t.Errorf("second cibadmin -C succeeded:\n%s", out)
	}
	// the join wrote a node_state per member
	checkNodeStates(t, ms)

	// the DC dies: the survivors elect a new one, the write survives, and
	// a write made meanwhile reaches the old DC when it comes back
	var old *member
	var rest []*member
	for _, m := range ms {
		if m.name == dc {
			old = m
		} else {
			rest = append(rest, m)
		}
	}
	old.killStack()
	var dc2 string
	waitFor(t, 30*time.Second, "a new DC among the survivors", func() bool {
		dc2 = agreedDC(rest)
		return dc2 != "" && dc2 != dc
	})
	t.Logf("new DC %s", dc2)
	out, err = cibadmin(t, rest[0].socket(), "-C", "-o", "resources", "-X",
		`<primitive id="e2e-d2" class="ocf" provider="heartbeat" type="Dummy"/>`)
	if err != nil {
		t.Fatalf("cibadmin -C after failover: %v\n%s", err, out)
	}
	old.startStack()
	waitFor(t, 30*time.Second, "the old DC to rejoin and sync", func() bool {
		r := old.root()
		return r != nil && agreedDC(ms) != "" && r.FindElement("//primitive[@id='e2e-d1']") != nil &&
			r.FindElement("//primitive[@id='e2e-d2']") != nil
	})
	// A running DC keeps the role when a node joins; but membership may
	// install an intermediate view without it while the node rejoins
	// (seen: {old, third} for half a second), and then another DC is
	// right. So this is reported, not asserted.
	if got := agreedDC(ms); got != dc2 {
		t.Logf("DC after the old DC rejoined: %q (was %q; an intermediate view may have left it out)", got, dc2)
	}
}

// checkNodeStates checks that every member's CIB has an online
// node_state for every member.
func checkNodeStates(t *testing.T, ms []*member) {
	t.Helper()
	for _, m := range ms {
		r := m.root()
		if r == nil {
			t.Fatalf("%s: no CIB", m.name)
		}
		for _, o := range ms {
			ns := r.FindElement(fmt.Sprintf("status/node_state[@id='%s']", o.name))
			if ns == nil || ns.SelectAttrValue("crmd", "") != "online" {
				t.Errorf("%s: node_state of %s: %v", m.name, o.name, ns)
			}
		}
	}
}

// agreedDC returns the dc-uuid every member's CIB names, "" if they do not
// agree or name none.
func agreedDC(ms []*member) string {
	dc := ""
	for i, m := range ms {
		r := m.root()
		if r == nil {
			return ""
		}
		d := r.SelectAttrValue("dc-uuid", "")
		if d == "" || (i > 0 && d != dc) {
			return ""
		}
		dc = d
	}
	return dc
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCrmdRestartAlone: crmd alone is killed and restarted while
// messagingd and membershipd keep running (so membership hands it the same
// view number): first a replica's, then the DC's. Each time the cluster
// agrees on one DC again and a cibadmin write through the restarted node
// is on every node.
func TestCrmdRestartAlone(t *testing.T) {
	ms := startCluster(t, 3)
	dc := waitDC(t, ms, 30*time.Second)
	var replica, dcm *member
	for _, m := range ms {
		if m.name == dc {
			dcm = m
		} else if replica == nil {
			replica = m
		}
	}
	for i, m := range []*member{replica, dcm} {
		before := viewNumbers(m.crmd.Output())
		m.crmd.Kill()
		m.startCrmd()
		id := fmt.Sprintf("restart-%d", i)
		var out string
		var err error
		waitFor(t, 30*time.Second, "a write through "+m.name+"'s restarted crmd", func() bool {
			out, err = cibadmin(t, m.socket(), "-C", "-o", "resources", "-X",
				fmt.Sprintf(`<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy"/>`, id))
			return err == nil || strings.Contains(out, "exists")
		})
		for _, o := range ms {
			if out, err := cibadmin(t, o.socket(), "-Q", "-A", fmt.Sprintf("//primitive[@id='%s']", id)); err != nil || !strings.Contains(out, id) {
				t.Errorf("%s: %s missing after %s's crmd restarted: %v\n%s", o.name, id, m.name, err, out)
			}
		}
		var agreed string
		waitFor(t, 30*time.Second, "one DC after "+m.name+"'s crmd restarted", func() bool {
			agreed = agreedDC(ms)
			return agreed != ""
		})
		after := viewNumbers(m.crmd.Output())
		if len(before) == 0 || len(after) == 0 || after[0] != before[len(before)-1] {
			t.Errorf("%s: views before the restart %v, after %v: want the same view number again", m.name, before, after)
		}
		t.Logf("restarted %s's crmd (was DC: %v) in view %v; DC now %s", m.name, m == dcm, after, agreed)
	}
}

// viewNumbers returns the view numbers a crmd logged, in order.
func viewNumbers(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "msg=view ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "number="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
