package lab

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// partTable names the nftables table in a node's namespace that cuts it
// from the node named other.
func partTable(other string) string { return "systole_lab_part_" + other }

// Partition cuts the link between nodes a and b only, in both directions:
// in each one's namespace, nftables drops what comes from the other (by
// its address and by its MAC, so an address it took over is cut too) and
// what goes to the other's address. Every other path stays: a watcher
// namespace still reaches both, and both still reach the other nodes.
// Broadcasts leave both but are dropped on arrival. Namespace mode only.
func (c *Cluster) Partition(a, b int) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	if a == b {
		return fmt.Errorf("lab: partition %s from itself", c.Nodes[a].Name)
	}
	for _, p := range [][2]int{{a, b}, {b, a}} {
		if err := c.cutFrom(p[0], p[1]); err != nil {
			_ = c.HealPartition(a, b)
			return err
		}
	}
	return nil
}

// HealPartition removes the cut between a and b.
func (c *Cluster) HealPartition(a, b int) error {
	if c.Loopback {
		return ErrNeedsNamespaces
	}
	var first error
	for _, p := range [][2]int{{a, b}, {b, a}} {
		out, err := exec.Command("ip", "netns", "exec", c.Nodes[p[0]].NS, "nft", "delete", "table", "inet", partTable(c.Nodes[p[1]].Name)).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "No such file") && first == nil {
			first = fmt.Errorf("lab: heal %s-%s: %v: %s", c.Nodes[a].Name, c.Nodes[b].Name, err, out)
		}
	}
	return first
}

// cutFrom installs in node i's namespace the rules that drop j's traffic.
func (c *Cluster) cutFrom(i, j int) error {
	mac, err := c.mac(j)
	if err != nil {
		return err
	}
	peer := c.Nodes[j]
	t := partTable(peer.Name)
	rules := fmt.Sprintf(`table inet %s {
 chain in {
  type filter hook input priority -10; policy accept;
  ether saddr %s drop
  ip saddr %s drop
 }
 chain out {
  type filter hook output priority -10; policy accept;
  ip daddr %s drop
 }
}
`, t, mac, peer.Addr, peer.Addr)
	// replace a previous cut of the same pair
	_ = exec.Command("ip", "netns", "exec", c.Nodes[i].NS, "nft", "delete", "table", "inet", t).Run()
	cmd := exec.Command("ip", "netns", "exec", c.Nodes[i].NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: nft on %s: %v: %s", c.Nodes[i].Name, err, out)
	}
	return nil
}

// mac returns node i's eth0 hardware address.
func (c *Cluster) mac(i int) (string, error) {
	out, err := exec.Command("ip", "-n", c.Nodes[i].NS, "-j", "link", "show", "dev", "eth0").Output()
	if err != nil {
		return "", fmt.Errorf("lab: link of %s: %w", c.Nodes[i].Name, err)
	}
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 || links[0].Address == "" {
		return "", fmt.Errorf("lab: link of %s: %q", c.Nodes[i].Name, out)
	}
	return links[0].Address, nil
}
