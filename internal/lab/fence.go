package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// FenceFailFile is the flag file in the lab directory dir that makes the
// lab fence agent (cmd/fence_systole_lab) fail its fencing actions (rc 1)
// while it exists: the "fence device broken" fault.
func FenceFailFile(dir string) string { return filepath.Join(dir, "fence_systole_lab.fail") }

// SetFenceFail makes the lab fence agent fail (on) or work again (off).
func (c *Cluster) SetFenceFail(on bool) error {
	p := FenceFailFile(c.Dir)
	if !on {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("lab: %w", err)
		}
		return nil
	}
	return os.WriteFile(p, []byte("fence_systole_lab fails while this file exists\n"), 0o644)
}

// Fence powers node i off as a fence device would: its link goes down (the
// node's eth0 inside its namespace, and the bridge port when this process
// sees the bridge's namespace), then every process of the node dies
// (SIGKILL): systoled and its daemons (KillNode) and, in namespace mode,
// every other process in the node's network namespace (agents and their
// children). It is what cmd/fence_systole_lab runs; the node stays down
// until Boot.
func (c *Cluster) Fence(i int) error {
	nd := c.Nodes[i]
	var errs []error
	if !c.Loopback {
		// netlink from inside the namespace: no ip(8) to fork on the
		// fencing path
		if err := inNamespace(nd.NS, func() error {
			l, err := netlink.LinkByName("eth0")
			if err != nil {
				return err
			}
			return netlink.LinkSetDown(l)
		}); err != nil {
			errs = append(errs, fmt.Errorf("eth0 down: %w", err))
		}
		// the bridge end is in the lab's own namespace, which the agent
		// (run by another node's stonithd) may not be in: best effort
		if l, err := netlink.LinkByName(nd.HostVeth); err == nil {
			_ = netlink.LinkSetDown(l)
		}
	}
	if err := c.KillNode(i); err != nil {
		errs = append(errs, err)
	}
	if !c.Loopback {
		if err := killNamespace(nd.NS); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: fence %s: %w", nd.Name, err)
	}
	return nil
}

// Boot starts node i after Fence (or PowerOff): PowerOn (addresses
// resources added are removed, bridge port up, systoled started; StartNode
// brings the node's eth0 up again).
func (c *Cluster) Boot(i int) error { return c.PowerOn(i) }

// Running reports whether node i's systoled runs (a fence agent's status:
// on, else off).
func (c *Cluster) Running(i int) bool {
	return c.Nodes[i].Pid != 0 && isSystoled(c.Nodes[i].Pid)
}

// killNamespace sends SIGKILL to every process whose network namespace is
// ns, until none is left (a dying parent's children are seen at the next
// pass).
func killNamespace(ns string) error {
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		return fmt.Errorf("lab: namespace %s: %w", ns, err)
	}
	self := os.Getpid()
	for pass := 0; pass < 250; pass++ {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return err
		}
		found := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || pid == 1 {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) != nil || st.Ino != want.Ino || st.Dev != want.Dev {
				continue
			}
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && procState(b) == "Z" {
				continue
			}
			found++
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if found == 0 {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("lab: processes of namespace %s survive SIGKILL", ns)
}

// NodeNames lists the nodes' names (a fence agent's list action).
func (c *Cluster) NodeNames() []string {
	var names []string
	for _, nd := range c.Nodes {
		names = append(names, nd.Name)
	}
	return names
}
