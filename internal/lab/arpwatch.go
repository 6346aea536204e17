package lab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ARPSample is one ARP probe of an address and the hardware addresses
// that answered it (before the next probe left).
type ARPSample struct {
	// Sent is when the probe left.
	Sent time.Time
	// MACs are the distinct answering hardware addresses, in order.
	MACs []string
}

// ARPWatch asks "who has ADDR?" from a watcher namespace at a fixed
// interval and records who answers each probe: two answers to one probe
// mean the address is up on two machines at once (a split brain's
// overlap), which an ICMP echo cannot show.
type ARPWatch struct {
	f      *os.File
	mac    net.HardwareAddr
	src    netip.Addr
	target netip.Addr
	stop   chan struct{}
	done   sync.WaitGroup

	mu      sync.Mutex
	samples []ARPSample
}

func watchHtons(v uint16) uint16 { return v<<8 | v>>8 }

// WatchARP starts an ARPWatch from the watcher's eth0 for target (IPv4),
// one probe every interval (10 ms is fine). Stop it with Close.
func (w *Watcher) WatchARP(target netip.Addr, interval time.Duration) (*ARPWatch, error) {
	if !target.Is4() || !w.Addr.Is4() {
		return nil, fmt.Errorf("lab: arp probe %s: IPv4 only", target)
	}
	var fd int
	var mac net.HardwareAddr
	err := inNamespace(w.NS, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(watchHtons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: watchHtons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lab: arp socket in %s: %w", w.NS, err)
	}
	p := &ARPWatch{f: os.NewFile(uintptr(fd), "arp"), mac: mac, src: w.Addr, target: target, stop: make(chan struct{})}
	p.done.Add(2)
	go p.recvLoop()
	go p.sendLoop(interval)
	return p, nil
}

// request is an ARP who-has frame for target from the prober.
func (p *ARPWatch) request() []byte {
	b := make([]byte, 60) // minimum Ethernet frame without FCS
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], p.mac)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:14], p.mac)
	s4, t4 := p.src.As4(), p.target.As4()
	copy(a[14:18], s4[:])
	copy(a[24:28], t4[:])
	return b
}

func (p *ARPWatch) sendLoop(interval time.Duration) {
	defer p.done.Done()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	req := p.request()
	for {
		p.mu.Lock()
		p.samples = append(p.samples, ARPSample{Sent: time.Now()})
		p.mu.Unlock()
		_, _ = p.f.Write(req)
		select {
		case <-p.stop:
			return
		case <-tk.C:
		}
	}
}

// parseReply returns the sender hardware address of an ARP reply from
// target to src, or "".
func parseReply(b []byte, src, target netip.Addr) string {
	if len(b) < 42 || binary.BigEndian.Uint16(b[12:]) != unix.ETH_P_ARP {
		return ""
	}
	a := b[14:]
	if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != 0x0800 || a[4] != 6 || a[5] != 4 || binary.BigEndian.Uint16(a[6:]) != 2 {
		return ""
	}
	s4, t4 := src.As4(), target.As4()
	if !bytes.Equal(a[14:18], t4[:]) || !bytes.Equal(a[24:28], s4[:]) {
		return "" // not an answer to our probe (a gratuitous ARP, say)
	}
	return net.HardwareAddr(a[8:14]).String()
}

func (p *ARPWatch) recvLoop() {
	defer p.done.Done()
	buf := make([]byte, 1600)
	for {
		n, err := p.f.Read(buf)
		if err != nil {
			return
		}
		mac := parseReply(buf[:n], p.src, p.target)
		if mac == "" {
			continue
		}
		p.mu.Lock()
		if k := len(p.samples) - 1; k >= 0 {
			s := &p.samples[k]
			seen := false
			for _, m := range s.MACs {
				seen = seen || m == mac
			}
			if !seen {
				s.MACs = append(s.MACs, mac)
			}
		}
		p.mu.Unlock()
	}
}

// Samples returns a copy of the probes so far.
func (p *ARPWatch) Samples() []ARPSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ARPSample, len(p.samples))
	for i, s := range p.samples {
		out[i] = ARPSample{Sent: s.Sent, MACs: append([]string(nil), s.MACs...)}
	}
	return out
}

// Close stops the prober.
func (p *ARPWatch) Close() error {
	close(p.stop)
	err := p.f.Close()
	p.done.Wait()
	return err
}
