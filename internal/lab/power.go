package lab

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
)

// PowerOff is a power cut of node i in namespace mode: its bridge port goes
// down (the node's kernel no longer answers for the addresses it holds, such
// as a virtual IP an IPaddr resource added) and then every process of the
// node gets SIGKILL (KillNode). KillNode alone leaves the namespace's
// addresses answering, which is not what a dead machine does. In loopback
// mode it is KillNode.
func (c *Cluster) PowerOff(i int) error {
	if !c.Loopback {
		l, err := netlink.LinkByName(c.Nodes[i].HostVeth)
		if err != nil {
			return fmt.Errorf("lab: power off %s: %w", c.Nodes[i].Name, err)
		}
		if err := netlink.LinkSetDown(l); err != nil {
			return fmt.Errorf("lab: power off %s: link down: %w", c.Nodes[i].Name, err)
		}
	}
	return c.KillNode(i)
}

// PowerOn boots node i again after PowerOff: the addresses a resource added
// to its eth0 are removed (a reboot forgets them), its bridge port comes
// up, and systoled starts (StartNode).
func (c *Cluster) PowerOn(i int) error {
	nd := c.Nodes[i]
	if !c.Loopback {
		if err := c.flushExtraAddrs(i); err != nil {
			return err
		}
		l, err := netlink.LinkByName(nd.HostVeth)
		if err != nil {
			return fmt.Errorf("lab: power on %s: %w", nd.Name, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("lab: power on %s: link up: %w", nd.Name, err)
		}
	}
	return c.StartNode(i)
}

// Addrs returns the IPv4 and global IPv6 addresses on node i's eth0
// (namespace mode).
func (c *Cluster) Addrs(i int) ([]netip.Addr, error) {
	if c.Loopback {
		return nil, ErrNeedsNamespaces
	}
	out, err := exec.Command("ip", "-n", c.Nodes[i].NS, "-o", "addr", "show", "dev", "eth0", "scope", "global").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("lab: addresses of %s: %v: %s", c.Nodes[i].Name, err, out)
	}
	var addrs []netip.Addr
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for k := 0; k+1 < len(f); k++ {
			if f[k] == "inet" || f[k] == "inet6" {
				if p, err := netip.ParsePrefix(f[k+1]); err == nil {
					addrs = append(addrs, p.Addr())
				}
			}
		}
	}
	return addrs, nil
}

// HasAddr reports whether node i's eth0 holds a.
func (c *Cluster) HasAddr(i int, a netip.Addr) bool {
	addrs, err := c.Addrs(i)
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if x == a {
			return true
		}
	}
	return false
}

func (c *Cluster) flushExtraAddrs(i int) error {
	nd := c.Nodes[i]
	addrs, err := c.Addrs(i)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a == nd.Addr {
			continue
		}
		out, err := exec.Command("ip", "-n", nd.NS, "-o", "addr", "show", "dev", "eth0", "to", a.String()).CombinedOutput()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			for k := 0; k+1 < len(f); k++ {
				if f[k] == "inet" || f[k] == "inet6" {
					if o, err := exec.Command("ip", "-n", nd.NS, "addr", "del", f[k+1], "dev", "eth0").CombinedOutput(); err != nil {
						return fmt.Errorf("lab: power on %s: removing %s: %v: %s", nd.Name, f[k+1], err, o)
					}
				}
			}
		}
	}
	return nil
}
