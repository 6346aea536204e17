package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// SerialLink is a null-modem cable between two nodes of a Cluster: a socat
// process joining two pseudo-terminals, whose stable paths (symlinks in
// the lab directory) are the nodes' `serial` devices in ha.cf.
// Pseudo-terminals are not bound to network namespaces, so cutting a
// node's network leaves its cable working.
type SerialLink struct {
	// A and B are the indices of the nodes at each end.
	A int `json:"a"`
	B int `json:"b"`
	// PathA and PathB are the devices of node A and node B.
	PathA string `json:"path_a"`
	PathB string `json:"path_b"`
	// Pid is socat's pid (0 once stopped).
	Pid int `json:"pid"`
}

// serialBaud is the lab's serial speed: pseudo-terminals ignore it, but
// the messaging layer sizes its slow-medium traffic by it.
const serialBaud = 115200

// startSerial starts one socat per pair of node indices and records the
// cables in the state file (so Down finds the socats).
func (c *Cluster) startSerial(pairs [][2]int) error {
	if len(pairs) == 0 {
		return nil
	}
	if _, err := exec.LookPath("socat"); err != nil {
		return fmt.Errorf("lab: serial links need socat: %w", err)
	}
	for k, p := range pairs {
		if p[0] < 0 || p[1] < 0 || p[0] >= len(c.Nodes) || p[1] >= len(c.Nodes) || p[0] == p[1] {
			return fmt.Errorf("lab: serial link %d: bad node pair %v", k, p)
		}
		l := &SerialLink{A: p[0], B: p[1],
			PathA: filepath.Join(c.Dir, fmt.Sprintf("tty%d-%s", k, c.Nodes[p[0]].Name)),
			PathB: filepath.Join(c.Dir, fmt.Sprintf("tty%d-%s", k, c.Nodes[p[1]].Name))}
		_ = os.Remove(l.PathA)
		_ = os.Remove(l.PathB)
		cmd := exec.Command("socat", "pty,raw,echo=0,link="+l.PathA, "pty,raw,echo=0,link="+l.PathB)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("lab: socat: %w", err)
		}
		go func() { _ = cmd.Wait() }()
		l.Pid = cmd.Process.Pid
		c.Serial = append(c.Serial, l)
		if err := c.save(); err != nil {
			return err
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, ea := os.Stat(l.PathA)
			_, eb := os.Stat(l.PathB)
			if ea == nil && eb == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("lab: socat's pseudo-terminals %s %s did not appear", l.PathA, l.PathB)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// serialHaCf returns node nd's ha.cf lines for its cables ("" when none).
func (c *Cluster) serialHaCf(nd *ClusterNode) string {
	var b strings.Builder
	for _, l := range c.Serial {
		switch nd {
		case c.Nodes[l.A]:
			fmt.Fprintf(&b, "serial %s\n", l.PathA)
		case c.Nodes[l.B]:
			fmt.Fprintf(&b, "serial %s\n", l.PathB)
		}
	}
	if b.Len() > 0 {
		fmt.Fprintf(&b, "baud %d\n", serialBaud)
	}
	return b.String()
}

// isSocat reports whether pid is a live socat.
func isSocat(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0) == "socat"
}

// stopSerial kills every cable's socat (checked against its cmdline).
func (c *Cluster) stopSerial() {
	for _, l := range c.Serial {
		if l.Pid > 0 && isSocat(l.Pid) {
			_ = syscall.Kill(l.Pid, syscall.SIGCONT) // a paused socat dies too
			_ = syscall.Kill(l.Pid, syscall.SIGKILL)
		}
		l.Pid = 0
	}
}

// PauseSerial stops the k-th cable's socat (SIGSTOP): nothing crosses the
// cable until ResumeSerial, but both ends keep their devices open, as with
// a cable pulled out and plugged back.
func (c *Cluster) PauseSerial(k int) error { return c.signalSerial(k, syscall.SIGSTOP) }

// ResumeSerial lets the k-th cable carry data again (SIGCONT).
func (c *Cluster) ResumeSerial(k int) error { return c.signalSerial(k, syscall.SIGCONT) }

func (c *Cluster) signalSerial(k int, sig syscall.Signal) error {
	if k < 0 || k >= len(c.Serial) {
		return fmt.Errorf("lab: no serial link %d (%d configured)", k, len(c.Serial))
	}
	l := c.Serial[k]
	if l.Pid <= 0 || !isSocat(l.Pid) {
		return fmt.Errorf("lab: serial link %d (%s-%s) has no socat running", k, c.Nodes[l.A].Name, c.Nodes[l.B].Name)
	}
	return syscall.Kill(l.Pid, sig)
}

// SetBridgePort takes node i's bridge port down or up (namespace mode): a
// LAN cable pulled out or plugged back in. Its serial cables, if any, are
// not affected.
func (c *Cluster) SetBridgePort(i int, up bool) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	l, err := netlink.LinkByName(c.Nodes[i].HostVeth)
	if err != nil {
		return fmt.Errorf("lab: port of %s: %w", c.Nodes[i].Name, err)
	}
	if up {
		err = netlink.LinkSetUp(l)
	} else {
		err = netlink.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("lab: port of %s up=%v: %w", c.Nodes[i].Name, up, err)
	}
	return nil
}
