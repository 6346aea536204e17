package cts

import (
	"fmt"
	"net/netip"
	"strings"
)

// The suite's resources: Dummies d1 and d2, a group g of a virtual IP and
// a Dummy, a second virtual IP ip2 with d1, and an anonymous clone of a
// Dummy. Every monitor runs every 2 s.
var (
	vip1 = netip.MustParseAddr("192.0.2.100")
	vip2 = netip.MustParseAddr("192.0.2.101")
	// watcherAddr is the watcher namespace's address (no node's).
	watcherAddr = netip.MustParseAddr("192.0.2.250")
)

// rscKind says how the suite observes a primitive.
type rscKind int

const (
	kindDummy rscKind = iota // Dummy state file in HA_RSCTMP
	kindVIP                  // address on eth0, ARP answers
)

// primitive is one primitive of the configuration as the suite sees it.
type primitive struct {
	ID    string
	Kind  rscKind
	VIP   netip.Addr
	Clone bool // an anonymous clone's primitive: one instance per node
}

// primitives lists every primitive of the configuration.
var primitives = []primitive{
	{ID: "d1", Kind: kindDummy},
	{ID: "d2", Kind: kindDummy},
	{ID: "g-ip", Kind: kindVIP, VIP: vip1},
	{ID: "g-d", Kind: kindDummy},
	{ID: "ip2", Kind: kindVIP, VIP: vip2},
	{ID: "c", Kind: kindDummy, Clone: true},
}

// dummyIDs are the Dummy primitives FailResource can fail.
var dummyIDs = []string{"d1", "d2", "g-d", "c"}

func dummyXML(id string) string {
	return fmt.Sprintf(`<primitive id="%[1]s" class="ocf" provider="systole" type="Dummy">
  <operations><op id="%[1]s-mon" name="monitor" interval="2s" timeout="20s"/></operations>
</primitive>`, id)
}

func vipXML(id string, a netip.Addr) string {
	return fmt.Sprintf(`<primitive id="%[1]s" class="ocf" provider="systole" type="IPaddr">
  <instance_attributes id="%[1]s-ia">
    <nvpair id="%[1]s-ip" name="ip" value="%[2]s"/>
    <nvpair id="%[1]s-nm" name="cidr_netmask" value="24"/>
    <nvpair id="%[1]s-nic" name="nic" value="eth0"/>
    <nvpair id="%[1]s-arp" name="arp_count" value="1"/>
  </instance_attributes>
  <operations><op id="%[1]s-mon" name="monitor" interval="2s" timeout="20s"/></operations>
</primitive>`, id, a)
}

// resourcesXML is the resources section.
func resourcesXML() string {
	return "<resources>\n" + strings.Join([]string{
		dummyXML("d1"), dummyXML("d2"),
		`<group id="g">` + vipXML("g-ip", vip1) + dummyXML("g-d") + `</group>`,
		vipXML("ip2", vip2),
		`<clone id="cl">` + dummyXML("c") + `<meta_attributes id="cl-meta"><nvpair id="cl-inl" name="interleave" value="true"/></meta_attributes></clone>`,
	}, "\n") + "\n</resources>"
}

// constraintsXML is the constraints section: g prefers node1, ip2 runs
// with d1 and starts after it, d2 keeps away from g, g starts after the
// clone.
func constraintsXML() string {
	return `<constraints>
  <rsc_location id="loc-g" rsc="g" node="node1" score="100"/>
  <rsc_location id="loc-d1" rsc="d1" node="node2" score="50"/>
  <rsc_colocation id="col-ip2-d1" rsc="ip2" with-rsc="d1" score="INFINITY"/>
  <rsc_order id="ord-d1-ip2" first="d1" then="ip2" kind="Mandatory"/>
  <rsc_colocation id="col-d2-g" rsc="d2" with-rsc="g" score="-1000"/>
  <rsc_order id="ord-cl-g" first="cl" then="g" kind="Optional"/>
</constraints>`
}

// instanceOf maps a Dummy state file's instance name (Dummy-INST.state)
// to its primitive: d1, or c for c, c_0, c_1...
func instanceOf(inst string) (string, bool) {
	for _, p := range primitives {
		if p.Kind != kindDummy {
			continue
		}
		if inst == p.ID {
			return p.ID, true
		}
		if p.Clone && strings.HasPrefix(inst, p.ID+"_") {
			return p.ID, true
		}
	}
	return "", false
}
