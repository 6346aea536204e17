package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bareCluster builds the network of an n-node namespace cluster (bridge,
// namespaces, veths) without starting any node; removed at cleanup.
func bareCluster(t *testing.T, n int) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if err := Available(); err != nil {
		t.Skip(err)
	}
	var rb [3]byte
	rand.Read(rb[:])
	dir := t.TempDir()
	c := &Cluster{ID: hex.EncodeToString(rb[:]), Dir: dir, BinDir: dir, Port: 694, LogLevel: "info"}
	for i := range n {
		c.Nodes = append(c.Nodes, &ClusterNode{Name: fmt.Sprintf("node%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("node%d", i+1)),
			Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), NS: fmt.Sprintf("sy%s-%d", c.ID, i), HostVeth: fmt.Sprintf("sy%sv%d", c.ID, i)})
	}
	c.Bridge = "sy" + c.ID + "br"
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Down() })
	if err := c.buildNetwork(); err != nil {
		t.Fatal(err)
	}
	return c
}

// listenIn opens a UDP socket on port in namespace ns.
func listenIn(t *testing.T, ns string, port int) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	if err := inNamespace(ns, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// reaches sends datagrams from namespace ns to dst and reports whether
// the listener got one.
func reaches(t *testing.T, from *net.UDPConn, dst netip.Addr, to *net.UDPConn) bool {
	t.Helper()
	msg := []byte(fmt.Sprint("probe ", time.Now().UnixNano()))
	for range 3 {
		_, _ = from.WriteToUDP(msg, &net.UDPAddr{IP: dst.AsSlice(), Port: to.LocalAddr().(*net.UDPAddr).Port})
		buf := make([]byte, 100)
		to.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		for {
			k, _, err := to.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if string(buf[:k]) == string(msg) {
				return true
			}
		}
	}
	return false
}

// TestPartitionFenceARP: Partition cuts only the pair (unicast both ways,
// broadcasts on arrival), a watcher and the third node still reach both;
// WatchARP sees an address held twice; Fence downs the link and kills the
// namespace's processes.
func TestPartitionFenceARP(t *testing.T) {
	c := bareCluster(t, 3)
	w, err := c.AddWatcher(netip.MustParseAddr("192.0.2.250"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Remove() })
	const port = 39001
	var socks []*net.UDPConn
	for _, nd := range c.Nodes {
		socks = append(socks, listenIn(t, nd.NS, port))
	}
	ws := listenIn(t, w.NS, port)
	bcast := netip.MustParseAddr("192.0.2.255")
	for _, s := range socks {
		if err := setBroadcast(s); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, from, to int, dst netip.Addr, want bool) {
		t.Helper()
		var src, d *net.UDPConn = ws, ws
		if from >= 0 {
			src = socks[from]
		}
		if to >= 0 {
			d = socks[to]
		}
		if got := reaches(t, src, dst, d); got != want {
			t.Errorf("%s: reached %v, want %v", what, got, want)
		}
	}
	a := func(i int) netip.Addr { return c.Nodes[i].Addr }
	check("1->2 before", 0, 1, a(1), true)
	if err := c.Partition(0, 1); err != nil {
		t.Fatal(err)
	}
	check("1->2 cut", 0, 1, a(1), false)
	check("2->1 cut", 1, 0, a(0), false)
	check("1->3", 0, 2, a(2), true)
	check("3->2", 2, 1, a(1), true)
	check("watcher->1", -1, 0, a(0), true)
	check("watcher->2", -1, 1, a(1), true)
	check("1->watcher", 0, -1, w.Addr, true)
	check("broadcast 1->2", 0, 1, bcast, false)
	check("broadcast 1->3", 0, 2, bcast, true)
	if err := c.HealPartition(0, 1); err != nil {
		t.Fatal(err)
	}
	check("1->2 healed", 0, 1, a(1), true)

	// an address held by two nodes shows as two MACs per probe
	vip := netip.MustParseAddr("192.0.2.100")
	aw, err := w.WatchARP(vip, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer aw.Close()
	for _, i := range []int{0, 1} {
		if err := ipCmd("-n", c.Nodes[i].NS, "addr", "add", vip.String()+"/24", "dev", "eth0"); err != nil {
			t.Fatal(err)
		}
	}
	macs := func() int {
		time.Sleep(300 * time.Millisecond)
		s := aw.Samples()
		most := 0
		for _, x := range s[len(s)-10 : len(s)-1] {
			most = max(most, len(x.MACs))
		}
		return most
	}
	if n := macs(); n != 2 {
		t.Errorf("VIP on two nodes: %d MACs answer a probe, want 2", n)
	}
	if err := ipCmd("-n", c.Nodes[1].NS, "addr", "del", vip.String()+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if n := macs(); n != 1 {
		t.Errorf("VIP on one node: %d MACs answer a probe, want 1", n)
	}

	// Fence: the link goes down, the namespace's processes die
	sleeper := exec.Command("ip", "netns", "exec", c.Nodes[0].NS, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	if err := c.Fence(0); err != nil {
		t.Fatal(err)
	}
	t.Logf("Fence took %v", time.Since(t0))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("a process of the fenced node survived")
		sleeper.Process.Kill()
	}
	out, _ := exec.Command("ip", "-n", c.Nodes[0].NS, "link", "show", "eth0").CombinedOutput()
	if !strings.Contains(string(out), "state DOWN") {
		t.Errorf("the fenced node's eth0 is up: %s", out)
	}
	if n := macs(); n != 0 {
		t.Errorf("the fenced node still answers for its addresses")
	}
}

// setBroadcast allows sending to the broadcast address.
func setBroadcast(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) })
	if err != nil {
		return err
	}
	return serr
}

// FuzzParseReply: any frame is parsed without panicking; only a reply
// from the target to the source is accepted.
func FuzzParseReply(f *testing.F) {
	src, target := netip.MustParseAddr("192.0.2.250"), netip.MustParseAddr("192.0.2.100")
	p := &ARPWatch{mac: net.HardwareAddr{2, 0, 0, 0, 0, 1}, src: src, target: target}
	req := p.request()
	f.Add(req)
	reply := append([]byte(nil), req...)
	reply[21] = 2                        // op reply
	copy(reply[28:32], target.AsSlice()) // spa
	copy(reply[38:42], src.AsSlice())    // tpa
	f.Add(reply)
	f.Fuzz(func(t *testing.T, b []byte) {
		mac := parseReply(b, src, target)
		if mac != "" && (len(b) < 42 || b[21] != 2) {
			t.Errorf("accepted %x as a reply", b)
		}
	})
}

func TestParseReply(t *testing.T) {
	src, target := netip.MustParseAddr("192.0.2.250"), netip.MustParseAddr("192.0.2.100")
	p := &ARPWatch{mac: net.HardwareAddr{2, 0, 0, 0, 0, 1}, src: src, target: target}
	req := p.request()
	if m := parseReply(req, src, target); m != "" {
		t.Errorf("a request parsed as a reply from %s", m)
	}
	reply := append([]byte(nil), req...)
	reply[21] = 2
	copy(reply[22:28], []byte{2, 0, 0, 0, 0, 9})
	copy(reply[28:32], target.AsSlice())
	copy(reply[38:42], src.AsSlice())
	if m := parseReply(reply, src, target); m != "02:00:00:00:00:09" {
		t.Errorf("reply parsed as %q", m)
	}
	copy(reply[38:42], target.AsSlice()) // gratuitous: to the VIP itself
	if m := parseReply(reply, src, target); m != "" {
		t.Errorf("a gratuitous ARP parsed as an answer from %s", m)
	}
}
