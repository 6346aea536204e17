package metadata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ErrInvalid is wrapped by Validate's error when meta-data violates the
// schema.
var ErrInvalid = errors.New("metadata: invalid")

// Parameter is one agent parameter.
type Parameter struct {
	Name       string
	Type       string
	Default    string
	Required   bool
	Unique     bool
	Reloadable bool
	Options    []string
}

// Action is one advertised action.
type Action struct {
	Name     string
	Timeout  time.Duration
	Interval time.Duration
	Depth    int
	Role     string
}

// Agent is parsed meta-data.
type Agent struct {
	Name       string
	Version    string // agent version attribute
	OCFVersion string // <version> element
	Parameters []Parameter
	Actions    []Action
	// Warnings are problems the schema does not forbid but agents should
	// not have: a default that does not parse as its type, an action name
	// no cluster manager calls.
	Warnings []string
}

// HasAction reports whether the meta-data advertises an action.
func (a *Agent) HasAction(name string) bool {
	for _, x := range a.Actions {
		if x.Name == name {
			return true
		}
	}
	return false
}

// Action returns the first advertised action with this name (and role,
// if role is not empty).
func (a *Agent) Action(name, role string) (Action, bool) {
	for _, x := range a.Actions {
		if x.Name == name && (role == "" || x.Role == role) {
			return x, true
		}
	}
	return Action{}, false
}

// Violations is the list of schema violations found by Validate.
type Violations []string

func (v Violations) Error() string {
	return fmt.Sprintf("%v: %s", ErrInvalid, strings.Join(v, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalid) work.
func (v Violations) Unwrap() error { return ErrInvalid }

var knownActions = map[string]bool{
	"start": true, "stop": true, "monitor": true, "meta-data": true, "validate-all": true,
	"promote": true, "demote": true, "notify": true, "reload": true, "reload-agent": true,
	"migrate_to": true, "migrate_from": true, "recover": true, "status": true,
	"methods": true, "usage": true, "restart": true,
}

var roles = map[string]bool{"Promoted": true, "Unpromoted": true, "Master": true, "Slave": true, "Started": true, "Stopped": true}

// ParseDuration parses a Pacemaker duration: an integer with an optional
// unit ms, msec, us, usec, s, sec, m, min, h, hr (no unit = seconds).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("duration %q: no number", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > 1<<31 {
		return 0, fmt.Errorf("duration %q: bad number", s)
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	var d time.Duration
	switch unit {
	case "", "s", "sec", "secs", "second", "seconds":
		d = time.Second
	case "ms", "msec", "msecs":
		d = time.Millisecond
	case "us", "usec", "usecs":
		d = time.Microsecond
	case "m", "min", "mins", "minute", "minutes":
		d = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		d = time.Hour
	default:
		return 0, fmt.Errorf("duration %q: unknown unit %q", s, unit)
	}
	return time.Duration(n) * d, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// Validate parses meta-data and checks it against the schema rules. It
// returns the parsed agent (as much as could be read) and, if the
// meta-data is not valid, a Violations error listing every problem.
func Validate(data []byte) (*Agent, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, Violations{fmt.Sprintf("not well-formed XML: %v", err)}
	}
	root := doc.Root()
	if root == nil {
		return nil, Violations{"no root element"}
	}
	var v Violations
	add := func(path, f string, args ...any) { v = append(v, path+": "+fmt.Sprintf(f, args...)) }
	a := &Agent{}
	warn := func(path, f string, args ...any) { a.Warnings = append(a.Warnings, path+": "+fmt.Sprintf(f, args...)) }
	if root.Tag != "resource-agent" || root.Space != "" {
		add("/", "root element is <%s>, want <resource-agent>", root.FullTag())
		return a, v
	}
	const rp = "/resource-agent"
	a.Name = root.SelectAttrValue("name", "")
	if strings.TrimSpace(a.Name) == "" {
		add(rp, "attribute name is required")
	}
	a.Version = root.SelectAttrValue("version", "")
	checkAttrs(root, rp, map[string]bool{"name": true, "version": true}, add)

	// Children in schema order.
	order := []string{"version", "longdesc", "shortdesc", "parameters", "actions", "special"}
	rank := map[string]int{}
	for i, n := range order {
		rank[n] = i
	}
	count := map[string]int{}
	last := -1
	for _, c := range root.ChildElements() {
		r, ok := rank[c.Tag]
		if !ok || c.Space != "" {
			add(rp, "unexpected element <%s>", c.FullTag())
			continue
		}
		if r < last {
			add(rp, "<%s> out of order (want version, longdesc, shortdesc, parameters, actions, special)", c.Tag)
		}
		last = r
		count[c.Tag]++
		p := rp + "/" + c.Tag
		switch c.Tag {
		case "version":
			a.OCFVersion = strings.TrimSpace(c.Text())
			if len(c.ChildElements()) > 0 || a.OCFVersion == "" {
				add(p, "must be text (the OCF API version, e.g. 1.1)")
			}
		case "longdesc", "shortdesc":
			checkDesc(c, p, add)
		case "parameters":
			a.Parameters = checkParameters(c, p, add, warn)
		case "actions":
			a.Actions = checkActions(c, p, add, warn)
		case "special":
			if c.SelectAttr("tag") == nil {
				add(p, "attribute tag is required")
			}
		}
	}
	for _, n := range []string{"version", "actions"} {
		if count[n] != 1 {
			add(rp, "want exactly one <%s>, found %d", n, count[n])
		}
	}
	for _, n := range []string{"longdesc", "shortdesc"} {
		if count[n] < 1 {
			add(rp, "want at least one <%s>", n)
		}
	}
	for _, n := range []string{"parameters", "special"} {
		if count[n] > 1 {
			add(rp, "at most one <%s>, found %d", n, count[n])
		}
	}
	if count["actions"] == 1 {
		for _, m := range []string{"start", "stop", "monitor", "meta-data"} {
			if !a.HasAction(m) {
				add(rp+"/actions", "mandatory action %s is not advertised", m)
			}
		}
	}
	if len(v) > 0 {
		return a, v
	}
	return a, nil
}

func checkAttrs(e *etree.Element, path string, allowed map[string]bool, add func(string, string, ...any)) {
	for _, at := range e.Attr {
		if at.Space == "xmlns" || (at.Space == "" && at.Key == "xmlns") {
			continue
		}
		if at.Space != "" || !allowed[at.Key] {
			add(path, "unexpected attribute %s", at.FullKey())
		}
	}
}

// checkDesc: longdesc/shortdesc carry a lang attribute and text (the 1.1
// schema allows markup inside longdesc, so children are not checked).
func checkDesc(e *etree.Element, path string, add func(string, string, ...any)) {
	if e.SelectAttr("lang") == nil {
		add(path, "attribute lang is required")
	}
	checkAttrs(e, path, map[string]bool{"lang": true}, add)
}

func checkParameters(ps *etree.Element, path string, add, warn func(string, string, ...any)) []Parameter {
	checkAttrs(ps, path, map[string]bool{}, add)
	var out []Parameter
	seen := map[string]bool{}
	for _, pe := range ps.ChildElements() {
		if pe.Tag != "parameter" {
			add(path, "unexpected element <%s>", pe.FullTag())
			continue
		}
		p := Parameter{Name: pe.SelectAttrValue("name", "")}
		pp := fmt.Sprintf("%s/parameter[@name=%q]", path, p.Name)
		if strings.TrimSpace(p.Name) == "" {
			add(pp, "attribute name is required")
		} else if seen[p.Name] {
			add(pp, "duplicate parameter name")
		}
		seen[p.Name] = true
		checkAttrs(pe, pp, map[string]bool{"name": true, "unique": true, "unique-group": true, "required": true, "reloadable": true, "advanced": true}, add)
		for _, k := range []string{"unique", "required", "reloadable", "advanced"} {
			if at := pe.SelectAttr(k); at != nil {
				b, ok := parseBool(at.Value)
				if !ok || !(at.Value == "0" || at.Value == "1" || at.Value == "true" || at.Value == "false") {
					add(pp, "attribute %s=%q is not a boolean (0, 1, true, false)", k, at.Value)
				}
				switch k {
				case "unique":
					p.Unique = b
				case "required":
					p.Required = b
				case "reloadable":
					p.Reloadable = b
				}
			}
		}
		if at := pe.SelectAttr("unique-group"); at != nil && strings.TrimSpace(at.Value) == "" {
			add(pp, "attribute unique-group is empty")
		}
		n := map[string]int{}
		for _, c := range pe.ChildElements() {
			n[c.Tag]++
			cp := pp + "/" + c.Tag
			switch c.Tag {
			case "longdesc", "shortdesc":
				checkDesc(c, cp, add)
			case "deprecated":
				for _, d := range c.ChildElements() {
					switch d.Tag {
					case "replaced-with":
						if d.SelectAttr("name") == nil {
							add(cp+"/replaced-with", "attribute name is required")
						}
					case "desc":
						checkDesc(d, cp+"/desc", add)
					default:
						add(cp, "unexpected element <%s>", d.FullTag())
					}
				}
			case "content":
				checkContent(c, cp, &p, add, warn)
			default:
				add(pp, "unexpected element <%s>", c.FullTag())
			}
		}
		if n["longdesc"] < 1 || n["shortdesc"] < 1 {
			add(pp, "want at least one <longdesc> and one <shortdesc>")
		}
		if n["content"] != 1 {
			add(pp, "want exactly one <content>, found %d", n["content"])
		}
		if n["deprecated"] > 1 {
			add(pp, "at most one <deprecated>")
		}
		out = append(out, p)
	}
	return out
}

func checkContent(c *etree.Element, path string, p *Parameter, add, warn func(string, string, ...any)) {
	checkAttrs(c, path, map[string]bool{"type": true, "default": true}, add)
	p.Type = c.SelectAttrValue("type", "")
	def := c.SelectAttr("default")
	if def != nil {
		p.Default = def.Value
	}
	for _, o := range c.ChildElements() {
		if o.Tag != "option" || p.Type != "select" {
			add(path, "unexpected element <%s> (options only in type select)", o.FullTag())
			continue
		}
		val := o.SelectAttr("value")
		if val == nil {
			add(path+"/option", "attribute value is required")
			continue
		}
		p.Options = append(p.Options, val.Value)
	}
	if def == nil || def.Value == "" {
		switch p.Type {
		case "boolean", "string", "integer", "second", "time", "select":
		case "":
			add(path, "attribute type is required")
		default:
			add(path, "type %q is not boolean, string, integer, second, time or select", p.Type)
		}
		return
	}
	switch p.Type {
	case "string":
	case "boolean":
		if _, ok := parseBool(def.Value); !ok {
			warn(path, "default %q is not a boolean", def.Value)
		}
	case "integer":
		if _, err := strconv.ParseInt(strings.TrimSpace(def.Value), 10, 64); err != nil {
			warn(path, "default %q is not an integer", def.Value)
		}
	case "second", "time":
		if _, err := ParseDuration(def.Value); err != nil {
			warn(path, "default %q is not a duration", def.Value)
		}
	case "select":
		found := len(p.Options) == 0
		for _, o := range p.Options {
			found = found || o == def.Value
		}
		if !found {
			warn(path, "default %q is not one of the options %v", def.Value, p.Options)
		}
	case "":
		add(path, "attribute type is required")
	default:
		add(path, "type %q is not boolean, string, integer, second, time or select", p.Type)
	}
}

func checkActions(as *etree.Element, path string, add, warn func(string, string, ...any)) []Action {
	checkAttrs(as, path, map[string]bool{}, add)
	var out []Action
	for _, ae := range as.ChildElements() {
		if ae.Tag != "action" {
			add(path, "unexpected element <%s>", ae.FullTag())
			continue
		}
		a := Action{Name: ae.SelectAttrValue("name", "")}
		ap := fmt.Sprintf("%s/action[@name=%q]", path, a.Name)
		checkAttrs(ae, ap, map[string]bool{"name": true, "timeout": true, "interval": true, "depth": true, "role": true, "start-delay": true}, add)
		if len(ae.ChildElements()) > 0 {
			add(ap, "must be empty")
		}
		if a.Name == "" {
			add(ap, "attribute name is required")
		} else if !knownActions[a.Name] {
			warn(ap, "action name is not one the OCF API or Pacemaker defines")
		}
		if t := ae.SelectAttr("timeout"); t == nil {
			add(ap, "attribute timeout is required")
		} else if d, err := ParseDuration(t.Value); err != nil {
			add(ap, "timeout: %v", err)
		} else {
			a.Timeout = d
		}
		for _, k := range []string{"interval", "start-delay"} {
			if at := ae.SelectAttr(k); at != nil {
				d, err := ParseDuration(at.Value)
				if err != nil {
					add(ap, "%s: %v", k, err)
				}
				if k == "interval" {
					a.Interval = d
				}
			}
		}
		if at := ae.SelectAttr("depth"); at != nil {
			n, err := strconv.Atoi(strings.TrimSpace(at.Value))
			if err != nil || n < 0 {
				add(ap, "depth %q is not a non-negative integer", at.Value)
			}
			a.Depth = n
		}
		if at := ae.SelectAttr("role"); at != nil {
			if !roles[at.Value] {
				add(ap, "role %q is not Promoted or Unpromoted", at.Value)
			}
			a.Role = at.Value
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		add(path, "want at least one <action>")
	}
	return out
}
