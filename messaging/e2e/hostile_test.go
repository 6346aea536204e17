package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/systole/systole/internal/lab"
	"github.com/systole/systole/membership/client"
	mclient "github.com/systole/systole/messaging/client"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// TestHostileTraffic runs a 3-node cluster (messagingd and membershipd on
// each, in network namespaces) and attacks it from a fourth namespace that
// is not a member: packets signed with a wrong key, forged node names,
// unknown key ids, a foreign cluster name, captured packets replayed from
// the wrong address (recent ones, and ones older than the anti-replay
// window), truncated and oversized packets, and garbage. Every kind must be
// dropped and counted under its reason in messagingd's GetStats, no daemon
// may crash, the membership view must not change, no node may appear, and
// cluster messages must keep flowing.
//
// The attacker captures real traffic with a UDP socket on the cluster port
// in its own namespace (broadcast reaches it like any host on the LAN) and
// sends each member, by unicast, only packets that claim another node as
// their source, so that the expected count of every reason is exact.
func TestHostileTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; -short runs unit tests only")
	}
	start := time.Now()
	memdBin := make(chan error, 1)
	memd := filepath.Join(t.TempDir(), "membershipd")
	go func() { memdBin <- buildMembershipd(memd) }() // while the lab is built
	l := lab.New(t, 4, lab.WithoutIPv6())
	names := []string{"node0", "node1", "node2"}
	const secret = "e2e-hostile-secret"
	cf := fmt.Sprintf("cluster e2e\nnode %s\nbcast eth0\nudpport 694\nkeepalive 100ms\nwarntime 300ms\ndeadtime 500ms\ninitdead 1\n",
		strings.Join(names, " "))
	type node struct {
		name       string
		addr       netip.Addr
		msgd, memd *lab.Process
		mc         *mclient.Client
		vc         *client.Client
	}
	var nodes []*node
	for i, name := range names {
		dir := filepath.Join(l.Dir(), name)
		must(t, os.MkdirAll(dir, 0o700))
		must(t, os.WriteFile(filepath.Join(dir, "ha.cf"), []byte(cf), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "authkeys"), []byte("auth 1\n1 sha256 "+secret+"\n"), 0o600))
		nd := &node{name: name, addr: l.Nodes[i].Addr4.Addr()}
		if i == 0 {
			if err := <-memdBin; err != nil {
				t.Fatal(err)
			}
		}
		nd.msgd = l.Nodes[i].Start(t, daemonBin, "--config", filepath.Join(dir, "ha.cf"), "--authkeys", filepath.Join(dir, "authkeys"),
			"--state-dir", filepath.Join(dir, "messaging-state"), "--socket", filepath.Join(dir, "messaging.sock"),
			"--node", name, "--log-level", "warn")
		nd.memd = l.Nodes[i].Start(t, memd, "--config", filepath.Join(dir, "ha.cf"), "--run-dir", dir,
			"--state-dir", filepath.Join(dir, "membership-state"), "--node", name, "--log-level", "warn")
		var err error
		nd.mc, err = mclient.Dial(filepath.Join(dir, "messaging.sock"))
		must(t, err)
		t.Cleanup(func() { nd.mc.Close() })
		nd.vc, err = client.Dial(filepath.Join(dir, "membership.sock"))
		must(t, err)
		t.Cleanup(func() { nd.vc.Close() })
		nodes = append(nodes, nd)
	}

	// The attacker: a UDP socket on the cluster port in namespace 3.
	conn := attackerSocket(t, l.Nodes[3].NS)
	t.Cleanup(func() { conn.Close() })
	capt := &capture{bySrc: map[string][][]byte{}}
	go capt.run(conn)

	// One 3-node view with quorum on every member.
	view := func(nd *node) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		v, _, err := nd.vc.View(ctx)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%d/%s %v quorum=%v", v.GetNumber(), v.GetCoordinator(), v.GetMembers(), v.GetQuorum())
	}
	var want string
	deadline := time.Now().Add(15 * time.Second)
	for {
		v0 := view(nodes[0])
		same := strings.HasSuffix(v0, " [node0 node1 node2] quorum=true")
		for _, nd := range nodes[1:] {
			same = same && view(nd) == v0
		}
		if same {
			want = v0
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no common 3-node view: %s / %s / %s", view(nodes[0]), view(nodes[1]), view(nodes[2]))
		}
		time.Sleep(50 * time.Millisecond)
	}
	phase := func(what string) { t.Logf("%s at +%v", what, time.Since(start).Round(time.Millisecond)) }
	phase("view of 3 formed")
	t.Logf("view before the attack: %s", want)

	// Capture 10 packets of every member (heartbeats, membership messages)
	// sent once all were up: a packet sent before a receiver started is
	// new to it, and a replay of it is indistinguishable from a late copy.
	skip := capt.counts()
	deadline = time.Now().Add(5 * time.Second)
	for !capt.has(names, skip, 10) {
		if time.Now().After(deadline) {
			t.Fatalf("captured too little: %v", capt.counts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	early := capt.snapshot(skip)

	stats := func(nd *node) *messagingv1.GetStatsResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := nd.mc.Stats(ctx)
		if err != nil {
			t.Fatalf("%s: GetStats: %v", nd.name, err)
		}
		return st
	}
	base := make([]*messagingv1.GetStatsResponse, len(nodes))
	for i, nd := range nodes {
		base[i] = stats(nd)
	}

	// Build the attack for each member from the other members' packets.
	rng := rand.New(rand.NewPCG(11, 12))
	wrongKey := []byte("not-the-cluster-secret")
	type expect struct{ badAuth, unknownKey, foreign, truncated, malformed, duplicates uint64 }
	exp := make([]expect, len(nodes))
	kinds := map[string]int{}
	send := func(i int, kind string, pkt []byte) {
		if _, err := conn.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(nodes[i].addr, 694)); err != nil {
			t.Fatalf("send %s to %s: %v", kind, nodes[i].name, err)
		}
		kinds[kind]++
		time.Sleep(200 * time.Microsecond) // a flood is not the point: every packet must reach the daemon
	}
	for i, nd := range nodes {
		var others []string
		for _, n := range names {
			if n != nd.name {
				others = append(others, n)
			}
		}
		for k, src := range others {
			for j, pkt := range early[src][:10] {
				h, ok := splitPacket(pkt)
				if !ok {
					t.Fatalf("captured packet from %s does not parse", src)
				}
				// Signed with a wrong key.
				send(i, "wrong key", h.build(h.src, h.keyID, h.cluster, wrongKey))
				exp[i].badAuth++
				// Forged source: the other member (or a node that does not
				// exist), with a wrong key, and with the genuine HMAC of
				// the original bytes.
				forged := others[1-k]
				if j%2 == 1 {
					forged = "intruder"
				}
				send(i, "forged name", h.build(forged, h.keyID, h.cluster, wrongKey))
				send(i, "forged name", h.resign(forged))
				exp[i].badAuth += 2
				// Unknown key id, foreign cluster.
				send(i, "unknown key", h.build(h.src, 7, h.cluster, wrongKey))
				exp[i].unknownKey++
				send(i, "foreign cluster", h.build(h.src, h.keyID, "elsewhere", wrongKey))
				exp[i].foreign++
				// Truncated anywhere: in the header, before the MAC, in the MAC.
				for _, cut := range []int{0, 1, 2, 3, 10, h.hdrLen - 1, h.hdrLen, h.hdrLen + 5, len(pkt) - sha256.Size - 1, len(pkt) - 1} {
					if cut < 0 || cut >= len(pkt) {
						continue
					}
					send(i, "truncated", pkt[:cut])
					if cut < h.hdrLen+sha256.Size {
						exp[i].truncated++
					} else {
						exp[i].badAuth++ // what remains is signed wrongly
					}
				}
				// Oversized: a real packet padded to 9000 and to 65000 bytes,
				// and 65507 bytes of garbage (the largest UDP datagram).
				for _, size := range []int{9000, 65000} {
					big := append(append([]byte(nil), pkt...), make([]byte, size-len(pkt))...)
					send(i, "oversized", big)
					exp[i].badAuth++
				}
				junk := make([]byte, 65507)
				fill(rng, junk)
				junk[0] = 'X'
				send(i, "oversized", junk)
				exp[i].malformed++
				// Garbage: random bytes, and random bytes behind a valid
				// magic and version.
				g := make([]byte, 3+rng.IntN(1400))
				fill(rng, g)
				g[0] = 'x'
				send(i, "garbage", g)
				exp[i].malformed++
				g2 := append(append([]byte(nil), pkt[:3]...), g...)
				send(i, "garbage", g2)
				// Its reason depends on the random bytes (malformed type or
				// flags, truncated strings, foreign cluster...): counted
				// below as "some reason".
				// Replayed verbatim from the attacker's address: the
				// members saw it already.
				send(i, "replay", pkt)
				exp[i].duplicates++
			}
		}
	}
	// The garbage behind a valid magic: one per packet above.
	garbageMagic := uint64(2 * 10)

	phase("attack sent")
	// Cluster traffic keeps flowing: every member sends 1100 messages to
	// all. This also moves every sender more than the 1024-packet
	// anti-replay window past the captured packets.
	const burst = 1100
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var subs []*mclient.Subscription
	for _, nd := range nodes {
		s, err := nd.mc.Subscribe(ctx, "hostile")
		must(t, err)
		subs = append(subs, s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(nodes))
	for _, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < burst; k++ {
				for {
					err := nd.mc.Send(ctx, "", "hostile", []byte(fmt.Sprintf("%s %d", nd.name, k)))
					if err == nil {
						break
					}
					if ctx.Err() != nil || !strings.Contains(err.Error(), "ResourceExhausted") {
						errs <- fmt.Errorf("%s: send %d: %w", nd.name, k, err)
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := map[string]int{}
			for got := 0; got < burst*len(nodes); got++ {
				m, err := s.Recv()
				if err != nil {
					errs <- fmt.Errorf("%s: receive after %d messages (%v): %w", names[i], got, next, err)
					return
				}
				want := fmt.Sprintf("%s %d", m.GetFrom(), next[m.GetFrom()])
				if string(m.GetPayload()) != want {
					errs <- fmt.Errorf("%s: got %q, want %q", names[i], m.GetPayload(), want)
					return
				}
				next[m.GetFrom()]++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	phase("messages delivered")
	// Old packets, replayed: older than the anti-replay window now.
	for i, nd := range nodes {
		for _, src := range names {
			if src == nd.name {
				continue
			}
			for _, pkt := range early[src][:10] {
				send(i, "old replay", pkt)
			}
		}
	}
	// Every kind dropped and counted, under its reason. The daemons may
	// still be reading the last packets: poll until the counts are
	// complete (or 5 s passed), then judge.
	check := func(i int) []string {
		b, a := base[i], stats(nodes[i])
		d := func(f func(*messagingv1.GetStatsResponse) uint64) uint64 { return f(a) - f(b) }
		got := expect{
			badAuth:    d((*messagingv1.GetStatsResponse).GetBadAuth),
			unknownKey: d((*messagingv1.GetStatsResponse).GetUnknownKey),
			foreign:    d((*messagingv1.GetStatsResponse).GetForeignCluster),
			truncated:  d((*messagingv1.GetStatsResponse).GetTruncated),
			malformed:  d((*messagingv1.GetStatsResponse).GetMalformed),
			duplicates: d((*messagingv1.GetStatsResponse).GetDuplicates),
		}
		replays := d((*messagingv1.GetStatsResponse).GetReplays)
		unknownNode := d((*messagingv1.GetStatsResponse).GetUnknownNode)
		var bad []string
		// The garbage behind a valid magic lands in one of the decode
		// reasons; everything else is exact.
		extra := got.badAuth + got.unknownKey + got.foreign + got.truncated + got.malformed -
			(exp[i].badAuth + exp[i].unknownKey + exp[i].foreign + exp[i].truncated + exp[i].malformed)
		if extra != garbageMagic || got.badAuth < exp[i].badAuth || got.unknownKey < exp[i].unknownKey || got.foreign < exp[i].foreign ||
			got.truncated < exp[i].truncated || got.malformed < exp[i].malformed {
			bad = append(bad, fmt.Sprintf("counted %+v, want %+v plus %d garbage packets under some reason", got, exp[i], garbageMagic))
		}
		if got.duplicates < exp[i].duplicates {
			bad = append(bad, fmt.Sprintf("%d duplicates counted, want at least the %d replayed recent packets", got.duplicates, exp[i].duplicates))
		}
		if replays != 20 {
			bad = append(bad, fmt.Sprintf("%d replays counted, want the 20 old packets", replays))
		}
		if unknownNode != 0 {
			bad = append(bad, fmt.Sprintf("%d packets from unknown nodes passed authentication", unknownNode))
		}
		if len(bad) == 0 {
			t.Logf("%s: bad_auth=%d unknown_key=%d foreign_cluster=%d truncated=%d malformed=%d duplicates=%d replays=%d unknown_node=%d",
				nodes[i].name, got.badAuth, got.unknownKey, got.foreign, got.truncated, got.malformed, got.duplicates, replays, unknownNode)
		}
		return bad
	}
	deadline = time.Now().Add(5 * time.Second)
	for i, nd := range nodes {
		for {
			bad := check(i)
			if len(bad) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %s", nd.name, strings.Join(bad, "; "))
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("hostile packets sent to the three members: %v", kinds)

	// No crash, no new peer, no membership change.
	for _, nd := range nodes {
		for _, p := range []*lab.Process{nd.msgd, nd.memd} {
			select {
			case <-p.Done():
				t.Errorf("%s: a daemon exited: %s", nd.name, p.Output())
			default:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := nd.mc.Status(ctx)
		cancel()
		must(t, err)
		var peers []string
		for _, p := range st.GetPeers() {
			peers = append(peers, p.GetNode()+"="+strings.TrimPrefix(p.GetState().String(), "PEER_STATE_"))
		}
		if len(peers) != 2 || strings.Count(strings.Join(peers, " "), "=UP") != 2 {
			t.Errorf("%s: peers %v, want the two other members up", nd.name, peers)
		}
		if v := view(nd); v != want {
			t.Errorf("%s: view %s after the attack, want %s (unchanged)", nd.name, v, want)
		}
	}
	if t.Failed() {
		return
	}

	phase("counters checked")
	// Replays must not keep a dead node alive: node2 dies while the
	// attacker replays its latest packets to the others every 20 ms; they
	// must still declare it dead and install a view without it.
	recent := capt.snapshot(nil)["node2"]
	recent = recent[max(0, len(recent)-20):]
	nodes[2].msgd.Kill()
	nodes[2].memd.Kill()
	killed := time.Now()
	stop := make(chan struct{})
	replayed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { replayed <- n }()
		for {
			for _, pkt := range recent {
				for _, nd := range nodes[:2] {
					if _, err := conn.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(nd.addr, 694)); err == nil {
						n++
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	deadline = time.Now().Add(10 * time.Second)
	for {
		v0, v1 := view(nodes[0]), view(nodes[1])
		if v0 == v1 && strings.HasSuffix(v0, " [node0 node1] quorum=true") {
			t.Logf("node2 killed under replay: 2-node view %s after %v", v0, time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			t.Fatalf("node2 killed while its packets are replayed: still %s / %s after %v", v0, v1, time.Since(killed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	t.Logf("%d replayed packets of the dead node2", <-replayed)
	for _, nd := range nodes[:2] {
		if p := peerState(t, nd.mc, "node2"); p != messagingv1.PeerState_PEER_STATE_DEAD {
			t.Errorf("%s: node2 is %v under replay, want dead", nd.name, p)
		}
	}
}

// peerState returns c's state of peer name.
func peerState(t *testing.T, c *mclient.Client, name string) messagingv1.PeerState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	must(t, err)
	for _, p := range st.GetPeers() {
		if p.GetNode() == name {
			return p.GetState()
		}
	}
	return messagingv1.PeerState_PEER_STATE_UNSPECIFIED
}

// buildMembershipd builds cmd/membershipd as bin.
func buildMembershipd(bin string) error {
	out, err := exec.Command("go", "build", "-o", bin, "github.com/systole/systole/cmd/membershipd").CombinedOutput()
	if err != nil {
		return fmt.Errorf("build membershipd: %v\n%s", err, out)
	}
	return nil
}

// attackerSocket opens a UDP socket on port 694 (broadcast allowed) inside
// the network namespace ns.
func attackerSocket(t *testing.T, ns string) *net.UDPConn {
	t.Helper()
	type result struct {
		c   *net.UDPConn
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with this goroutine: never back to the root namespace
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			res <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		pc, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:694")
		if err != nil {
			res <- result{err: err}
			return
		}
		res <- result{c: pc.(*net.UDPConn)}
	}()
	r := <-res
	if r.err != nil {
		t.Fatalf("attacker socket: %v", r.err)
	}
	return r.c
}

// capture records the packets the attacker hears, by claimed source.
type capture struct {
	mu    sync.Mutex
	bySrc map[string][][]byte
}

func (c *capture) run(conn *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		h, ok := splitPacket(buf[:n])
		if !ok {
			continue
		}
		c.mu.Lock()
		c.bySrc[h.src] = append(c.bySrc[h.src], append([]byte(nil), buf[:n]...))
		c.mu.Unlock()
	}
}

// has reports whether n packets of every name were captured after the
// first skip[name].
func (c *capture) has(names []string, skip map[string]int, n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range names {
		if len(c.bySrc[name]) < skip[name]+n {
			return false
		}
	}
	return true
}

func (c *capture) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.bySrc {
		m[k] = len(v)
	}
	return m
}

// snapshot returns the packets captured so far after the first skip[src]
// of each source.
func (c *capture) snapshot(skip map[string]int) map[string][][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string][][]byte{}
	for k, v := range c.bySrc {
		m[k] = append([][]byte(nil), v[skip[k]:]...)
	}
	return m
}

// wire is a captured packet taken apart along the header layout in
// docs/messaging.md: 'S' 'Y' version type flags keyid gen:8 pktno:8
// nextseq:8 len cluster len src, body, HMAC-SHA256 trailer.
type wire struct {
	fixed   []byte // magic .. nextseq
	keyID   byte
	cluster string
	src     string
	body    []byte
	mac     []byte
	hdrLen  int
}

const fixedLen = 2 + 1 + 1 + 1 + 1 + 8 + 8 + 8

func splitPacket(b []byte) (wire, bool) {
	if len(b) < fixedLen+1 || b[0] != 'S' || b[1] != 'Y' {
		return wire{}, false
	}
	i := fixedLen
	cl := int(b[i])
	if len(b) < i+1+cl+1 {
		return wire{}, false
	}
	cluster := string(b[i+1 : i+1+cl])
	i += 1 + cl
	sl := int(b[i])
	if len(b) < i+1+sl+sha256.Size {
		return wire{}, false
	}
	src := string(b[i+1 : i+1+sl])
	i += 1 + sl
	return wire{fixed: b[:fixedLen], keyID: b[5], cluster: cluster, src: src, body: b[i : len(b)-sha256.Size], mac: b[len(b)-sha256.Size:], hdrLen: i}, true
}

// build re-encodes the packet with another source, key id and cluster,
// signed with key.
func (w wire) build(src string, keyID byte, cluster string, key []byte) []byte {
	b := append([]byte(nil), w.fixed...)
	b[5] = keyID
	b = append(b, byte(len(cluster)))
	b = append(b, cluster...)
	b = append(b, byte(len(src)))
	b = append(b, src...)
	b = append(b, w.body...)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b)
}

// resign re-encodes the packet with another source but keeps the genuine
// HMAC of the original bytes.
func (w wire) resign(src string) []byte {
	b := w.build(src, w.keyID, w.cluster, nil)
	return append(b[:len(b)-sha256.Size], w.mac...)
}

func fill(rng *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
}
