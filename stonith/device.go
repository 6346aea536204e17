package stonith

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
)

// Action is a fence-agents action.
type Action string

// The fence-agents actions (FenceAgentAPI.md).
const (
	ActionOff         Action = "off"
	ActionOn          Action = "on"
	ActionReboot      Action = "reboot"
	ActionStatus      Action = "status"
	ActionMonitor     Action = "monitor"
	ActionList        Action = "list"
	ActionMetadata    Action = "metadata"
	ActionValidateAll Action = "validate-all"
)

// Agent exit codes of the fence-agents protocol.
const (
	RCOK   = 0 // success; for status: the port is on
	RCFail = 1 // failure
	RCOff  = 2 // status/monitor: the port is off
)

// HostCheck is how a device decides whether it can fence a target
// (pcmk_host_check).
type HostCheck string

// The pcmk_host_check values.
const (
	CheckStaticList  HostCheck = "static-list"  // target in pcmk_host_list or pcmk_host_map
	CheckDynamicList HostCheck = "dynamic-list" // target in the agent's list output
	CheckStatus      HostCheck = "status"       // the agent's status of the target's port answers 0 or 2
	CheckNone        HostCheck = "none"         // the device can fence every node
)

// Device is a fence device: a CIB primitive of class stonith.
type Device struct {
	ID    string
	Agent string // fence agent name, e.g. fence_ipmilan
	// Params are the instance attributes passed to the agent; pcmk_*
	// attributes are interpreted here and not passed.
	Params    map[string]string
	HostList  []string          // pcmk_host_list
	HostMap   map[string]string // pcmk_host_map: node -> port
	HostCheck HostCheck         // pcmk_host_check (defaulted, see ParseCIB)
	// HostArgument is the agent parameter that carries the port
	// (pcmk_host_argument, default "port"); "none" sends no port.
	HostArgument string
	DelayBase    time.Duration // pcmk_delay_base
	DelayMax     time.Duration // pcmk_delay_max
	// ActionMap maps a fencing action to the agent action to run
	// (pcmk_reboot_action=off and friends).
	ActionMap map[Action]string
	Timeouts  map[Action]time.Duration // pcmk_<action>_timeout
	Retries   map[Action]int           // pcmk_<action>_retries
	Priority  int                      // meta attribute priority
	Disabled  bool                     // meta attribute target-role=Stopped
	// MonitorInterval is pcmk_monitor_interval, the recurring monitor's
	// period, when MonitorIntervalSet (0 disables it); otherwise the
	// daemon's default applies.
	MonitorInterval    time.Duration
	MonitorIntervalSet bool
	// Unfencing is meta provides=unfencing: the device turns a node on
	// ("unfences" it) when it joins the cluster.
	Unfencing bool
}

// AgentAction returns the agent action that carries out a, after
// pcmk_<a>_action.
func (d *Device) AgentAction(a Action) string {
	if v := d.ActionMap[a]; v != "" {
		return v
	}
	return string(a)
}

// Port returns the port (plug) the agent acts on to fence target.
func (d *Device) Port(target string) string {
	if p, ok := d.HostMap[target]; ok {
		return p
	}
	return target
}

// Retry returns how many times a failed action is tried again
// (pcmk_<action>_retries, default 2 as Pacemaker).
func (d *Device) Retry(a Action) int {
	if n, ok := d.Retries[a]; ok {
		return n
	}
	return 2
}

// Args returns the stdin arguments for action a on target ("" for
// actions without a target: list, monitor, metadata, validate-all), in
// the order they are written: action, nodename and port first, then the
// device's parameters sorted by name.
func (d *Device) Args(a Action, target string) []Arg {
	args := []Arg{{"action", d.AgentAction(a)}}
	if target != "" {
		args = append(args, Arg{"nodename", target})
		if d.HostArgument != "none" {
			args = append(args, Arg{d.HostArgument, d.Port(target)})
		}
	}
	names := make([]string, 0, len(d.Params))
	for n := range d.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch n {
		case "action", "nodename", d.HostArgument:
			continue // ours win
		}
		args = append(args, Arg{n, d.Params[n]})
	}
	return args
}

// Arg is one name=value line of the fence-agents stdin protocol.
type Arg struct{ Name, Value string }

// Encode writes args as the agent's stdin: one name=value line each. A
// name or value that would split or forge a line is an ErrBadArgument.
func Encode(args []Arg) ([]byte, error) {
	var b strings.Builder
	for _, a := range args {
		if a.Name == "" || strings.ContainsAny(a.Name, "=\n\r\x00") || strings.ContainsAny(a.Value, "\n\r\x00") {
			return nil, fmt.Errorf("%w: %q=%q", ErrBadArgument, a.Name, a.Value)
		}
		b.WriteString(a.Name)
		b.WriteByte('=')
		b.WriteString(a.Value)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// Level is a fencing level (<fencing-level>): to fence a matching target,
// every device of the level must succeed.
type Level struct {
	ID            string
	Index         int    // 1..9, tried in increasing order
	Target        string // node name, or
	TargetPattern string // a regular expression over node names
	Devices       []string
	pattern       *regexp.Regexp
}

// Matches reports whether the level applies to target.
func (l *Level) Matches(target string) bool {
	if l.pattern != nil {
		return l.pattern.MatchString(target)
	}
	return l.Target == target
}

// Topology is the fencing configuration of a CIB: its devices and levels.
type Topology struct {
	Devices map[string]*Device
	Levels  []Level // sorted by index, then id
	// Options are the crm_config options stonithd uses.
	Options Options
	// Warnings name the options that were ignored (a bad value); they do
	// not make the configuration unusable.
	Warnings []string
}

// Options are the cluster options (crm_config) of fencing. Both the
// current names (fencing-*) and the older stonith-* names are read, the
// newer first, as Pacemaker 3.
type Options struct {
	// Timeout is stonith-timeout: the default operation timeout; 0 when
	// not set (the Fencer's DefaultTimeout applies).
	Timeout time.Duration
	// WatchdogTimeout is stonith-watchdog-timeout: > 0 enables watchdog
	// self-fencing (a node that must be fenced is considered fenced this
	// long after it lost the cluster, because its watchdog reset it).
	WatchdogTimeout time.Duration
}

// readOptions reads the fencing options of crm_config. A bad value is
// ignored with a warning.
func readOptions(root *etree.Element) (Options, []string) {
	var o Options
	var warn []string
	nv := map[string]string{}
	for _, set := range root.FindElements("./configuration/crm_config/cluster_property_set") {
		for _, p := range set.SelectElements("nvpair") {
			if n := p.SelectAttrValue("name", ""); n != "" {
				if _, seen := nv[n]; !seen {
					nv[n] = p.SelectAttrValue("value", "")
				}
			}
		}
	}
	get := func(names ...string) (string, string, bool) {
		for _, n := range names {
			if v, ok := nv[n]; ok {
				return n, v, true
			}
		}
		return "", "", false
	}
	if n, v, ok := get("fencing-timeout", "stonith-timeout"); ok {
		ms, err := cib.ParseInterval(v)
		if err != nil || ms <= 0 {
			warn = append(warn, fmt.Sprintf("%s %q ignored: not a positive duration", n, v))
		} else {
			o.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if n, v, ok := get("fencing-watchdog-timeout", "stonith-watchdog-timeout"); ok {
		t := strings.TrimSpace(v)
		switch ms, err := cib.ParseInterval(strings.TrimPrefix(t, "-")); {
		case err != nil:
			warn = append(warn, fmt.Sprintf("%s %q ignored: not a duration", n, v))
		case strings.HasPrefix(t, "-") && ms != 0:
			warn = append(warn, fmt.Sprintf("%s %q ignored: a negative value (derive from SBD_WATCHDOG_TIMEOUT) is not supported; set a positive duration", n, v))
		default:
			o.WatchdogTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	return o, warn
}

// LevelsFor returns the levels that apply to target, in index order.
// Two levels with the same index for one target are a configuration error
// ParseCIB reports.
func (t *Topology) LevelsFor(target string) []Level {
	var out []Level
	for _, l := range t.Levels {
		if l.Matches(target) {
			out = append(out, l)
		}
	}
	return out
}

// DeviceIDs returns the ids of the devices, sorted.
func (t *Topology) DeviceIDs() []string {
	ids := make([]string, 0, len(t.Devices))
	for id := range t.Devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// ParseCIB reads the fence devices (primitives of class stonith anywhere
// under resources) and the fencing topology from a CIB document. A CIB
// without either gives an empty Topology.
func ParseCIB(data []byte) (*Topology, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCIB, err)
	}
	return FromDocument(doc)
}

// FromDocument is ParseCIB on a parsed document.
func FromDocument(doc *etree.Document) (*Topology, error) {
	t := &Topology{Devices: map[string]*Device{}}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: empty document", ErrBadCIB)
	}
	t.Options, t.Warnings = readOptions(root)
	for _, p := range root.FindElements("./configuration/resources//primitive[@class='stonith']") {
		d, err := parseDevice(p)
		if err != nil {
			return nil, err
		}
		if _, dup := t.Devices[d.ID]; dup {
			return nil, fmt.Errorf("%w: device %s defined twice", ErrBadCIB, d.ID)
		}
		t.Devices[d.ID] = d
	}
	seen := map[string]string{}
	for _, e := range root.FindElements("./configuration/fencing-topology/fencing-level") {
		l, err := parseLevel(e)
		if err != nil {
			return nil, err
		}
		key := l.Target + "\x00" + l.TargetPattern + "\x00" + strconv.Itoa(l.Index)
		if other, dup := seen[key]; dup {
			return nil, fmt.Errorf("%w: fencing-level %s: index %d already used by %s", ErrBadCIB, l.ID, l.Index, other)
		}
		seen[key] = l.ID
		t.Levels = append(t.Levels, l)
	}
	sort.SliceStable(t.Levels, func(i, j int) bool {
		if t.Levels[i].Index != t.Levels[j].Index {
			return t.Levels[i].Index < t.Levels[j].Index
		}
		return t.Levels[i].ID < t.Levels[j].ID
	})
	return t, nil
}

func parseLevel(e *etree.Element) (Level, error) {
	l := Level{ID: e.SelectAttrValue("id", ""), Target: e.SelectAttrValue("target", ""),
		TargetPattern: e.SelectAttrValue("target-pattern", "")}
	bad := func(format string, a ...any) (Level, error) {
		return Level{}, fmt.Errorf("%w: fencing-level %q: %s", ErrBadCIB, l.ID, fmt.Sprintf(format, a...))
	}
	if l.ID == "" {
		return bad("no id")
	}
	idx, err := strconv.Atoi(e.SelectAttrValue("index", ""))
	if err != nil || idx < 1 || idx > 9 {
		return bad("index %q is not 1..9", e.SelectAttrValue("index", ""))
	}
	l.Index = idx
	switch {
	case e.SelectAttr("target-attribute") != nil:
		return bad("target-attribute is not supported yet (use target or target-pattern)")
	case l.Target != "" && l.TargetPattern != "":
		return bad("both target and target-pattern")
	case l.TargetPattern != "":
		re, err := regexp.Compile(l.TargetPattern)
		if err != nil {
			return bad("target-pattern: %v", err)
		}
		l.pattern = re
	case l.Target == "":
		return bad("no target")
	}
	for _, d := range strings.Split(e.SelectAttrValue("devices", ""), ",") {
		if d = strings.TrimSpace(d); d != "" {
			l.Devices = append(l.Devices, d)
		}
	}
	if len(l.Devices) == 0 {
		return bad("no devices")
	}
	return l, nil
}

// nvpairs returns the name/value pairs of the element's child sets of the
// given tag (instance_attributes, meta_attributes), later sets first
// overridden by earlier ones as Pacemaker's first-set-wins rule.
func nvpairs(e *etree.Element, tag string) map[string]string {
	out := map[string]string{}
	for _, set := range e.SelectElements(tag) {
		for _, nv := range set.SelectElements("nvpair") {
			n := nv.SelectAttrValue("name", "")
			if _, ok := out[n]; !ok && n != "" {
				out[n] = nv.SelectAttrValue("value", "")
			}
		}
	}
	return out
}

var actions = []Action{ActionOff, ActionOn, ActionReboot, ActionStatus, ActionMonitor, ActionList}

func parseDevice(p *etree.Element) (*Device, error) {
	d := &Device{ID: p.SelectAttrValue("id", ""), Agent: p.SelectAttrValue("type", ""), Params: map[string]string{},
		HostMap: map[string]string{}, HostArgument: "port", ActionMap: map[Action]string{},
		Timeouts: map[Action]time.Duration{}, Retries: map[Action]int{}}
	bad := func(format string, a ...any) (*Device, error) {
		return nil, fmt.Errorf("%w: device %q: %s", ErrBadCIB, d.ID, fmt.Sprintf(format, a...))
	}
	if d.ID == "" {
		return bad("no id")
	}
	if d.Agent == "" || strings.ContainsAny(d.Agent, "/\x00") || d.Agent == "." || d.Agent == ".." {
		return bad("bad agent type %q", d.Agent)
	}
	dur := func(name, v string) (time.Duration, error) {
		ms, err := cib.ParseInterval(v)
		if err != nil {
			return 0, fmt.Errorf("%w: device %q: %s: %v", ErrBadCIB, d.ID, name, err)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	var err error
	for n, v := range nvpairs(p, "instance_attributes") {
		if strings.ContainsAny(n, "=\n\r\x00") || strings.ContainsAny(v, "\n\r\x00") {
			return bad("parameter %q: names and values cannot hold a newline (nor names '=')", n)
		}
		if !strings.HasPrefix(n, "pcmk_") {
			d.Params[n] = v
			continue
		}
		switch n {
		case "pcmk_host_list":
			d.HostList = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' })
		case "pcmk_host_map":
			if d.HostMap, err = parseHostMap(v); err != nil {
				return bad("pcmk_host_map: %v", err)
			}
		case "pcmk_host_check":
			switch c := HostCheck(v); c {
			case CheckStaticList, CheckDynamicList, CheckStatus, CheckNone:
				d.HostCheck = c
			default:
				return bad("pcmk_host_check %q is not static-list, dynamic-list, status or none", v)
			}
		case "pcmk_host_argument":
			d.HostArgument = v
		case "pcmk_delay_base":
			if d.DelayBase, err = dur(n, v); err != nil {
				return nil, err
			}
		case "pcmk_delay_max":
			if d.DelayMax, err = dur(n, v); err != nil {
				return nil, err
			}
		case "pcmk_monitor_interval":
			if d.MonitorInterval, err = dur(n, v); err != nil {
				return nil, err
			}
			d.MonitorIntervalSet = true
		default:
			if err := d.actionParam(n, v, dur); err != nil {
				return nil, err
			}
		}
	}
	if d.HostArgument == "" {
		d.HostArgument = "port"
	}
	for _, p := range append(d.HostList, mapValues(d.HostMap)...) {
		if strings.ContainsAny(p, "=\n\r\x00") {
			return bad("host or port %q", p)
		}
	}
	if strings.ContainsAny(d.HostArgument, "=\n\r\x00") {
		return bad("pcmk_host_argument %q", d.HostArgument)
	}
	if d.HostCheck == "" {
		// Pacemaker's default: a static list when the device names its
		// hosts, otherwise ask the agent.
		d.HostCheck = CheckDynamicList
		if len(d.HostList) > 0 || len(d.HostMap) > 0 {
			d.HostCheck = CheckStaticList
		}
	}
	meta := nvpairs(p, "meta_attributes")
	if v, ok := meta["priority"]; ok {
		if d.Priority, err = strconv.Atoi(v); err != nil {
			return bad("priority %q is not an integer", v)
		}
	}
	if strings.EqualFold(meta["target-role"], "Stopped") {
		d.Disabled = true
	}
	if strings.EqualFold(strings.TrimSpace(meta["provides"]), "unfencing") {
		d.Unfencing = true
	}
	return d, nil
}

// actionParam reads pcmk_<action>_action, _timeout and _retries; other
// pcmk_ names are ignored as Pacemaker ignores unknown ones.
func (d *Device) actionParam(n, v string, dur func(string, string) (time.Duration, error)) error {
	for _, a := range actions {
		prefix := "pcmk_" + string(a) + "_"
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		switch strings.TrimPrefix(n, prefix) {
		case "action":
			if v == "" || strings.ContainsAny(v, "\n\r\x00") {
				return fmt.Errorf("%w: device %q: %s %q", ErrBadCIB, d.ID, n, v)
			}
			d.ActionMap[a] = v
		case "timeout":
			t, err := dur(n, v)
			if err != nil {
				return err
			}
			d.Timeouts[a] = t
		case "retries":
			r, err := strconv.Atoi(v)
			if err != nil || r < 0 {
				return fmt.Errorf("%w: device %q: %s %q is not a count", ErrBadCIB, d.ID, n, v)
			}
			d.Retries[a] = r
		}
	}
	return nil
}

// parseHostMap reads "node1:port1;node2:port2" (also separated by spaces
// or commas, and with '=' for ':'), as Pacemaker.
func parseHostMap(v string) (map[string]string, error) {
	m := map[string]string{}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' }) {
		i := strings.IndexAny(f, ":=")
		if i <= 0 || i == len(f)-1 {
			return nil, fmt.Errorf("entry %q is not node:port", f)
		}
		m[f[:i]] = f[i+1:]
	}
	return m, nil
}

// ParseList reads the output of an agent's list action: one port per line,
// optionally followed by ",alias". Both the port and the alias name a host
// the device can fence, as in Pacemaker's dynamic-list check.
func ParseList(out string) []string {
	var hosts []string
	for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
		hosts = append(hosts, f)
	}
	return hosts
}

func mapValues(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}
