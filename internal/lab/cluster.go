package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	cibclient "github.com/systole/systole/cib/client"
	"github.com/systole/systole/supervisor/server"
)

// ErrNeedsNamespaces is returned by fault injections that loopback mode
// cannot do (cutting links needs a network namespace per node).
var ErrNeedsNamespaces = errors.New("lab: needs namespace mode (root): loopback nodes share one network stack")

// ClusterOptions configure a cluster of whole nodes, each running systoled.
type ClusterOptions struct {
	// Loopback runs the nodes on 127.0.0.(11+i) in the host's network
	// namespace with ucast (no root needed) instead of namespaces on a
	// bridge with bcast (root).
	Loopback bool
	// Dir is the lab directory: the state file lab.json and one directory
	// per node (ha.cf, authkeys, run/, state/, systoled.log).
	Dir string
	// BinDir holds systoled, the daemons, cibadmin (and crm_mon,
	// crm_resource when built) and systole-ra.
	BinDir string
	// OCFRoot is the agents' root; "" makes Dir/ocf with the systole
	// agents (links to BinDir/systole-ra).
	OCFRoot string
	// Keepalive and Deadtime of ha.cf (default 100 ms and 500 ms).
	Keepalive, Deadtime time.Duration
	// Port is the UDP port (default: 694 with namespaces, a free port
	// above 20000 on loopback).
	Port int
	// LogLevel of the daemons (default info).
	LogLevel string
	// HaCfExtra is appended to every node's ha.cf.
	HaCfExtra string
	// SerialLinks are pairs of node indices joined by a null-modem cable
	// (a socat pseudo-terminal pair; see SerialLink), added to both
	// nodes' ha.cf as `serial` media.
	SerialLinks [][2]int
}

// Cluster is a running lab of whole nodes. Its state is kept in
// Dir/lab.json, so another process (`systole lab down`) can tear it down.
type Cluster struct {
	// ID is embedded in namespace and bridge names.
	ID string `json:"id"`
	// Dir is the lab directory.
	Dir string `json:"dir"`
	// Loopback is the mode.
	Loopback bool `json:"loopback"`
	// Bridge is the bridge in namespace mode.
	Bridge string `json:"bridge,omitempty"`
	// BinDir and OCFRoot as in ClusterOptions.
	BinDir  string `json:"bin_dir"`
	OCFRoot string `json:"ocf_root"`
	// Port is the UDP port of the messaging layer.
	Port int `json:"port"`
	// LogLevel of the daemons.
	LogLevel string `json:"log_level"`
	// Nodes in order.
	Nodes []*ClusterNode `json:"nodes"`
	// Serial are the nodes' serial cables (serial.go).
	Serial []*SerialLink `json:"serial,omitempty"`
}

// ClusterNode is one node of a Cluster.
type ClusterNode struct {
	// Name is the node's name (node1, node2, ...).
	Name string `json:"name"`
	// Addr is its address (127.0.0.x or 192.0.2.x).
	Addr netip.Addr `json:"addr"`
	// NS and HostVeth are its namespace and the bridge end of its veth
	// (namespace mode).
	NS       string `json:"ns,omitempty"`
	HostVeth string `json:"host_veth,omitempty"`
	// Dir holds ha.cf, authkeys, run/, state/ and systoled.log.
	Dir string `json:"dir"`
	// Pid is systoled's pid while the node runs, 0 when killed.
	Pid int `json:"pid"`
}

// RunDir is the node's run directory (sockets, logs/, status file).
func (n *ClusterNode) RunDir() string { return filepath.Join(n.Dir, "run") }

// StateDir is the node's state directory.
func (n *ClusterNode) StateDir() string { return filepath.Join(n.Dir, "state") }

// CIBSocket is the node's crmd socket (CIB_socket for the CLIs).
func (n *ClusterNode) CIBSocket() string { return filepath.Join(n.RunDir(), "cib.sock") }

// RscTmp is the agents' state directory (HA_RSCTMP) of the node.
func (n *ClusterNode) RscTmp() string { return filepath.Join(n.RunDir(), "rsctmp") }

// StateFile is the lab's state file in dir.
func StateFile(dir string) string { return filepath.Join(dir, "lab.json") }

// Up builds a cluster of n nodes and starts systoled on each (it does not
// wait for a DC: see WaitDC). On error it tears down what it made.
func Up(n int, o ClusterOptions) (c *Cluster, err error) {
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("lab: %d nodes (1..200)", n)
	}
	if o.Dir == "" || o.BinDir == "" {
		return nil, errors.New("lab: Dir and BinDir are required")
	}
	if !o.Loopback {
		if err := Available(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(StateFile(o.Dir)); err == nil {
		return nil, fmt.Errorf("lab: %s exists: a lab is up there (systole lab down --dir %s)", StateFile(o.Dir), o.Dir)
	}
	if o.Keepalive == 0 {
		o.Keepalive = 100 * time.Millisecond
	}
	if o.Deadtime == 0 {
		o.Deadtime = 500 * time.Millisecond
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	var rb [3]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(o.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	c = &Cluster{ID: hex.EncodeToString(rb[:]), Dir: dir, Loopback: o.Loopback, BinDir: bin, OCFRoot: o.OCFRoot,
		Port: o.Port, LogLevel: o.LogLevel}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Down()
		}
	}()
	var names []string
	for i := range n {
		nd := &ClusterNode{Name: fmt.Sprintf("node%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("node%d", i+1))}
		if o.Loopback {
			nd.Addr = netip.AddrFrom4([4]byte{127, 0, 0, byte(11 + i)})
		} else {
			nd.Addr = netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
			nd.NS = fmt.Sprintf("sy%s-%d", c.ID, i)
			nd.HostVeth = fmt.Sprintf("sy%sv%d", c.ID, i)
		}
		c.Nodes = append(c.Nodes, nd)
		names = append(names, nd.Name)
	}
	if c.Port == 0 {
		if o.Loopback {
			if c.Port, err = freePort(c.Nodes); err != nil {
				return c, err
			}
		} else {
			c.Port = 694
		}
	}
	if c.OCFRoot == "" {
		c.OCFRoot = filepath.Join(dir, "ocf")
		if err := installAgents(c.OCFRoot, filepath.Join(bin, "systole-ra")); err != nil {
			return c, err
		}
	}
	if !o.Loopback {
		c.Bridge = "sy" + c.ID + "br"
		if err := c.save(); err != nil { // before creating anything: down finds it
			return c, err
		}
		if err := c.buildNetwork(); err != nil {
			return c, err
		}
	}
	if err := c.startSerial(o.SerialLinks); err != nil {
		return c, err
	}
	for _, nd := range c.Nodes {
		if err := os.MkdirAll(nd.Dir, 0o755); err != nil {
			return c, err
		}
		var media string
		if o.Loopback {
			var peers []string
			for _, p := range c.Nodes {
				if p != nd {
					peers = append(peers, p.Addr.String())
				}
			}
			media = fmt.Sprintf("bind %s\nucast lo %s\n", nd.Addr, strings.Join(peers, " "))
		} else {
			media = "bcast eth0\n"
		}
		cf := fmt.Sprintf("# written by the systole lab\ncluster lab%s\nnode %s\nkeepalive %dms\nwarntime %dms\ndeadtime %dms\ninitdead 1\nudpport %d\n%s%s",
			c.ID, strings.Join(names, " "), o.Keepalive.Milliseconds(), (o.Deadtime * 3 / 5).Milliseconds(), o.Deadtime.Milliseconds(),
			c.Port, media+c.serialHaCf(nd), o.HaCfExtra)
		if err := os.WriteFile(filepath.Join(nd.Dir, "ha.cf"), []byte(cf), 0o644); err != nil {
			return c, err
		}
		if err := os.WriteFile(filepath.Join(nd.Dir, "authkeys"), []byte("auth 1\n1 sha256 lab-"+c.ID+"-secret\n"), 0o600); err != nil {
			return c, err
		}
	}
	if err := c.save(); err != nil {
		return c, err
	}
	for i := range c.Nodes {
		if err := c.StartNode(i); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Load reads the state file of the lab in dir.
func Load(dir string) (*Cluster, error) {
	b, err := os.ReadFile(StateFile(dir))
	if err != nil {
		return nil, fmt.Errorf("lab: no lab in %s: %w", dir, err)
	}
	var c Cluster
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", StateFile(dir), err)
	}
	return &c, nil
}

func (c *Cluster) save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := StateFile(c.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, StateFile(c.Dir))
}

// freePort finds a UDP port free on every node's address.
func freePort(nodes []*ClusterNode) (int, error) {
	for range 50 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		port := 20000 + int(b[0])<<8%30000 + int(b[1])
		ok := true
		var open []net.PacketConn
		for _, nd := range nodes {
			pc, err := net.ListenPacket("udp", netip.AddrPortFrom(nd.Addr, uint16(port)).String())
			if err != nil {
				ok = false
				break
			}
			open = append(open, pc)
		}
		for _, pc := range open {
			pc.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("lab: no free UDP port found")
}

// installAgents makes an OCF root with the systole agents as links to the
// multi-call binary.
func installAgents(root, ra string) error {
	d := filepath.Join(root, "resource.d", "systole")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(ra); err != nil {
		return fmt.Errorf("lab: agents: %w", err)
	}
	for _, a := range []string{"Dummy", "IPaddr", "Stateful", "anything", "ping"} {
		_ = os.Remove(filepath.Join(d, a))
		if err := os.Symlink(ra, filepath.Join(d, a)); err != nil {
			return err
		}
	}
	return nil
}

func ipCmd(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) buildNetwork() error {
	steps := [][]string{
		{"link", "add", c.Bridge, "type", "bridge"},
		{"link", "set", c.Bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"link", "set", c.Bridge, "up"},
	}
	for i, nd := range c.Nodes {
		peer := fmt.Sprintf("sy%sp%d", c.ID, i)
		steps = append(steps,
			[]string{"netns", "add", nd.NS},
			[]string{"link", "add", nd.HostVeth, "type", "veth", "peer", "name", peer},
			[]string{"link", "set", peer, "netns", nd.NS},
			[]string{"link", "set", nd.HostVeth, "master", c.Bridge},
			[]string{"link", "set", nd.HostVeth, "up"},
			[]string{"-n", nd.NS, "link", "set", peer, "name", "eth0"},
			[]string{"-n", nd.NS, "link", "set", "lo", "up"},
			[]string{"-n", nd.NS, "addr", "add", nd.Addr.String() + "/24", "brd", "+", "dev", "eth0"},
			[]string{"-n", nd.NS, "link", "set", "eth0", "up"})
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return err
		}
	}
	return nil
}

// StartNode starts systoled on node i (after KillNode: the state
// directories are kept, as after a reboot; the run directory is emptied).
func (c *Cluster) StartNode(i int) error {
	nd := c.Nodes[i]
	if nd.Pid != 0 && isSystoled(nd.Pid) {
		return fmt.Errorf("lab: %s is running (systoled pid %d)", nd.Name, nd.Pid)
	}
	_ = os.RemoveAll(nd.RunDir()) // a reboot empties /run
	if err := os.MkdirAll(nd.RscTmp(), 0o755); err != nil {
		return err
	}
	if !c.Loopback {
		// a boot brings the interface up (a fence agent downs it: Fence)
		if err := ipCmd("-n", nd.NS, "link", "set", "eth0", "up"); err != nil {
			return err
		}
	}
	args := []string{"start", "--node", nd.Name, "--run-dir", nd.RunDir(), "--state-dir", nd.StateDir(),
		"--ha-cf", filepath.Join(nd.Dir, "ha.cf"), "--authkeys", filepath.Join(nd.Dir, "authkeys"),
		"--bin-dir", c.BinDir, "--ocf-root", c.OCFRoot, "--rsctmp", nd.RscTmp(), "--log-level", c.LogLevel,
		"--stop-grace", "5s"}
	if os.Geteuid() != 0 {
		args = append(args, "--realtime", "0")
	}
	prog := filepath.Join(c.BinDir, "systoled")
	var cmd *exec.Cmd
	if c.Loopback {
		cmd = exec.Command(prog, args...)
	} else {
		cmd = exec.Command("ip", append([]string{"netns", "exec", nd.NS, prog}, args...)...)
	}
	logf, err := os.OpenFile(filepath.Join(nd.Dir, "systoled.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	// its own session: the lab command may exit, a terminal's Ctrl-C
	// does not reach the nodes
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("lab: start %s: %w", nd.Name, err)
	}
	go func() { _ = cmd.Wait() }() // reap: a zombie would look alive
	nd.Pid = cmd.Process.Pid
	return c.save()
}

// isSystoled reports whether pid is a live systoled (not a recycled pid).
func isSystoled(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && procState(st) == "Z" {
		return false
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0) == "systoled"
}

// procState returns the state letter of a /proc/PID/stat content.
func procState(stat []byte) string {
	s := string(stat)
	if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 {
		return f[0]
	}
	return ""
}

// NodeStatus reads node i's systoled status file.
func (c *Cluster) NodeStatus(i int) (server.Status, error) {
	return server.ReadStatus(filepath.Join(c.Nodes[i].RunDir(), "systoled.status"))
}

// KillNode kills node i outright: systoled and every daemon get SIGKILL
// (a power failure as far as the cluster can tell; state survives).
func (c *Cluster) KillNode(i int) error {
	nd := c.Nodes[i]
	st, _ := c.NodeStatus(i)
	if nd.Pid != 0 && isSystoled(nd.Pid) {
		_ = syscall.Kill(nd.Pid, syscall.SIGKILL)
	}
	for _, d := range st.Daemons {
		if d.Pid > 0 {
			_ = syscall.Kill(-d.Pid, syscall.SIGKILL)
			_ = syscall.Kill(d.Pid, syscall.SIGKILL)
		}
	}
	nd.Pid = 0
	return c.save()
}

// StopNode stops node i cleanly (systoled stops its daemons in reverse
// order) and waits up to timeout, then kills it.
func (c *Cluster) StopNode(i int, timeout time.Duration) error {
	nd := c.Nodes[i]
	if nd.Pid == 0 || !isSystoled(nd.Pid) {
		nd.Pid = 0
		return c.save()
	}
	_ = syscall.Kill(nd.Pid, syscall.SIGTERM)
	deadline := time.Now().Add(timeout)
	for isSystoled(nd.Pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	pid := nd.Pid
	err := c.KillNode(i) // whatever is left
	// wait until the exiting process is gone (or a zombie of its parent)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || procState(st) == "Z" {
			break
		}
	}
	return err
}

// RestartNode kills node i and starts it again.
func (c *Cluster) RestartNode(i int) error {
	if err := c.KillNode(i); err != nil {
		return err
	}
	return c.StartNode(i)
}

// KillDaemon sends SIGKILL to one daemon of node i; its systoled applies
// its restart policy.
func (c *Cluster) KillDaemon(i int, daemon string) error {
	st, err := c.NodeStatus(i)
	if err != nil {
		return err
	}
	for _, d := range st.Daemons {
		if d.Name == daemon {
			if d.Pid == 0 {
				return fmt.Errorf("lab: %s on %s is %s", daemon, c.Nodes[i].Name, d.State)
			}
			return syscall.Kill(d.Pid, syscall.SIGKILL)
		}
	}
	return fmt.Errorf("lab: no daemon %q on %s", daemon, c.Nodes[i].Name)
}

// FailResource makes the Dummy resource rsc on node i fail its next
// monitor, by removing its state file (HA_RSCTMP/Dummy-RSC.state).
func (c *Cluster) FailResource(i int, rsc string) error {
	inst := strings.NewReplacer("/", "_", ":", "_").Replace(rsc)
	p := filepath.Join(c.Nodes[i].RscTmp(), "Dummy-"+inst+".state")
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("lab: %s is not running on %s (a Dummy resource with the default state file): %w", rsc, c.Nodes[i].Name, err)
	}
	return nil
}

// CutLinks isolates node i: it neither sends nor receives cluster traffic
// (oneWay: it still sends but hears nothing). Namespace mode only.
func (c *Cluster) CutLinks(i int, oneWay bool) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	rules := "table inet systole_lab_cut {\n chain in {\n  type filter hook input priority 0; policy accept;\n  iifname \"eth0\" drop\n }\n"
	if !oneWay {
		rules += " chain out {\n  type filter hook output priority 0; policy accept;\n  oifname \"eth0\" drop\n }\n"
	}
	rules += "}\n"
	_ = c.Heal(i)
	cmd := exec.Command("ip", "netns", "exec", c.Nodes[i].NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: nft on %s: %v: %s", c.Nodes[i].Name, err, out)
	}
	return nil
}

// Heal removes the cut of node i.
func (c *Cluster) Heal(i int) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	out, err := exec.Command("ip", "netns", "exec", c.Nodes[i].NS, "nft", "delete", "table", "inet", "systole_lab_cut").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("lab: heal %s: %v: %s", c.Nodes[i].Name, err, out)
	}
	return nil
}

// Down stops every node (cleanly, then by force), removes namespaces and
// bridge, and removes the state file. It works on a half-built lab and
// after a crashed test.
func (c *Cluster) Down() error {
	done := make(chan struct{}, len(c.Nodes))
	for i := range c.Nodes {
		go func() { _ = c.StopNode(i, 10*time.Second); done <- struct{}{} }()
	}
	for range c.Nodes {
		<-done
	}
	c.stopSerial()
	var errs []error
	if !c.Loopback {
		for _, nd := range c.Nodes {
			if nd.NS != "" {
				_ = exec.Command("ip", "netns", "del", nd.NS).Run()
				_ = exec.Command("ip", "link", "del", nd.HostVeth).Run()
			}
		}
		if c.Bridge != "" {
			if out, err := exec.Command("ip", "link", "del", c.Bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
				errs = append(errs, fmt.Errorf("lab: del bridge %s: %v: %s", c.Bridge, err, out))
			}
		}
	}
	if err := os.Remove(StateFile(c.Dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Query returns node i's CIB (its local replica, the <cib> element).
func (c *Cluster) Query(i int) (*etree.Element, error) {
	cl, err := cibclient.DialUnix(c.Nodes[i].CIBSocket())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	els, _, err := cl.Query(ctx, cib.Request{Op: cib.OpQuery})
	if err != nil {
		return nil, err
	}
	if len(els) != 1 {
		return nil, fmt.Errorf("lab: query of %s returned %d elements", c.Nodes[i].Name, len(els))
	}
	return els[0], nil
}

// DC returns the DC that every running node's CIB names (dc-uuid), or ""
// while they do not agree.
func (c *Cluster) DC() string {
	dc := ""
	for i, nd := range c.Nodes {
		if nd.Pid == 0 {
			continue
		}
		x, err := c.Query(i)
		if err != nil {
			return ""
		}
		d := x.SelectAttrValue("dc-uuid", "")
		if d == "" || (dc != "" && d != dc) {
			return ""
		}
		dc = d
	}
	return dc
}

// WaitDC waits until the running nodes agree on a DC and returns it.
func (c *Cluster) WaitDC(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if dc := c.DC(); dc != "" {
			return dc, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("lab: no agreed DC within %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Index returns the index of the node named name, or -1.
func (c *Cluster) Index(name string) int {
	for i, nd := range c.Nodes {
		if nd.Name == name {
			return i
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(c.Nodes) {
		return n - 1
	}
	return -1
}

// Tool runs a CLI binary of BinDir (cibadmin, crm_mon, crm_resource...)
// against node i's CIB (CIB_socket) and returns its combined output.
func (c *Cluster) Tool(i int, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "CIB_socket="+c.Nodes[i].CIBSocket(), "CIB_file=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab: %s %s on %s: %w: %s", name, strings.Join(args, " "), c.Nodes[i].Name, err, out)
	}
	return string(out), nil
}

// Cibadmin runs cibadmin against node i.
func (c *Cluster) Cibadmin(i int, args ...string) (string, error) {
	return c.Tool(i, "cibadmin", args...)
}

// CrmMon runs crm_mon against node i (one shot, -1, unless args say
// otherwise).
func (c *Cluster) CrmMon(i int, args ...string) (string, error) {
	if len(args) == 0 {
		args = []string{"-1"}
	}
	return c.Tool(i, "crm_mon", args...)
}
