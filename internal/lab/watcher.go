package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Watcher is a network namespace on the cluster's bridge that runs no node:
// a client's point of view, from which a test probes the addresses the
// cluster manages (a virtual IP). Namespace mode only.
type Watcher struct {
	// NS is the namespace, HostVeth the bridge end of its veth.
	NS, HostVeth string
	// Addr is its address in the lab's subnet.
	Addr netip.Addr
}

// AddWatcher makes a watcher namespace sy<ID>-w with address addr (in
// 192.0.2.0/24, not a node's) on the cluster's bridge. Remove it with
// Watcher.Remove (Cluster.Down does not know it).
func (c *Cluster) AddWatcher(addr netip.Addr) (*Watcher, error) {
	if c.Loopback {
		return nil, ErrNeedsNamespaces
	}
	w := &Watcher{NS: "sy" + c.ID + "-w", HostVeth: "sy" + c.ID + "vw", Addr: addr}
	peer := "sy" + c.ID + "pw"
	steps := [][]string{
		{"netns", "add", w.NS},
		{"link", "add", w.HostVeth, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", w.NS},
		{"link", "set", w.HostVeth, "master", c.Bridge},
		{"link", "set", w.HostVeth, "up"},
		{"-n", w.NS, "link", "set", peer, "name", "eth0"},
		{"-n", w.NS, "link", "set", "lo", "up"},
		{"-n", w.NS, "addr", "add", addr.String() + "/24", "dev", "eth0"},
		{"-n", w.NS, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			_ = w.Remove()
			return nil, err
		}
	}
	return w, nil
}

// Remove deletes the watcher's namespace and veth.
func (w *Watcher) Remove() error {
	var errs []error
	if out, err := exec.Command("ip", "netns", "del", w.NS).CombinedOutput(); err != nil && !errors.Is(err, os.ErrNotExist) {
		if _, e := os.Stat("/run/netns/" + w.NS); e == nil {
			errs = append(errs, fmt.Errorf("lab: netns del %s: %v: %s", w.NS, err, out))
		}
	}
	_ = exec.Command("ip", "link", "del", w.HostVeth).Run()
	return errors.Join(errs...)
}

// inNamespace runs f on an OS thread that has entered the named network
// namespace; sockets f opens stay in that namespace.
func inNamespace(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			runtime.UnlockOSThread()
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("lab: setns %s: %w", ns, err)
			runtime.UnlockOSThread()
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked and dies with this goroutine
		errc <- ferr
	}()
	return <-errc
}

// Reply is one echo reply a Pinger received.
type Reply struct {
	// Sent and Received are when the echo left and its reply arrived.
	Sent, Received time.Time
}

// Pinger sends ICMP echo requests from a watcher's namespace to one
// address at a fixed interval and records the replies.
type Pinger struct {
	conn   *net.IPConn
	target netip.Addr
	id     int
	stop   chan struct{}
	done   sync.WaitGroup

	mu      sync.Mutex
	sent    map[int]time.Time
	replies []Reply
	notify  chan struct{}
}

// Ping starts a Pinger from the watcher to target (IPv4), one echo every
// interval (10 ms is fine). Stop it with Close.
func (w *Watcher) Ping(target netip.Addr, interval time.Duration) (*Pinger, error) {
	if !target.Is4() {
		return nil, fmt.Errorf("lab: ping %s: IPv4 only", target)
	}
	var fd int
	err := inNamespace(w.NS, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: icmp socket in %s: %w", w.NS, err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("lab: icmp socket: %w", err)
	}
	conn, ok := pc.(*net.IPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("lab: icmp socket is a %T", pc)
	}
	p := &Pinger{conn: conn, target: target, id: os.Getpid() & 0xffff, stop: make(chan struct{}),
		sent: map[int]time.Time{}, notify: make(chan struct{})}
	p.done.Add(2)
	go p.recvLoop()
	go p.sendLoop(interval)
	return p, nil
}

func (p *Pinger) sendLoop(interval time.Duration) {
	defer p.done.Done()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	dst := &net.IPAddr{IP: p.target.AsSlice()}
	for seq := 0; ; seq = (seq + 1) & 0xffff {
		m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: p.id, Seq: seq, Data: []byte("systole-lab")}}
		b, _ := m.Marshal(nil)
		p.mu.Lock()
		p.sent[seq] = time.Now()
		p.mu.Unlock()
		_, _ = p.conn.WriteTo(b, dst) // unreachable while nobody holds the address
		select {
		case <-p.stop:
			return
		case <-tk.C:
		}
	}
}

func (p *Pinger) recvLoop() {
	defer p.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		ip, _ := from.(*net.IPAddr)
		if ip == nil || !ip.IP.Equal(p.target.AsSlice()) {
			continue
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.ID != p.id {
			continue
		}
		p.mu.Lock()
		if s, ok := p.sent[e.Seq]; ok {
			delete(p.sent, e.Seq)
			p.replies = append(p.replies, Reply{Sent: s, Received: now})
			close(p.notify)
			p.notify = make(chan struct{})
		}
		p.mu.Unlock()
	}
}

// FirstReply returns the first reply to an echo sent at or after t, waiting
// up to timeout for it.
func (p *Pinger) FirstReply(t time.Time, timeout time.Duration) (Reply, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for _, r := range p.replies {
			if !r.Sent.Before(t) {
				p.mu.Unlock()
				return r, true
			}
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return Reply{}, false
		}
	}
}

// Reset forgets the replies received so far (and echoes still unanswered).
func (p *Pinger) Reset() {
	p.mu.Lock()
	p.replies = nil
	p.sent = map[int]time.Time{}
	p.mu.Unlock()
}

// Close stops the Pinger.
func (p *Pinger) Close() error {
	close(p.stop)
	err := p.conn.Close()
	p.done.Wait()
	return err
}
