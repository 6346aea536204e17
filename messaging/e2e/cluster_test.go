package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/internal/lab"
	"github.com/systole/systole/messaging/client"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

var daemonBin string

func TestMain(m *testing.M) {
	if lab.Available() == nil {
		dir, err := os.MkdirTemp("", "systole-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		daemonBin = filepath.Join(dir, "messagingd")
		out, err := exec.Command("go", "build", "-o", daemonBin, "github.com/systole/systole/cmd/messagingd").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build messagingd: %v\n%s", err, out)
			os.Exit(1)
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

// member is one messagingd in a lab namespace.
type member struct {
	name   string
	node   *lab.Node
	dir    string
	socket string
	proc   *lab.Process
	c      *client.Client
	extra  string // extra ha.cf lines (serial)
	media  string // media lines replacing "bcast eth0\nudpport 694\n"
	secret string
}

type cluster struct {
	t       *testing.T
	lab     *lab.Lab
	members []*member
	names   []string
}

// newCluster builds a lab of n namespaces and writes ha.cf/authkeys for
// node0..node(n-1); nothing runs yet.
func newCluster(t *testing.T, n int, opts ...lab.Option) *cluster {
	if len(opts) == 0 {
		opts = []lab.Option{lab.WithoutIPv6()}
	}
	l := lab.New(t, n, opts...)
	c := &cluster{t: t, lab: l}
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("node%d", i))
	}
	for i, nd := range l.Nodes {
		dir := filepath.Join(l.Dir(), c.names[i])
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		m := &member{name: c.names[i], node: nd, dir: dir, socket: filepath.Join(dir, "messaging.sock"), secret: "e2e-shared-secret"}
		cl, err := client.Dial(m.socket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		m.c = cl
		c.members = append(c.members, m)
	}
	return c
}

func (c *cluster) start(i int) {
	m := c.members[i]
	media := m.media
	if media == "" {
		media = "bcast eth0\nudpport 694\n"
	}
	cf := fmt.Sprintf("cluster e2e\nnode %s\n%skeepalive %dms\nwarntime 300ms\ndeadtime %dms\ninitdead 3\n%s",
		strings.Join(c.names, " "), media, keepalive.Milliseconds(), deadtime.Milliseconds(), m.extra)
	must(c.t, os.WriteFile(filepath.Join(m.dir, "ha.cf"), []byte(cf), 0o644))
	must(c.t, os.WriteFile(filepath.Join(m.dir, "authkeys"), []byte("auth 1\n1 sha256 "+m.secret+"\n"), 0o600))
	m.proc = m.node.Start(c.t, daemonBin, "--config", filepath.Join(m.dir, "ha.cf"), "--authkeys", filepath.Join(m.dir, "authkeys"),
		"--state-dir", filepath.Join(m.dir, "state"), "--socket", m.socket, "--node", m.name, "--log-level", "info",
		"--cpuprofile", os.Getenv("SYSTOLE_E2E_CPUPROFILE_"+m.name))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// peer returns m's view of node name, or nil while the daemon does not
// answer.
func (m *member) peer(name string) *messagingv1.Peer {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := m.c.Status(ctx)
	if err != nil {
		return nil
	}
	for _, p := range st.GetPeers() {
		if p.GetNode() == name {
			return p
		}
	}
	return nil
}

func (c *cluster) waitFor(what string, within time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) waitUp(obs []int, peers []int, within time.Duration) {
	c.t.Helper()
	for _, o := range obs {
		for _, p := range peers {
			if o == p {
				continue
			}
			m, name := c.members[o], c.names[p]
			c.waitFor(fmt.Sprintf("%s to see %s up", m.name, name), within, func() bool {
				return m.peer(name).GetState() == messagingv1.PeerState_PEER_STATE_UP
			})
		}
	}
}

func linkUp(p *messagingv1.Peer, prefix string) bool {
	for _, l := range p.GetLinks() {
		if strings.HasPrefix(l.GetMedium(), prefix) {
			return l.GetUp()
		}
	}
	return false
}

// watchDead starts a watcher on m and returns a channel that receives the
// daemon's timestamp of the first "name is dead" event.
func watchDead(t *testing.T, m *member, name string) <-chan time.Time {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := m.c.WatchPeers(ctx)
	must(t, err)
	// Drain the snapshot synchronously so the watch is registered.
	for range 10 {
		ev, err := w.Recv()
		must(t, err)
		if !ev.GetPeer().GetSnapshot() {
			break
		}
		if ev.GetPeer().GetPeer().GetNode() == name {
			break
		}
	}
	out := make(chan time.Time, 1)
	go func() {
		for {
			ev, err := w.Recv()
			if err != nil {
				return
			}
			if p := ev.GetPeer(); p != nil && p.GetPeer().GetNode() == name && p.GetPeer().GetState() == messagingv1.PeerState_PEER_STATE_DEAD {
				out <- time.UnixMilli(p.GetTimeUnixMs())
				return
			}
		}
	}()
	return out
}

// TestCluster runs the end-to-end checks on one lab: node0 and
// node1 also share a serial cable; node3 has the wrong key.
func TestCluster(t *testing.T) {
	c := newCluster(t, 4)
	ttyA, ttyB, _ := c.lab.PtyPair(t)
	c.members[0].extra = "serial " + ttyA + "\nbaud 115200\n"
	c.members[1].extra = "serial " + ttyB + "\nbaud 115200\n"
	c.members[3].secret = "not-the-cluster-secret"
	for i := range c.members {
		c.start(i)
	}
	c.waitUp([]int{0, 1, 2}, []int{0, 1, 2}, 10*time.Second)
	c.waitFor("serial link node0-node1 up", 5*time.Second, func() bool {
		return linkUp(c.members[0].peer("node1"), "serial") && linkUp(c.members[1].peer("node0"), "serial")
	})

	t.Run("status command", func(t *testing.T) {
		out, err := exec.Command(daemonBin, "status", "--socket", c.members[0].socket).CombinedOutput()
		must(t, err)
		for _, want := range []string{"node node0 cluster e2e", "peer node1 up", "bcast eth0=up", "serial "} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("status output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("wrong key never accepted", func(t *testing.T) {
		time.Sleep(3 * time.Second) // past initdead
		for i := range 3 {
			if st := c.members[i].peer("node3").GetState(); st == messagingv1.PeerState_PEER_STATE_UP {
				t.Fatalf("node%d accepted node3 with the wrong key", i)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			stats, err := c.members[i].c.Stats(ctx)
			cancel()
			must(t, err)
			if stats.GetBadAuth() == 0 {
				t.Fatalf("node%d counted no bad auth", i)
			}
		}
		for _, n := range []string{"node0", "node1", "node2"} {
			if c.members[3].peer(n).GetState() == messagingv1.PeerState_PEER_STATE_UP {
				t.Fatalf("node3 accepted %s", n)
			}
		}
	})

	t.Run("udp cut, serial keeps node alive", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sub, err := c.members[1].c.Subscribe(ctx, "serial-test")
		must(t, err)
		time.Sleep(100 * time.Millisecond)
		c.members[1].node.LinkDown(t)
		m0 := c.members[0]
		c.waitFor("node0 to report node1's bcast link down", 3*time.Second, func() bool {
			p := m0.peer("node1")
			return p != nil && !linkUp(p, "bcast")
		})
		c.waitFor("node2 to report node1 dead", 3*time.Second, func() bool {
			return c.members[2].peer("node1").GetState() == messagingv1.PeerState_PEER_STATE_DEAD
		})
		time.Sleep(3 * deadtime)
		p := m0.peer("node1")
		if p.GetState() != messagingv1.PeerState_PEER_STATE_UP || linkUp(p, "bcast") || !linkUp(p, "serial") {
			t.Fatalf("node0's view of node1: %v", p)
		}
		// Messages still flow, over the serial line.
		must(t, m0.c.Send(ctx, "node1", "serial-test", []byte("over the cable")))
		msg, err := sub.Recv()
		must(t, err)
		if string(msg.GetPayload()) != "over the cable" || msg.GetFrom() != "node0" {
			t.Fatalf("got %v", msg)
		}
		c.members[1].node.LinkUp(t)
		c.waitUp([]int{0, 1, 2}, []int{0, 1, 2}, 5*time.Second)
		c.waitFor("bcast link node0-node1 up again", 3*time.Second, func() bool { return linkUp(m0.peer("node1"), "bcast") })
	})

	t.Run("killed daemon reported dead within deadtime+keepalive", func(t *testing.T) {
		d0 := watchDead(t, c.members[0], "node2")
		d1 := watchDead(t, c.members[1], "node2")
		killed := time.Now()
		c.members[2].proc.Kill()
		for i, ch := range []<-chan time.Time{d0, d1} {
			select {
			case at := <-ch:
				d := at.Sub(killed)
				t.Logf("node%d reported node2 dead after %v", i, d)
				// The goal is deadtime+keepalive (the daemon's own timestamp
				// excludes the API's delivery delay); make bench-messaging
				// measures it over many kills. On a loaded shared machine a
				// single sample may be late, so the test fails only when
				// detection is grossly late, never on the goal itself.
				if d > deadtime+keepalive {
					t.Logf("node%d: %v is above the goal deadtime+keepalive=%v", i, d, deadtime+keepalive)
				}
				if d > 4*(deadtime+keepalive) {
					t.Errorf("node%d took %v > 4*(deadtime+keepalive)", i, d)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("node%d never reported node2 dead", i)
			}
		}
	})
}

// TestMedia runs two daemons whose only media are IPv4 multicast, IPv6
// multicast and IPv6 unicast, and checks that every link comes up and a
// message crosses.
func TestMedia(t *testing.T) {
	c := newCluster(t, 2, func(*lab.Config) {})
	for i, m := range c.members {
		peer := c.lab.Nodes[1-i].Addr6.Addr()
		m.media = fmt.Sprintf("udpport 700\nucast eth0 %s\nmcast eth0 239.192.0.43 701 1 0\nmcast eth0 ff02::4:3 702 1 0\n", peer)
	}
	for i := range c.members {
		c.start(i)
	}
	c.waitUp([]int{0, 1}, []int{0, 1}, 10*time.Second)
	c.waitFor("all three links up both ways", 5*time.Second, func() bool {
		for i, m := range c.members {
			p := m.peer(c.names[1-i])
			for _, medium := range []string{"ucast", "mcast eth0 239", "mcast eth0 ff02"} {
				if !linkUp(p, medium) {
					return false
				}
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.members[1].c.Subscribe(ctx, "media")
	must(t, err)
	big := bytes.Repeat([]byte("batched "), 1<<17) // 1 MiB: hundreds of packets per sendmmsg batch
	must(t, c.members[0].c.Send(ctx, "", "media", []byte("v4 and v6")))
	must(t, c.members[0].c.Send(ctx, "node1", "media", big))
	msg, err := sub.Recv()
	must(t, err)
	if string(msg.GetPayload()) != "v4 and v6" {
		t.Fatalf("got %v", msg)
	}
	msg, err = sub.Recv()
	must(t, err)
	if !bytes.Equal(msg.GetPayload(), big) {
		t.Fatalf("1 MiB message corrupted (%d bytes)", len(msg.GetPayload()))
	}
}
