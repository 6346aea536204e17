package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// UDP is a UDP medium: broadcast, multicast or unicast to a peer list.
type UDP struct {
	name  string
	conn  *net.UDPConn
	dests []netip.AddrPort
	// batch writes with sendmmsg; nil for dual-stack unicast sockets,
	// where x/net would encode IPv4 destinations as AF_INET.
	batch interface {
		WriteBatch([]ipv4.Message, int) (int, error)
	}
	addrs []net.Addr // dests as net.Addr, for batches
}

// socketBuffer is requested for receive and send buffers so that a full
// flow-control window (a few hundred packets) fits without drops.
const socketBuffer = 4 << 20

func control(iface string, broadcast bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			s := int(fd)
			if serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			if broadcast {
				if serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
					return
				}
			}
			if iface != "" {
				if serr = unix.SetsockoptString(s, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface); serr != nil {
					serr = fmt.Errorf("bind to device %s: %w", iface, serr)
					return
				}
			}
			// As root, exceed net.core.rmem_max; otherwise best effort.
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer) != nil {
				_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
			}
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer) != nil {
				_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func listen(network, addr, iface string, broadcast bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: control(iface, broadcast)}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// NewBcast opens IPv4 broadcast on iface: packets go to the broadcast
// address of every IPv4 network on the interface, port port.
func NewBcast(iface string, port int) (*UDP, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("transport: bcast %s: %w", iface, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("transport: bcast %s: %w", iface, err)
	}
	u := &UDP{name: "bcast " + iface}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		ip4, mask := ipn.IP.To4(), ipn.Mask
		if len(mask) == 16 {
			mask = mask[12:]
		}
		var b [4]byte
		for i := range b {
			b[i] = ip4[i] | ^mask[i]
		}
		u.dests = append(u.dests, netip.AddrPortFrom(netip.AddrFrom4(b), uint16(port)))
	}
	if len(u.dests) == 0 {
		return nil, fmt.Errorf("transport: bcast %s: no IPv4 address on the interface", iface)
	}
	if u.conn, err = listen("udp4", fmt.Sprintf("0.0.0.0:%d", port), iface, true); err != nil {
		return nil, fmt.Errorf("transport: bcast %s: %w", iface, err)
	}
	u.enableBatch(ipv4.NewPacketConn(u.conn))
	return u, nil
}

// NewUcast opens unicast on iface ("" for any interface) to the given
// peers (IPv4 and IPv6 may be mixed), receiving on port.
func NewUcast(iface string, port int, peers []netip.Addr) (*UDP, error) {
	return NewUcastBind(iface, netip.Addr{}, port, peers)
}

// NewUcastBind is NewUcast with the socket bound to the local address bind
// (any address when bind is the zero Addr), so that several nodes can
// share a host and a port on different addresses (127.0.0.x).
func NewUcastBind(iface string, bind netip.Addr, port int, peers []netip.Addr) (*UDP, error) {
	u := &UDP{name: "ucast " + iface}
	for _, p := range peers {
		u.dests = append(u.dests, netip.AddrPortFrom(p, uint16(port)))
	}
	laddr := fmt.Sprintf(":%d", port)
	if bind.IsValid() {
		laddr = netip.AddrPortFrom(bind, uint16(port)).String()
	}
	var err error
	if u.conn, err = listen("udp", laddr, iface, false); err != nil {
		return nil, fmt.Errorf("transport: ucast %s: %w", iface, err)
	}
	return u, nil
}

// NewMcast joins group on iface and sends to it with the given TTL (hop
// limit for IPv6) and loopback setting.
func NewMcast(iface string, group netip.Addr, port, ttl int, loop bool) (*UDP, error) {
	name := fmt.Sprintf("mcast %s %s", iface, group)
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("transport: %s: %w", name, err)
	}
	u := &UDP{name: name, dests: []netip.AddrPort{netip.AddrPortFrom(group, uint16(port))}}
	gaddr := &net.UDPAddr{IP: group.AsSlice()}
	if group.Is4() {
		if u.conn, err = listen("udp4", fmt.Sprintf("0.0.0.0:%d", port), iface, false); err != nil {
			return nil, fmt.Errorf("transport: %s: %w", name, err)
		}
		p := ipv4.NewPacketConn(u.conn)
		err = errors.Join(p.JoinGroup(ifi, gaddr), p.SetMulticastInterface(ifi), p.SetMulticastTTL(ttl), p.SetMulticastLoopback(loop))
		u.enableBatch(p)
	} else {
		if u.conn, err = listen("udp6", fmt.Sprintf("[::]:%d", port), iface, false); err != nil {
			return nil, fmt.Errorf("transport: %s: %w", name, err)
		}
		p := ipv6.NewPacketConn(u.conn)
		err = errors.Join(p.JoinGroup(ifi, gaddr), p.SetMulticastInterface(ifi), p.SetMulticastHopLimit(ttl), p.SetMulticastLoopback(loop))
		if group.IsLinkLocalMulticast() {
			for i := range u.dests {
				u.dests[i] = netip.AddrPortFrom(group.WithZone(iface), uint16(port))
			}
		}
		u.enableBatch(p)
	}
	if err != nil {
		u.conn.Close()
		return nil, fmt.Errorf("transport: %s: %w", name, err)
	}
	return u, nil
}

func (u *UDP) enableBatch(b interface {
	WriteBatch([]ipv4.Message, int) (int, error)
}) {
	u.batch = b
	for _, d := range u.dests {
		u.addrs = append(u.addrs, net.UDPAddrFromAddrPort(d))
	}
}

// Name implements Transport.
func (u *UDP) Name() string { return u.name }

// SendBatch implements BatchSender: all packets to every destination,
// with as few system calls as the kernel allows.
func (u *UDP) SendBatch(pkts [][]byte) error {
	if u.batch == nil {
		var errs []error
		for _, p := range pkts {
			if err := u.Send(p); err != nil {
				if errors.Is(err, ErrClosed) {
					return err
				}
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	msgs := make([]ipv4.Message, 0, len(pkts)*len(u.addrs))
	for _, p := range pkts {
		for _, a := range u.addrs {
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{p}, Addr: a})
		}
	}
	for len(msgs) > 0 {
		n, err := u.batch.WriteBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return ErrClosed
			}
			// Skip the failing datagram (e.g. ENOBUFS): a lost packet.
			n++
			if n > len(msgs) {
				n = len(msgs)
			}
			if len(msgs) == n {
				return fmt.Errorf("transport: %s: %w", u.name, err)
			}
		}
		msgs = msgs[n:]
	}
	return nil
}

// Send implements Transport: one datagram per destination. Errors of
// individual destinations (unreachable, no buffer space) are joined.
func (u *UDP) Send(pkt []byte) error {
	var errs []error
	for _, d := range u.dests {
		if _, err := u.conn.WriteToUDPAddrPort(pkt, d); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return ErrClosed
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Recv implements Transport.
func (u *UDP) Recv(buf []byte) (int, error) {
	for {
		n, _, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0, ErrClosed
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // an ICMP error from an earlier unicast send
			}
			return 0, fmt.Errorf("transport: %s: %w", u.name, err)
		}
		return n, nil
	}
}

// Close implements Transport.
func (u *UDP) Close() error {
	err := u.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
