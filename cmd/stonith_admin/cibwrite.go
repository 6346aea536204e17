package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
)

// The device and level commands write the CIB (through crmd's CIB
// service, or CIB_file), which stays the one source of devices and levels:
// stonithd picks the change up from its CIB watch on every node. This
// differs from Pacemaker, whose -R/-r register with the local fencer only.

func cibError(err error, what string) error {
	return &client.CLIError{Code: client.ExitCode(err), Msg: tool + ": " + what + ": " + err.Error(), Err: err}
}

func xmlBytes(e *etree.Element) []byte {
	d := etree.NewDocument()
	d.SetRoot(e)
	b, _ := d.WriteToBytes()
	return b
}

func (o *options) cibWrite(cmd string, out io.Writer) error {
	c, err := client.FromEnv()
	if err != nil {
		return cibError(err, "CIB")
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()
	stamp := time.Now().UTC().Format(time.ANSIC)
	req := func(r cib.Request) cib.Request {
		r.Client, r.LastWritten = tool, stamp
		return r
	}
	switch cmd {
	case "--register":
		p := etree.NewElement("primitive")
		p.CreateAttr("id", o.registerDev)
		p.CreateAttr("class", "stonith")
		p.CreateAttr("type", o.agent)
		if len(o.options) > 0 {
			ia := p.CreateElement("instance_attributes")
			ia.CreateAttr("id", o.registerDev+"-instance_attributes")
			for _, kv := range o.options {
				k, v, _ := strings.Cut(kv, "=")
				nv := ia.CreateElement("nvpair")
				nv.CreateAttr("id", o.registerDev+"-instance_attributes-"+k)
				nv.CreateAttr("name", k)
				nv.CreateAttr("value", v)
			}
		}
		if _, err := c.Apply(ctx, req(cib.Request{Op: cib.OpCreate, Scope: "resources", XML: xmlBytes(p)})); err != nil {
			return cibError(err, "Couldn't register "+o.registerDev)
		}
	case "--deregister":
		xp := fmt.Sprintf("//resources//primitive[@id=%s][@class='stonith']", xpathLiteral(o.deregisterDev))
		if _, err := c.Apply(ctx, req(cib.Request{Op: cib.OpDelete, XPath: xp})); err != nil {
			return cibError(err, "Couldn't deregister "+o.deregisterDev)
		}
	case "--register-level":
		l := etree.NewElement("fencing-level")
		attr, val, err := levelTarget(o.registerLevel)
		if err != nil {
			return err
		}
		l.CreateAttr("id", levelID(o.registerLevel, o.index))
		l.CreateAttr(attr, val)
		l.CreateAttr("index", strconv.Itoa(o.index))
		var devs []string
		for _, d := range o.devices {
			for _, f := range strings.Split(d, ",") {
				if f = strings.TrimSpace(f); f != "" {
					devs = append(devs, f)
				}
			}
		}
		l.CreateAttr("devices", strings.Join(devs, ","))
		_, err = c.Apply(ctx, req(cib.Request{Op: cib.OpCreate, Scope: "fencing-topology", XML: xmlBytes(l)}))
		if errors.Is(err, cib.ErrNotFound) {
			// No fencing-topology section yet: create it with the level.
			ft := etree.NewElement("fencing-topology")
			ft.AddChild(l)
			_, err = c.Apply(ctx, req(cib.Request{Op: cib.OpCreate, Scope: "configuration", XML: xmlBytes(ft)}))
		}
		if err != nil {
			return cibError(err, "Couldn't register level "+strconv.Itoa(o.index)+" of "+o.registerLevel)
		}
	case "--deregister-level":
		attr, val, err := levelTarget(o.deregisterLevel)
		if err != nil {
			return err
		}
		// Find the level here: a pattern's brackets do not fit in an
		// XPath literal of the CIB's XPath engine.
		levels, _, err := c.Query(ctx, cib.Request{Op: cib.OpQuery, Scope: "fencing-topology"})
		if err != nil {
			return cibError(err, "Couldn't deregister level "+strconv.Itoa(o.index)+" of "+o.deregisterLevel)
		}
		id := ""
		for _, ft := range levels {
			for _, l := range ft.SelectElements("fencing-level") {
				if l.SelectAttrValue(attr, "") == val && l.SelectAttrValue("index", "") == strconv.Itoa(o.index) {
					id = l.SelectAttrValue("id", "")
				}
			}
		}
		if id == "" {
			return &client.CLIError{Code: client.ExitNoSuch, Msg: fmt.Sprintf("%s: Couldn't deregister level %d of %s: no such level", tool, o.index, o.deregisterLevel)}
		}
		xp := fmt.Sprintf("//fencing-topology/fencing-level[@id=%s]", xpathLiteral(id))
		if _, err := c.Apply(ctx, req(cib.Request{Op: cib.OpDelete, XPath: xp})); err != nil {
			return cibError(err, "Couldn't deregister level "+strconv.Itoa(o.index)+" of "+o.deregisterLevel)
		}
	}
	return nil
}

// levelTarget reads a level's target as Pacemaker's stonith_admin: a node
// name, or /REGEX/ for a target-pattern. NAME=VALUE (target-attribute)
// is refused: stonithd does not support it yet.
func levelTarget(s string) (attr, val string, err error) {
	if len(s) > 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
		pat := s[1 : len(s)-1]
		if _, err := regexp.Compile(pat); err != nil {
			return "", "", client.UsageError(tool, "target pattern %q: %v", pat, err)
		}
		return "target-pattern", pat, nil
	}
	if strings.Contains(s, "=") {
		return "", "", client.UsageError(tool, "target %q: attribute targets (NAME=VALUE) are not supported yet", s)
	}
	return "target", s, nil
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// levelID is Pacemaker's fl-TARGET-INDEX, with characters an XML id
// cannot hold replaced.
func levelID(target string, index int) string {
	return "fl-" + idUnsafe.ReplaceAllString(target, "_") + "-" + strconv.Itoa(index)
}

// xpathLiteral quotes s for an XPath 1.0 expression.
func xpathLiteral(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	parts := strings.Split(s, "'")
	return "concat('" + strings.Join(parts, `', "'", '`) + "')"
}
