package lab

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// udpReaches sends a datagram from a to b with socat and reports whether
// it arrived.
func udpReaches(t *testing.T, a, b *Node) bool {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat missing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	recv := b.Command(ctx, "socat", "-u", "UDP-RECV:9999", "STDOUT")
	var out strings.Builder
	recv.Stdout = &out
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // socat binds (slow on a loaded machine)
	for range 8 {
		send := a.Command(context.Background(), "socat", "-u", "STDIN", "UDP-SENDTO:"+b.Addr4.Addr().String()+":9999")
		send.Stdin = strings.NewReader("probe\n")
		_ = send.Run()
		time.Sleep(50 * time.Millisecond)
	}
	_ = recv.Wait()
	return strings.Contains(out.String(), "probe")
}

func TestLab(t *testing.T) {
	l := New(t, 2)
	a, b := l.Nodes[0], l.Nodes[1]
	if !udpReaches(t, a, b) {
		t.Fatal("no UDP between namespaces")
	}
	b.LinkDown(t)
	if udpReaches(t, a, b) {
		t.Fatal("UDP through a cut link")
	}
	b.LinkUp(t)
	time.Sleep(100 * time.Millisecond)
	if !udpReaches(t, a, b) {
		t.Fatal("no UDP after link up")
	}
	b.Nft(t, "table inet labtest { chain in { type filter hook input priority 0; udp dport 9999 drop; }; }")
	if udpReaches(t, a, b) {
		t.Fatal("nft rule not applied")
	}
	p := a.Start(t, "sh", "-c", "ip -o addr show eth0; sleep 60")
	time.Sleep(200 * time.Millisecond)
	if !strings.Contains(p.Output(), "192.0.2.10") {
		t.Fatalf("process output %q", p.Output())
	}
	p.Kill()
	x, y, _ := l.PtyPair(t)
	if x == "" || y == "" {
		t.Fatal("no ptys")
	}
}
