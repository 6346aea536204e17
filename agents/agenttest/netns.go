package agenttest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NetNS is a network namespace a test created, with a veth pair whose
// both ends live inside it (so nothing it sends leaves the namespace):
// Dev carries 192.0.2.1/24 and fd00:5157::1/64, Peer is up and empty.
type NetNS struct {
	Name string
	Dev  string
	Peer string
}

// NeedRoot skips the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}

// NewNetNS creates a namespace, removed in t.Cleanup even on failure.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	NeedRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 not installed")
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	n := &NetNS{Name: "systole-lrm-" + id, Dev: "slrm" + id + "a", Peer: "slrm" + id + "b"}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", n.Name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Name).Run() })
	run("-n", n.Name, "link", "set", "lo", "up")
	run("-n", n.Name, "link", "add", n.Dev, "type", "veth", "peer", "name", n.Peer)
	run("-n", n.Name, "link", "set", n.Dev, "up")
	run("-n", n.Name, "link", "set", n.Peer, "up")
	run("-n", n.Name, "addr", "add", "192.0.2.1/24", "dev", n.Dev)
	run("-n", n.Name, "addr", "add", "fd00:5157::1/64", "dev", n.Dev, "nodad")
	return n
}

// Command returns a command that runs inside the namespace.
func (n *NetNS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Addrs returns `ip -o addr show` of the namespace.
func (n *NetNS) Addrs(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", n.Name, "-o", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr: %v\n%s", err, out)
	}
	return string(out)
}
