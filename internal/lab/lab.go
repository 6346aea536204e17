// Package lab builds small network laboratories for end-to-end tests: a
// Linux bridge and N network namespaces attached to it by veth pairs, with
// documentation-range addresses (192.0.2.0/24 and fd00::/8), so that real
// daemons can talk real UDP to each other without touching the host's
// networks. It also runs processes inside a namespace, cuts and flaps
// links, loads nftables rules, and makes serial links out of socat
// pseudo-terminal pairs.
//
// Everything a Lab creates has a unique name and is removed in t.Cleanup,
// even when the test fails. New skips the test unless it runs as root.
// It needs iproute2 (ip), and for Nft and PtyPair nftables and socat.
//
// Typical use:
//
//	l := lab.New(t, 3)
//	p := l.Nodes[0].Start(t, "messagingd", "--config", cfg)
//	l.Nodes[1].LinkDown(t)
//	a, b := l.PtyPair(t)
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Lab is a bridge with network namespaces attached.
type Lab struct {
	// ID is the unique hex id embedded in every name the lab creates.
	ID string
	// Bridge is the bridge's interface name in the root namespace.
	Bridge string
	// Nodes are the namespaces, in order.
	Nodes []*Node
	dir   string
	ptys  []int
}

// Node is one network namespace of a Lab.
type Node struct {
	// Index is the node's position in Lab.Nodes.
	Index int
	// NS is the namespace name (for `ip netns exec`).
	NS string
	// HostVeth is the bridge-side end of the node's veth pair.
	HostVeth string
	// Iface is the interface name inside the namespace ("eth0").
	Iface string
	// Addr4 and Addr6 are the node's addresses on Iface.
	Addr4, Addr6 netip.Prefix
	lab          *Lab
}

// Option adjusts a Lab before it is built.
type Option func(*Config)

// Config is what Options adjust.
type Config struct {
	// NoIPv6 leaves the interfaces without IPv6 addresses.
	NoIPv6 bool
}

// WithoutIPv6 leaves the interfaces without IPv6 addresses.
func WithoutIPv6() Option { return func(c *Config) { c.NoIPv6 = true } }

// Available reports whether labs can be built here (root, ip present).
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("lab: iproute2 missing: %w", err)
	}
	return nil
}

// New builds a lab of n namespaces (n <= 200) or skips the test when not
// root. Node i gets 192.0.2.(10+i)/24 and fd00:<id>::(10+i)/64.
func New(t testing.TB, n int, opts ...Option) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	var c Config
	for _, o := range opts {
		o(&c)
	}
	var rb [3]byte
	if _, err := rand.Read(rb[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rb[:])
	l := &Lab{ID: id, Bridge: "sy" + id + "br", dir: t.TempDir()}
	t.Cleanup(l.destroy)
	must := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("lab: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	must("link", "add", l.Bridge, "type", "bridge")
	// No STP, no forwarding delay: ports forward at once.
	must("link", "set", l.Bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
	must("link", "set", l.Bridge, "up")
	for i := range n {
		nd := &Node{Index: i, NS: fmt.Sprintf("sy%s-%d", id, i), HostVeth: fmt.Sprintf("sy%sv%d", id, i), Iface: "eth0", lab: l,
			Addr4: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 24)}
		a6 := [16]byte{0xfd, 0x00, rb[0], rb[1], rb[2]}
		a6[15] = byte(10 + i)
		nd.Addr6 = netip.PrefixFrom(netip.AddrFrom16(a6), 64)
		l.Nodes = append(l.Nodes, nd)
		peer := fmt.Sprintf("sy%sp%d", id, i)
		must("netns", "add", nd.NS)
		must("link", "add", nd.HostVeth, "type", "veth", "peer", "name", peer)
		must("link", "set", peer, "netns", nd.NS)
		must("link", "set", nd.HostVeth, "master", l.Bridge)
		must("link", "set", nd.HostVeth, "up")
		must("-n", nd.NS, "link", "set", peer, "name", nd.Iface)
		must("-n", nd.NS, "link", "set", "lo", "up")
		must("-n", nd.NS, "addr", "add", nd.Addr4.String(), "brd", "+", "dev", nd.Iface)
		if !c.NoIPv6 {
			must("-n", nd.NS, "addr", "add", nd.Addr6.String(), "dev", nd.Iface, "nodad")
		}
		must("-n", nd.NS, "link", "set", nd.Iface, "up")
	}
	return l
}

func (l *Lab) destroy() {
	for _, nd := range l.Nodes {
		_ = exec.Command("ip", "netns", "del", nd.NS).Run()
		_ = exec.Command("ip", "link", "del", nd.HostVeth).Run() // gone with the namespace, normally
	}
	_ = exec.Command("ip", "link", "del", l.Bridge).Run()
}

// Dir returns a scratch directory removed with the test.
func (l *Lab) Dir() string { return l.dir }

// Command returns a command that runs name inside the node's namespace.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.NS, name}, args...)...)
}

// Run runs a command in the namespace and returns its combined output.
func (n *Node) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab: %s: %s %s: %w: %s", n.NS, name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Process is a process started in a namespace.
type Process struct {
	// Cmd is the running command; Cmd.Process.Pid is the process itself
	// (ip netns exec execs it).
	Cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
	err  error
}

type lockedWriter struct{ p *Process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// Start starts name in the namespace with stdout and stderr captured; the
// process is killed in t.Cleanup, and its output is logged if the test
// failed.
func (n *Node) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: n.Command(context.Background(), name, args...), done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("lab: start %s in %s: %v", name, n.NS, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s in %s:\n%s", name, n.NS, tail(p.Output(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Output returns what the process wrote so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill sends SIGKILL to the process group and waits for the process.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout, then kills.
func (p *Process) Stop(timeout time.Duration) error {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("lab: process %d did not stop in %v", p.Cmd.Process.Pid, timeout)
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// LinkDown cuts the node off the bridge (the host end of its veth goes
// down, so the namespace side loses carrier).
func (n *Node) LinkDown(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", n.HostVeth, "down").CombinedOutput(); err != nil {
		t.Fatalf("lab: link down %s: %v: %s", n.HostVeth, err, out)
	}
}

// LinkUp reconnects the node to the bridge.
func (n *Node) LinkUp(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", n.HostVeth, "up").CombinedOutput(); err != nil {
		t.Fatalf("lab: link up %s: %v: %s", n.HostVeth, err, out)
	}
}

// Flap takes the link down for d, then up again (blocking).
func (n *Node) Flap(t testing.TB, d time.Duration) {
	t.Helper()
	n.LinkDown(t)
	time.Sleep(d)
	n.LinkUp(t)
}

// Nft loads an nftables ruleset (nft -f syntax) inside the namespace.
// Tables are per namespace, so they vanish with the lab.
func (n *Node) Nft(t testing.TB, ruleset string) {
	t.Helper()
	cmd := n.Command(context.Background(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab: nft in %s: %v: %s", n.NS, err, out)
	}
}

// PtyPair starts socat joining two pseudo-terminals and returns their
// paths (stable symlinks in the lab directory). Pseudo-terminals are not
// bound to network namespaces, so each end can be opened from any node:
// a null-modem cable between two nodes. socat is killed in t.Cleanup;
// killing the returned process earlier severs the cable.
func (l *Lab) PtyPair(t testing.TB) (a, b string, cable *Process) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("lab: socat missing")
	}
	k := len(l.ptys)
	l.ptys = append(l.ptys, k)
	a = filepath.Join(l.dir, fmt.Sprintf("tty%da", k))
	b = filepath.Join(l.dir, fmt.Sprintf("tty%db", k))
	p := &Process{Cmd: exec.Command("socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b), done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("lab: socat: %v", err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ea := os.Stat(a)
		_, eb := os.Stat(b)
		if ea == nil && eb == nil {
			return a, b, p
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab: socat ptys did not appear: %s", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
