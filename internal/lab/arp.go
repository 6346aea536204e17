package lab

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ARPProber asks, from a watcher namespace, who holds IPv4 addresses: it
// broadcasts ARP requests on the watcher's eth0 and collects the hardware
// addresses that answer. Two answers with different addresses for one IP
// mean two nodes hold it. Not safe for concurrent use.
type ARPProber struct {
	fd      int
	ifindex int
	mac     net.HardwareAddr
	src     netip.Addr
}

// ARPProber opens an ARP prober on the watcher's eth0. Close it.
func (w *Watcher) ARPProber() (*ARPProber, error) {
	p := &ARPProber{fd: -1, src: w.Addr}
	err := inNamespace(w.NS, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		p.ifindex, p.mac = ifi.Index, ifi.HardwareAddr
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		p.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: p.ifindex})
	})
	if err != nil {
		if p.fd >= 0 {
			unix.Close(p.fd)
		}
		return nil, fmt.Errorf("lab: arp socket in %s: %w", w.NS, err)
	}
	return p, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Probe sends one ARP request for each target and returns, after wait,
// the hardware addresses that answered for each (gratuitous ARPs seen in
// the window count as answers). A target nobody holds is absent.
func (p *ARPProber) Probe(targets []netip.Addr, wait time.Duration) (map[netip.Addr][]string, error) {
	bcast := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: p.ifindex, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	want := map[netip.Addr]bool{}
	for _, t := range targets {
		if !t.Is4() {
			return nil, fmt.Errorf("lab: arp probe of %s: IPv4 only", t)
		}
		want[t] = true
		req := make([]byte, 28)
		binary.BigEndian.PutUint16(req[0:], 1)      // Ethernet
		binary.BigEndian.PutUint16(req[2:], 0x0800) // IPv4
		req[4], req[5] = 6, 4
		binary.BigEndian.PutUint16(req[6:], 1) // request
		copy(req[8:14], p.mac)
		s4 := p.src.As4()
		copy(req[14:18], s4[:])
		t4 := t.As4()
		copy(req[24:28], t4[:])
		if err := unix.Sendto(p.fd, req, 0, bcast); err != nil {
			return nil, fmt.Errorf("lab: arp request for %s: %w", t, err)
		}
	}
	got := map[netip.Addr][]string{}
	buf := make([]byte, 128)
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return got, nil
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err != nil && err != unix.EINTR {
			return got, fmt.Errorf("lab: arp poll: %w", err)
		}
		if n <= 0 {
			continue
		}
		m, _, err := unix.Recvfrom(p.fd, buf, unix.MSG_DONTWAIT)
		if err != nil || m < 28 {
			continue
		}
		op := binary.BigEndian.Uint16(buf[6:])
		spa := netip.AddrFrom4([4]byte(buf[14:18]))
		if !want[spa] || (op != 1 && op != 2) {
			continue
		}
		sha := net.HardwareAddr(append([]byte(nil), buf[8:14]...)).String()
		dup := false
		for _, h := range got[spa] {
			dup = dup || h == sha
		}
		if !dup {
			got[spa] = append(got[spa], sha)
		}
	}
}

// Close closes the prober's socket.
func (p *ARPProber) Close() error { return unix.Close(p.fd) }

// MAC returns the hardware address of node i's eth0 (namespace mode), as
// net.HardwareAddr.String formats it.
func (c *Cluster) MAC(i int) (string, error) {
	if c.Loopback {
		return "", ErrNeedsNamespaces
	}
	out, err := exec.Command("ip", "-n", c.Nodes[i].NS, "-o", "link", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("lab: mac of %s: %v: %s", c.Nodes[i].Name, err, out)
	}
	f := strings.Fields(string(out))
	for k := 0; k+1 < len(f); k++ {
		if f[k] == "link/ether" {
			return f[k+1], nil
		}
	}
	return "", fmt.Errorf("lab: mac of %s: not in %q", c.Nodes[i].Name, out)
}

// FlushExtraAddrs removes from node i's eth0 every address but the node's
// own (what a reboot does to the addresses resources added).
func (c *Cluster) FlushExtraAddrs(i int) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	return c.flushExtraAddrs(i)
}
