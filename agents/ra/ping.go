package ra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/systole/systole/agents/metadata"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Ping measures how many hosts of host_list answer ICMP echo and publishes
// the node attribute NAME = multiplier x reachable hosts, for location
// rules (the role of Heartbeat's ipfail and Pacemaker's ping agent).
// Dampening: a new value is published only once it has been measured
// unchanged for dampen. Publishing writes HA_RSCTMP/ping-INSTANCE.attr
// and runs attrd_updater (or the command in attr_updater) when present.
type Ping struct {
	// probe counts reachable hosts; nil means ICMP echo (tests replace it).
	probe func(hosts []string, attempts int, timeout time.Duration) int
}

// Name implements Agent.
func (Ping) Name() string { return "ping" }

// Metadata implements Agent.
func (Ping) Metadata() string {
	return metaXML("ping", "Sets a node attribute from host reachability",
		"Sends ICMP echo requests to every host of host_list and sets the node attribute name (default pingd) to multiplier times the number of hosts that answered, with dampening, for use in location rules.",
		param("host_list", "string", "", "Hosts to ping",
			"Space-separated IPv4/IPv6 addresses or host names to ping.", ` required="1"`)+
			param("multiplier", "integer", "1", "Value multiplier", "The attribute is multiplier times the number of reachable hosts.", "")+
			param("name", "string", "pingd", "Attribute name", "The name of the node attribute to set.", ` reloadable="1"`)+
			param("dampen", "second", "5s", "Dampening interval",
				"A changed value is published only after it was measured unchanged for this long.", ` reloadable="1"`)+
			param("attempts", "integer", "3", "Echo requests per host", "How many echo requests to send to each host before declaring it unreachable.", "")+
			param("timeout", "integer", "2", "Seconds to wait for replies", "Seconds to wait for the replies of one host.", "")+
			param("failure_score", "integer", "", "Failure score",
				"If set, monitor fails when the value is below it.", "")+
			param("attr_updater", "string", "attrd_updater", "Attribute update command",
				"Command that sets node attributes, called as CMD -n NAME -v VALUE (and -D on stop); none disables it. Skipped when not installed.", ""),
		`<action name="start" timeout="60s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" depth="0" timeout="60s" interval="10s"/>
<action name="reload-agent" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="20s"/>
`)
}

type pingState struct {
	Value     int   `json:"value"`
	Published bool  `json:"published"`
	Pending   int   `json:"pending"`
	Since     int64 `json:"since_unix_ms"` // 0 = nothing pending
}

type pingConf struct {
	hosts        []string
	multiplier   int
	name         string
	dampen       time.Duration
	attempts     int
	timeout      time.Duration
	failureScore *int
	updater      string
}

func (Ping) conf(e *Env) (pingConf, int) {
	var c pingConf
	c.hosts = strings.Fields(e.Param("host_list", ""))
	if len(c.hosts) == 0 {
		return c, e.Fail(ErrConfigured, "host_list is required")
	}
	ints := map[string]*int{"multiplier": &c.multiplier, "attempts": &c.attempts}
	defs := map[string]string{"multiplier": "1", "attempts": "3"}
	for k, p := range ints {
		n, err := strconv.Atoi(e.Param(k, defs[k]))
		if err != nil || n < 1 {
			return c, e.Fail(ErrConfigured, "%s=%q is not a positive integer", k, e.Param(k, ""))
		}
		*p = n
	}
	n, err := strconv.Atoi(e.Param("timeout", "2"))
	if err != nil || n < 1 {
		return c, e.Fail(ErrConfigured, "timeout=%q is not a positive number of seconds", e.Param("timeout", ""))
	}
	c.timeout = time.Duration(n) * time.Second
	if c.dampen, err = metadata.ParseDuration(e.Param("dampen", "5s")); err != nil {
		return c, e.Fail(ErrConfigured, "dampen: %v", err)
	}
	if s := e.Param("failure_score", ""); s != "" {
		f, err := strconv.Atoi(s)
		if err != nil {
			return c, e.Fail(ErrConfigured, "failure_score=%q is not an integer", s)
		}
		c.failureScore = &f
	}
	c.name = e.Param("name", "pingd")
	c.updater = e.Param("attr_updater", "attrd_updater")
	return c, OK
}

func (Ping) statePath(e *Env) string { return e.StatePath("ping", "state") }

// AttrPath is where the ping agent of an instance writes NAME=VALUE.
func (Ping) AttrPath(e *Env) string { return e.StatePath("ping", "attr") }

// Run implements Agent.
func (p Ping) Run(e *Env) int {
	c, rc := p.conf(e)
	if rc != OK {
		switch {
		case e.Action == "stop":
			return OK
		case e.Action == "monitor" && e.IsProbe():
			return NotRunning
		}
		return rc
	}
	switch e.Action {
	case "validate-all", "reload-agent":
		return OK
	case "start":
		st := pingState{}
		return p.measure(e, c, &st, true)
	case "monitor":
		b, err := os.ReadFile(p.statePath(e))
		if err != nil {
			return NotRunning
		}
		if e.IsProbe() {
			return OK
		}
		var st pingState
		if err := json.Unmarshal(b, &st); err != nil {
			st = pingState{}
		}
		return p.measure(e, c, &st, false)
	case "stop":
		if err := os.Remove(p.statePath(e)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return e.Fail(ErrGeneric, "removing state: %v", err)
		}
		os.Remove(p.AttrPath(e))
		p.runUpdater(e, c, "-n", c.name, "-D")
		return OK
	}
	return ErrUnimplemented
}

// measure pings, applies dampening, publishes and saves the state.
func (p Ping) measure(e *Env, c pingConf, st *pingState, first bool) int {
	probe := p.probe
	if probe == nil {
		probe = reachable
	}
	up := probe(c.hosts, c.attempts, c.timeout)
	score := up * c.multiplier
	now := e.Now().UnixMilli()
	switch {
	case first || !st.Published || c.dampen == 0:
		p.publish(e, c, score)
		*st = pingState{Value: score, Published: true}
	case score == st.Value:
		st.Since = 0
	case st.Since == 0 || st.Pending != score:
		st.Pending, st.Since = score, now
	case now-st.Since >= c.dampen.Milliseconds():
		p.publish(e, c, score)
		*st = pingState{Value: score, Published: true}
	}
	b, _ := json.Marshal(st)
	if err := writeFileAtomic(p.statePath(e), b); err != nil {
		return e.Fail(ErrGeneric, "writing state: %v", err)
	}
	e.Logf("INFO", "%d of %d hosts reachable, %s=%d (published %d)", up, len(c.hosts), c.name, score, st.Value)
	if c.failureScore != nil && score < *c.failureScore {
		return e.Fail(ErrGeneric, "%s=%d is below failure_score %d", c.name, score, *c.failureScore)
	}
	return OK
}

func (p Ping) publish(e *Env, c pingConf, v int) {
	if err := writeFileAtomic(p.AttrPath(e), []byte(fmt.Sprintf("%s=%d\n", c.name, v))); err != nil {
		e.Logf("WARNING", "writing %s: %v", p.AttrPath(e), err)
	}
	p.runUpdater(e, c, "-n", c.name, "-v", strconv.Itoa(v))
}

func (Ping) runUpdater(e *Env, c pingConf, args ...string) {
	if c.updater == "" || c.updater == "none" {
		return
	}
	path, err := exec.LookPath(c.updater)
	if err != nil {
		return // no attribute daemon here: the .attr file is all there is
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.Logf("WARNING", "%s %s: %v: %s", c.updater, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// reachable counts the hosts that answer ICMP echo.
func reachable(hosts []string, attempts int, timeout time.Duration) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if pingHost(h, i, attempts, timeout) {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// pingHost sends up to attempts echo requests, spread over timeout, and
// reports whether any was answered.
func pingHost(host string, idx, attempts int, timeout time.Duration) bool {
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip} // literals never touch the resolver
	} else if ips, _ = net.LookupIP(host); len(ips) == 0 {
		return false
	}
	ip := ips[0]
	if ip.IsMulticast() || ip.Equal(net.IPv4bcast) || ip.IsUnspecified() {
		return false // echo to a group is not reachability, and floods the link
	}
	v6 := ip.To4() == nil
	var conn *icmp.PacketConn
	var dst net.Addr
	proto := 1
	for _, nw := range pingNetworks(v6) {
		var err error
		if conn, err = icmp.ListenPacket(nw, ""); err == nil {
			if strings.HasPrefix(nw, "udp") {
				dst = &net.UDPAddr{IP: ip}
			} else {
				dst = &net.IPAddr{IP: ip}
			}
			break
		}
	}
	if conn == nil {
		return false
	}
	defer conn.Close()
	if v6 {
		proto = 58
	}
	id := (os.Getpid() + idx) & 0xffff
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1500)
	for seq := 1; seq <= attempts && time.Now().Before(deadline); seq++ {
		var typ icmp.Type = ipv4.ICMPTypeEcho
		if v6 {
			typ = ipv6.ICMPTypeEchoRequest
		}
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("systole-ping")}}
		b, err := m.Marshal(nil)
		if err != nil {
			return false
		}
		if _, err := conn.WriteTo(b, dst); err != nil {
			continue
		}
		wait := time.Until(deadline) / time.Duration(attempts-seq+1)
		conn.SetReadDeadline(time.Now().Add(wait))
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				break
			}
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil {
				continue
			}
			echo, ok := rm.Body.(*icmp.Echo)
			if !ok || (rm.Type != ipv4.ICMPTypeEchoReply && rm.Type != ipv6.ICMPTypeEchoReply) {
				continue
			}
			if echo.Seq == seq && addrIP(from).Equal(ip) {
				return true
			}
		}
	}
	return false
}

func pingNetworks(v6 bool) []string {
	if v6 {
		return []string{"udp6", "ip6:ipv6-icmp"}
	}
	return []string{"udp4", "ip4:icmp"}
}

func addrIP(a net.Addr) net.IP {
	switch x := a.(type) {
	case *net.UDPAddr:
		return x.IP
	case *net.IPAddr:
		return x.IP
	}
	return nil
}
