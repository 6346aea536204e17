package crm

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/systole/systole/cib"
)

// Lifetime says where a node attribute lives.
type Lifetime string

// The lifetimes of crm_attribute -l.
const (
	// LifetimeReboot attributes live in status/node_state/transient_attributes
	// and vanish when the node leaves the cluster.
	LifetimeReboot Lifetime = "reboot"
	// LifetimeForever attributes live in configuration/nodes/node/instance_attributes.
	LifetimeForever Lifetime = "forever"
)

// Attr is one node attribute update (the attrd role).
type Attr struct {
	// Node is the node the attribute belongs to.
	Node string
	// Name is the attribute name (standby, fail-count-..., pingd, ...).
	Name string
	// Value is the new value (ignored with Delete).
	Value string
	// Lifetime is reboot (transient) or forever (permanent).
	Lifetime Lifetime
	// Dampen delays the write; further updates within the delay are
	// coalesced into one CIB write of the latest value.
	Dampen time.Duration
	// Delete removes the attribute.
	Delete bool
}

type attrKey struct {
	node, name string
	life       Lifetime
}

type attrState struct {
	value    string
	del      bool
	dirty    bool
	due      time.Time
	gen      uint64
	inflight bool
	retryAt  time.Time
}

// SetAttr records an attribute update; it is written to the CIB through
// the DC once its dampening delay has passed, and rewritten whenever a new
// DC is elected until it is acknowledged (attribute writes carry absolute
// values, so repeating one is harmless).
func (n *Node) SetAttr(now time.Time, a Attr) error {
	n.now = now
	if !validName(a.Node) || !validName(a.Name) {
		return fmt.Errorf("crm: set attribute: %w: node %q, name %q", ErrBadRequest, a.Node, a.Name)
	}
	if a.Lifetime != LifetimeReboot && a.Lifetime != LifetimeForever {
		return fmt.Errorf("crm: set attribute: %w: lifetime %q", ErrBadRequest, a.Lifetime)
	}
	if a.Dampen < 0 {
		return fmt.Errorf("crm: set attribute: %w: negative dampen", ErrBadRequest)
	}
	k := attrKey{a.Node, a.Name, a.Lifetime}
	st := n.attrs[k]
	if st == nil {
		st = &attrState{}
		n.attrs[k] = st
	}
	st.value, st.del = a.Value, a.Delete
	st.gen++
	if !st.dirty {
		st.dirty, st.due = true, now.Add(a.Dampen)
	}
	n.attrTick(now)
	return nil
}

// FailCount records a failure of operation op (interval in ms) of rsc on
// node: it increments fail-count-RSC#OP_INTERVAL and sets
// last-failure-RSC#OP_INTERVAL to now (Unix seconds), both transient, as
// Pacemaker's controller does.
func (n *Node) FailCount(now time.Time, node, rsc, op string, intervalMs int64) error {
	suffix := fmt.Sprintf("%s#%s_%d", rsc, op, intervalMs)
	name := "fail-count-" + suffix
	cur, ok := "", false
	if st := n.attrs[attrKey{node, name, LifetimeReboot}]; st != nil && !st.del {
		cur, ok = st.value, true
	}
	if !ok {
		cur, _ = n.GetAttr(node, name, LifetimeReboot)
	}
	next := "1"
	if cur == "INFINITY" || cur == "+INFINITY" {
		next = "INFINITY"
	} else if v, err := strconv.ParseInt(cur, 10, 64); err == nil {
		next = strconv.FormatInt(v+1, 10)
	}
	if err := n.SetAttr(now, Attr{Node: node, Name: name, Value: next, Lifetime: LifetimeReboot}); err != nil {
		return err
	}
	return n.SetAttr(now, Attr{Node: node, Name: "last-failure-" + suffix, Value: strconv.FormatInt(now.Unix(), 10), Lifetime: LifetimeReboot})
}

// GetAttr reads an attribute from the local CIB replica.
func (n *Node) GetAttr(node, name string, life Lifetime) (string, bool) {
	if !validName(node) || !validName(name) {
		return "", false
	}
	xp := attrXPath(node, name, life)
	res, err := n.cib.Apply(cib.Request{Op: cib.OpQuery, XPath: xp})
	if err != nil || len(res.Output) == 0 {
		return "", false
	}
	return res.Output[0].SelectAttrValue("value", ""), true
}

func attrXPath(node, name string, life Lifetime) string {
	if life == LifetimeForever {
		return fmt.Sprintf("/cib/configuration/nodes/node[@id='%s']/instance_attributes/nvpair[@name='%s']", node, name)
	}
	return fmt.Sprintf("/cib/status/node_state[@id='%s']/transient_attributes/instance_attributes/nvpair[@name='%s']", node, name)
}

// attrID makes an XML id from a node and attribute name as Pacemaker does
// (status-NODE-NAME, '#' becomes '.').
func attrID(prefix, node, name string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
				return r
			}
			return '.'
		}, s)
	}
	return prefix + "-" + clean(node) + "-" + clean(name)
}

func attrRequest(k attrKey, st *attrState) cib.Request {
	if st.del {
		return cib.Request{Op: cib.OpDeleteAll, XPath: attrXPath(k.node, k.name, k.life)}
	}
	var top, set *etree.Element
	prefix := "status"
	if k.life == LifetimeForever {
		prefix = "nodes"
		top = etree.NewElement("node")
		top.CreateAttr("id", k.node)
		top.CreateAttr("uname", k.node)
		set = top.CreateElement("instance_attributes")
	} else {
		top = etree.NewElement("node_state")
		top.CreateAttr("id", k.node)
		top.CreateAttr("uname", k.node)
		ta := top.CreateElement("transient_attributes")
		ta.CreateAttr("id", k.node)
		set = ta.CreateElement("instance_attributes")
	}
	set.CreateAttr("id", prefix+"-"+k.node)
	nv := set.CreateElement("nvpair")
	nv.CreateAttr("id", attrID(prefix, k.node, k.name))
	nv.CreateAttr("name", k.name)
	nv.CreateAttr("value", st.value)
	d := etree.NewDocument()
	d.SetRoot(top)
	b, _ := d.WriteToBytes()
	scope := "status"
	if k.life == LifetimeForever {
		scope = "nodes"
	}
	return cib.Request{Op: cib.OpModify, Scope: scope, AllowCreate: true, XML: b, Client: "attrd"}
}

func (n *Node) sortedAttrKeys() []attrKey {
	keys := make([]attrKey, 0, len(n.attrs))
	for k := range n.attrs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.node != b.node {
			return a.node < b.node
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.life < b.life
	})
	return keys
}

// attrTick submits due attribute writes and re-sends stuck ones.
func (n *Node) attrTick(now time.Time) {
	for _, seq := range sortedSeqs(n.outstanding) {
		w := n.outstanding[seq]
		if w.attr != nil && !now.Before(w.deadline) {
			w.sentTo, w.deadline = "", now.Add(n.cfg.WriteTimeout)
			n.dispatch(now, seq, w)
		}
	}
	for _, k := range n.sortedAttrKeys() {
		st := n.attrs[k]
		if !st.dirty || st.inflight || now.Before(st.due) || now.Before(st.retryAt) {
			continue
		}
		st.inflight = true
		st.retryAt = now.Add(n.cfg.Retry)
		key := k
		n.submit(now, &outWrite{attr: &key, attrGen: st.gen, req: attrRequest(k, st), deadline: now.Add(n.cfg.WriteTimeout)})
	}
}

// attrDone handles the DC's answer to an attribute write.
func (n *Node) attrDone(k attrKey, gen uint64, err error) {
	st := n.attrs[k]
	if st == nil {
		return
	}
	st.inflight = false
	if err != nil && !(st.del && errors.Is(err, cib.ErrNotFound)) {
		n.log.Warn("attribute write failed", "attr", k.name, "target", k.node, "err", err)
		return // retried at the next tick after retryAt
	}
	if gen == st.gen {
		st.dirty = false
		if st.del {
			delete(n.attrs, k)
		}
	}
}

// attrsOnNewDC rewrites the transient attributes this node holds, since
// the DC clears those of nodes that left.
func (n *Node) attrsOnNewDC(now time.Time) {
	if !n.decided || n.dc == "" {
		return
	}
	for _, k := range n.sortedAttrKeys() {
		st := n.attrs[k]
		if k.life == LifetimeReboot && !st.del && !st.dirty {
			st.dirty, st.due = true, now
		}
	}
}
