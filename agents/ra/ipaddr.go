package ra

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// IPaddr manages an IPv4 or IPv6 address with netlink: start adds it (and
// announces it with gratuitous ARP or an unsolicited neighbour
// advertisement), stop removes it, monitor checks it is present. nic and
// cidr_netmask default to the interface and prefix of the most specific
// route that covers the address. It works in any network namespace: it
// acts on the namespace it runs in.
type IPaddr struct{}

// Name implements Agent.
func (IPaddr) Name() string { return "IPaddr" }

// Metadata implements Agent.
func (IPaddr) Metadata() string {
	return metaXML("IPaddr", "Manages a virtual IPv4 or IPv6 address",
		"Adds an IPv4 or IPv6 address to an interface with netlink, announces it with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6), and removes it on stop. The interface and prefix length are found in the routing table when not given.",
		param("ip", "string", "", "IPv4 or IPv6 address",
			"The address to manage, e.g. 192.0.2.10 or fd00::10.", ` required="1" unique="1"`)+
			param("cidr_netmask", "integer", "", "Prefix length",
				"The prefix length (e.g. 24). Default: that of the route covering ip, else 32 (IPv4) or 128 (IPv6).", "")+
			param("nic", "string", "", "Network interface",
				"The interface to add the address to. Default: the interface of the route covering ip.", "")+
			param("arp_count", "integer", "5", "Number of announcements",
				"How many gratuitous ARP requests or unsolicited neighbour advertisements start sends (0 for none).", "")+
			param("arp_interval", "integer", "200", "Milliseconds between announcements",
				"Milliseconds between two announcements.", ""),
		`<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" depth="0" timeout="20s" interval="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="20s"/>
`)
}

type ipConf struct {
	ip       net.IP
	v6       bool
	prefix   int // -1 = not given
	nic      string
	arpCount int
	arpIvl   time.Duration
}

func (IPaddr) conf(e *Env) (ipConf, int) {
	c := ipConf{prefix: -1}
	s := e.Param("ip", "")
	if s == "" {
		return c, e.Fail(ErrConfigured, "ip is required")
	}
	c.ip = net.ParseIP(s)
	if c.ip == nil {
		return c, e.Fail(ErrConfigured, "ip=%q is not an IPv4 or IPv6 address", s)
	}
	c.v6 = c.ip.To4() == nil
	if !c.v6 {
		c.ip = c.ip.To4()
	}
	max := 32
	if c.v6 {
		max = 128
	}
	if m := e.Param("cidr_netmask", ""); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > max {
			return c, e.Fail(ErrConfigured, "cidr_netmask=%q is not a prefix length 1..%d", m, max)
		}
		c.prefix = n
	}
	c.nic = e.Param("nic", "")
	n, err := strconv.Atoi(e.Param("arp_count", "5"))
	if err != nil || n < 0 {
		return c, e.Fail(ErrConfigured, "arp_count is not a non-negative integer")
	}
	c.arpCount = n
	ms, err := strconv.Atoi(e.Param("arp_interval", "200"))
	if err != nil || ms < 0 {
		return c, e.Fail(ErrConfigured, "arp_interval is not a non-negative integer")
	}
	c.arpIvl = time.Duration(ms) * time.Millisecond
	return c, OK
}

// findRoute returns the link and prefix length of the most specific
// non-default route whose destination covers ip (restricted to nic if
// given).
func findRoute(ip net.IP, nic string) (netlink.Link, int, error) {
	fam := netlink.FAMILY_V4
	if ip.To4() == nil {
		fam = netlink.FAMILY_V6
	}
	var only netlink.Link
	if nic != "" {
		l, err := netlink.LinkByName(nic)
		if err != nil {
			return nil, 0, fmt.Errorf("interface %s: %w", nic, err)
		}
		only = l
	}
	routes, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, 0, fmt.Errorf("route list: %w", err)
	}
	best, bestLen := -1, -1
	for i, r := range routes {
		if r.Dst == nil || r.LinkIndex <= 0 || !r.Dst.Contains(ip) {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 || (ones == 128 && r.Dst.IP.IsLinkLocalUnicast()) {
			continue
		}
		if only != nil && r.LinkIndex != only.Attrs().Index {
			continue
		}
		if r.Type == unix.RTN_LOCAL || r.Type == unix.RTN_BROADCAST {
			continue
		}
		if ones > bestLen {
			best, bestLen = i, ones
		}
	}
	if best < 0 {
		if only != nil {
			return only, -1, nil
		}
		return nil, 0, errors.New("no route covers the address")
	}
	l, err := netlink.LinkByIndex(routes[best].LinkIndex)
	if err != nil {
		return nil, 0, fmt.Errorf("link %d: %w", routes[best].LinkIndex, err)
	}
	return l, bestLen, nil
}

// present returns the link that carries ip, if any.
func present(ip net.IP) (netlink.Link, bool, error) {
	fam := netlink.FAMILY_V4
	if ip.To4() == nil {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(nil, fam)
	if err != nil {
		return nil, false, err
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			l, err := netlink.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, true, nil
			}
			return l, true, nil
		}
	}
	return nil, false, nil
}

// Run implements Agent.
func (a IPaddr) Run(e *Env) int {
	c, rc := a.conf(e)
	if e.Action == "validate-all" || rc != OK {
		if rc != OK && e.Action == "stop" {
			return OK
		}
		if rc != OK && e.Action == "monitor" && e.IsProbe() {
			return NotRunning
		}
		return rc
	}
	switch e.Action {
	case "monitor":
		_, ok, err := present(c.ip)
		if err != nil {
			return e.Fail(ErrGeneric, "listing addresses: %v", err)
		}
		if ok {
			return OK
		}
		return NotRunning
	case "start":
		return a.start(e, c)
	case "stop":
		l, ok, err := present(c.ip)
		if err != nil {
			return e.Fail(ErrGeneric, "listing addresses: %v", err)
		}
		if !ok {
			return OK
		}
		for _, ad := range a.addrsOn(l, c.ip) {
			if err := netlink.AddrDel(l, &ad); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
				return e.Fail(ErrGeneric, "removing %s from %s: %v", c.ip, l.Attrs().Name, err)
			}
		}
		return OK
	}
	return ErrUnimplemented
}

func (IPaddr) addrsOn(l netlink.Link, ip net.IP) []netlink.Addr {
	var out []netlink.Addr
	addrs, _ := netlink.AddrList(l, netlink.FAMILY_ALL)
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			out = append(out, a)
		}
	}
	return out
}

func (a IPaddr) start(e *Env, c ipConf) int {
	if _, ok, err := present(c.ip); err != nil {
		return e.Fail(ErrGeneric, "listing addresses: %v", err)
	} else if ok {
		return OK
	}
	link, prefix, err := findRoute(c.ip, c.nic)
	if err != nil {
		if c.nic != "" {
			return e.Fail(ErrConfigured, "nic=%s: %v", c.nic, err)
		}
		return e.Fail(ErrConfigured, "cannot find an interface for %s (%v); set nic and cidr_netmask", c.ip, err)
	}
	if c.prefix > 0 {
		prefix = c.prefix
	}
	if prefix <= 0 {
		prefix = 32
		if c.v6 {
			prefix = 128
		}
		e.Logf("WARNING", "no route covers %s on %s, using prefix length %d", c.ip, link.Attrs().Name, prefix)
	}
	bits := 32
	if c.v6 {
		bits = 128
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: c.ip, Mask: net.CIDRMask(prefix, bits)}}
	if c.v6 {
		addr.Flags = unix.IFA_F_NODAD // usable at once, as IPaddr2's nodad
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return e.Fail(ErrGeneric, "bringing %s up: %v", link.Attrs().Name, err)
		}
	}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
		return e.Fail(ErrGeneric, "adding %s/%d to %s: %v", c.ip, prefix, link.Attrs().Name, err)
	}
	if err := announce(link, c); err != nil {
		// The address is up; a failed announcement only delays peers.
		e.Logf("WARNING", "announcing %s on %s: %v", c.ip, link.Attrs().Name, err)
	}
	return OK
}

// announce sends gratuitous ARP requests (IPv4) or unsolicited neighbour
// advertisements (IPv6) so that peers update their caches at once.
func announce(link netlink.Link, c ipConf) error {
	mac := link.Attrs().HardwareAddr
	if c.arpCount == 0 || len(mac) != 6 {
		return nil // loopback and the like have no neighbours to tell
	}
	send := garp
	if c.v6 {
		send = unsolicitedNA
	}
	for i := 0; i < c.arpCount; i++ {
		if i > 0 {
			time.Sleep(c.arpIvl)
		}
		if err := send(link, c.ip, mac); err != nil {
			return err
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// garp broadcasts an ARP request for ip from ip (a gratuitous ARP).
func garp(link netlink.Link, ip net.IP, mac net.HardwareAddr) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	pkt := make([]byte, 28)
	binary.BigEndian.PutUint16(pkt[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(pkt[2:], 0x0800) // IPv4
	pkt[4], pkt[5] = 6, 4
	binary.BigEndian.PutUint16(pkt[6:], 1) // request
	copy(pkt[8:], mac)
	copy(pkt[14:], ip.To4())
	copy(pkt[24:], ip.To4()) // target hardware address stays zero
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: link.Attrs().Index, Halen: 6}
	copy(sa.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := unix.Sendto(fd, pkt, 0, sa); err != nil {
		return fmt.Errorf("sending ARP: %w", err)
	}
	return nil
}

// unsolicitedNA sends a neighbour advertisement for ip to all nodes.
func unsolicitedNA(link netlink.Link, ip net.IP, mac net.HardwareAddr) error {
	conn, err := icmp.ListenPacket("ip6:ipv6-icmp", ip.String()+"%"+link.Attrs().Name)
	if err != nil {
		conn, err = icmp.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return fmt.Errorf("icmpv6 socket: %w", err)
		}
	}
	defer conn.Close()
	pc := conn.IPv6PacketConn()
	iface, err := net.InterfaceByIndex(link.Attrs().Index)
	if err != nil {
		return err
	}
	_ = pc.SetMulticastInterface(iface)
	_ = pc.SetMulticastHopLimit(255)
	_ = pc.SetHopLimit(255)
	body := make([]byte, 4+16+8)
	body[0] = 0x20 // override flag
	copy(body[4:], ip.To16())
	body[20], body[21] = 2, 1 // option: target link-layer address, 8 bytes
	copy(body[22:], mac)
	msg := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
	b, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
	if err != nil {
		return err
	}
	if _, err := conn.WriteTo(b, &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: link.Attrs().Name}); err != nil {
		return fmt.Errorf("sending neighbour advertisement: %w", err)
	}
	return nil
}
