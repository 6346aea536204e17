package messaging

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HaCf is a parsed ha.cf file: Heartbeat's directive-per-line
// configuration, plus Systole's `cluster` and `encrypt` directives.
type HaCf struct {
	// Cluster is the cluster name (`cluster NAME`, default "systole").
	Cluster string
	// Nodes are the names given by `node` lines, in order.
	Nodes []string
	// Keepalive, Warntime, Deadtime and Initdead are the liveness timers.
	Keepalive, Warntime, Deadtime, Initdead time.Duration
	// UDPPort is the port of bcast and ucast media (`udpport`, 694).
	UDPPort int
	// Bcast lists the interfaces of `bcast` lines.
	Bcast []string
	// Mcast lists the `mcast` (and `mcast6`) lines.
	Mcast []Mcast
	// Ucast lists the `ucast` (and `ucast6`) lines.
	Ucast []Ucast
	// Bind is the local address of the ucast sockets (`bind ADDR`, a
	// Systole directive; default: any). Several nodes on one host (the
	// loopback lab: 127.0.0.x, one address per node, one port) need it.
	Bind netip.Addr
	// Serial lists the devices of `serial` lines.
	Serial []string
	// Baud is the serial line speed (`baud`, 19200).
	Baud int
	// Ping lists the hosts of `ping` lines (parsed and reported; the
	// messaging layer does not probe them).
	Ping []string
	// Encrypt is set by `encrypt on`: AES-256-GCM on every packet body.
	Encrypt bool
	// Ignored lists "file:line: directive" for Heartbeat directives that
	// Systole accepts and ignores (logging, crm, respawn...).
	Ignored []string
}

// Mcast is one `mcast IFACE GROUP PORT TTL LOOP` line.
type Mcast struct {
	Iface string
	Group netip.Addr
	Port  int
	TTL   int
	Loop  bool
}

// Ucast is one `ucast IFACE PEER` line.
type Ucast struct {
	Iface string
	Peer  netip.Addr
}

// ignoredDirectives are Heartbeat directives that belong to other layers
// or to Heartbeat's own process model; they are accepted so that an
// existing ha.cf parses.
var ignoredDirectives = []string{
	"apiauth", "auto_failback", "autojoin", "compression", "compression_threshold",
	"conn_logd_time", "coredumps", "crm", "debug", "debugfile", "deadping", "hbgenmethod",
	"hopfudge", "logfacility", "logfile", "msgfmt", "pacemaker", "ping_group", "realtime",
	"respawn", "stonith", "stonith_host", "traditional_compression", "use_logd", "uuidfrom",
	"watchdog",
	// membership's quorum directives (read by membershipd)
	"quorum_votes", "expected_votes", "two_node",
}

// ParseHaCf parses an ha.cf file named name. Every error names name:line.
// Unset timers take the values of DefaultConfig; the result is checked as a
// whole (deadtime >= 2 keepalive, ...) and those errors name the line of
// the offending directive.
func ParseHaCf(name string, data []byte) (*HaCf, error) {
	def := DefaultConfig()
	h := &HaCf{Cluster: def.Cluster, Keepalive: def.Keepalive, Warntime: def.Warntime,
		Deadtime: def.Deadtime, Initdead: def.Initdead, UDPPort: 694, Baud: 19200}
	where := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if err := h.directive(f, where, line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w: %s: %v", name, line, ErrConfig, f[0], err)
		}
		if slices.Contains(ignoredDirectives, f[0]) {
			h.Ignored = append(h.Ignored, fmt.Sprintf("%s:%d: %s", name, line, f[0]))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if _, ok := where["warntime"]; !ok && h.Warntime > h.Deadtime {
		h.Warntime = h.Deadtime * 3 / 5
	}
	if _, ok := where["initdead"]; !ok && h.Initdead < h.Deadtime {
		h.Initdead = 2 * h.Deadtime
	}
	at := func(d string) string {
		if l, ok := where[d]; ok {
			return fmt.Sprintf("%s:%d", name, l)
		}
		return fmt.Sprintf("%s:%d", name, line)
	}
	switch {
	case len(h.Nodes) == 0:
		return nil, fmt.Errorf("%s: %w: no node lines", at("node"), ErrConfig)
	case len(h.Bcast)+len(h.Mcast)+len(h.Ucast)+len(h.Serial) == 0:
		return nil, fmt.Errorf("%s: %w: no medium (bcast, mcast, ucast or serial)", name, ErrConfig)
	case h.Deadtime < 2*h.Keepalive:
		return nil, fmt.Errorf("%s: %w: deadtime %v must be at least twice keepalive %v", at("deadtime"), ErrConfig, h.Deadtime, h.Keepalive)
	case h.Warntime > h.Deadtime:
		return nil, fmt.Errorf("%s: %w: warntime %v must not exceed deadtime %v", at("warntime"), ErrConfig, h.Warntime, h.Deadtime)
	case h.Initdead < h.Deadtime:
		return nil, fmt.Errorf("%s: %w: initdead %v must be at least deadtime %v", at("initdead"), ErrConfig, h.Initdead, h.Deadtime)
	}
	return h, nil
}

func (h *HaCf) directive(f []string, where map[string]int, line int) error {
	args := f[1:]
	need := func(min, max int) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			if min == max {
				return fmt.Errorf("want %d argument(s), have %d", min, len(args))
			}
			return fmt.Errorf("want at least %d argument(s), have %d", min, len(args))
		}
		return nil
	}
	where[f[0]] = line
	switch f[0] {
	case "cluster":
		if err := need(1, 1); err != nil {
			return err
		}
		if len(args[0]) > 255 {
			return fmt.Errorf("name longer than 255 bytes")
		}
		h.Cluster = args[0]
	case "node":
		if err := need(1, -1); err != nil {
			return err
		}
		for _, n := range args {
			if len(n) > 255 {
				return fmt.Errorf("name longer than 255 bytes")
			}
			if slices.Contains(h.Nodes, n) {
				return fmt.Errorf("node %q listed twice", n)
			}
			h.Nodes = append(h.Nodes, n)
		}
	case "keepalive", "warntime", "deadtime", "initdead":
		if err := need(1, 1); err != nil {
			return err
		}
		d, err := ParseInterval(args[0])
		if err != nil {
			return err
		}
		switch f[0] {
		case "keepalive":
			h.Keepalive = d
		case "warntime":
			h.Warntime = d
		case "deadtime":
			h.Deadtime = d
		case "initdead":
			h.Initdead = d
		}
	case "udpport":
		if err := need(1, 1); err != nil {
			return err
		}
		p, err := parsePort(args[0])
		if err != nil {
			return err
		}
		h.UDPPort = p
	case "baud":
		if err := need(1, 1); err != nil {
			return err
		}
		b, err := strconv.Atoi(args[0])
		if err != nil || b < 300 || b > 4000000 {
			return fmt.Errorf("baud %q must be a number in 300..4000000", args[0])
		}
		h.Baud = b
	case "bcast":
		if err := need(1, -1); err != nil {
			return err
		}
		h.Bcast = append(h.Bcast, args...)
	case "mcast", "mcast6":
		if err := need(5, 5); err != nil {
			return fmt.Errorf("%v (want IFACE GROUP PORT TTL LOOP)", err)
		}
		g, err := netip.ParseAddr(args[1])
		if err != nil || !g.IsMulticast() {
			return fmt.Errorf("%q is not a multicast group address", args[1])
		}
		p, err := parsePort(args[2])
		if err != nil {
			return err
		}
		ttl, err := strconv.Atoi(args[3])
		if err != nil || ttl < 1 || ttl > 255 {
			return fmt.Errorf("ttl %q must be in 1..255", args[3])
		}
		loop := false
		switch args[4] {
		case "0":
		case "1":
			loop = true
		default:
			return fmt.Errorf("loop %q must be 0 or 1", args[4])
		}
		h.Mcast = append(h.Mcast, Mcast{Iface: args[0], Group: g.WithZone(""), Port: p, TTL: ttl, Loop: loop})
	case "ucast", "ucast6":
		if err := need(2, -1); err != nil {
			return fmt.Errorf("%v (want IFACE PEER...)", err)
		}
		for _, a := range args[1:] {
			p, err := netip.ParseAddr(a)
			if err != nil {
				return fmt.Errorf("peer %q is not an IP address", a)
			}
			h.Ucast = append(h.Ucast, Ucast{Iface: args[0], Peer: p})
		}
	case "bind":
		if err := need(1, 1); err != nil {
			return err
		}
		a, err := netip.ParseAddr(args[0])
		if err != nil {
			return fmt.Errorf("bind %q is not an IP address", args[0])
		}
		h.Bind = a
	case "serial":
		if err := need(1, -1); err != nil {
			return err
		}
		h.Serial = append(h.Serial, args...)
	case "ping":
		if err := need(1, -1); err != nil {
			return err
		}
		h.Ping = append(h.Ping, args...)
	case "encrypt":
		if err := need(1, 1); err != nil {
			return err
		}
		switch strings.ToLower(args[0]) {
		case "on", "yes", "true", "1", "aes256gcm":
			h.Encrypt = true
		case "off", "no", "false", "0":
			h.Encrypt = false
		default:
			return fmt.Errorf("want on or off, have %q", args[0])
		}
	default:
		if slices.Contains(ignoredDirectives, f[0]) {
			return nil
		}
		return fmt.Errorf("unknown directive")
	}
	return nil
}

// ParseInterval parses a Heartbeat time value: a plain number is seconds
// ("2", "0.5"), a suffix selects the unit ("500ms", "2s", "1m").
func ParseInterval(s string) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f > 86400 {
			return 0, fmt.Errorf("time %q must be in (0, 86400] seconds", s)
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("time %q: want seconds (2, 0.5) or a unit (500ms, 2s)", s)
		}
	}
	if d < time.Millisecond || d > 24*time.Hour {
		return 0, fmt.Errorf("time %q must be between 1ms and 24h", s)
	}
	return d, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q must be in 1..65535", s)
	}
	return p, nil
}

// MediaNames returns the media of the file in the order the daemon opens
// them: one per bcast interface, one per mcast line, one per ucast
// interface (all its peers), one per serial device.
func (h *HaCf) MediaNames() []Medium {
	var m []Medium
	for _, i := range h.Bcast {
		m = append(m, Medium{Name: "bcast " + i})
	}
	for _, mc := range h.Mcast {
		m = append(m, Medium{Name: fmt.Sprintf("mcast %s %s", mc.Iface, mc.Group)})
	}
	for _, i := range h.UcastIfaces() {
		m = append(m, Medium{Name: "ucast " + i})
	}
	for _, d := range h.Serial {
		m = append(m, Medium{Name: "serial " + d, Slow: true})
	}
	return m
}

// UcastIfaces returns the distinct interfaces of ucast lines, in order.
func (h *HaCf) UcastIfaces() []string {
	var out []string
	for _, u := range h.Ucast {
		if !slices.Contains(out, u.Iface) {
			out = append(out, u.Iface)
		}
	}
	return out
}

// Config returns the core configuration for node self with the file's
// cluster, nodes, timers, media and encryption on top of DefaultConfig.
func (h *HaCf) Config(self string, generation uint64) Config {
	c := DefaultConfig()
	c.Cluster = h.Cluster
	c.Node = self
	c.Nodes = slices.Clone(h.Nodes)
	c.Generation = generation
	c.Keepalive, c.Warntime, c.Deadtime, c.Initdead = h.Keepalive, h.Warntime, h.Deadtime, h.Initdead
	c.Media = h.MediaNames()
	c.Encrypt = h.Encrypt
	return c
}
