package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/systole/systole/internal/lab"
)

type agent struct {
	p    map[string]string
	out  io.Writer
	errw io.Writer
}

func (a *agent) fail(format string, args ...any) int {
	fmt.Fprintf(a.errw, "fence_systole_lab: "+format+"\n", args...)
	return rcFail
}

func (a *agent) labDir() string {
	if d := a.p["lab_dir"]; d != "" {
		return d
	}
	if d := os.Getenv("SYSTOLE_LAB_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("systole-lab-%d", os.Getuid()))
}

func (a *agent) failing() bool {
	f := a.p["fail_file"]
	if f == "" {
		f = lab.FenceFailFile(a.labDir())
	}
	_, err := os.Stat(f)
	return err == nil
}

// target is the node the action is for: port, else nodename.
func (a *agent) target() string {
	if t := a.p["port"]; t != "" {
		return t
	}
	return a.p["nodename"]
}

func (a *agent) run() int {
	action := a.p["action"]
	if action == "" {
		action = a.p["option"] // fence-agents' old name
	}
	if action == "" {
		action = "reboot"
	}
	switch action {
	case "metadata":
		io.WriteString(a.out, metadata)
		return rcOK
	case "off", "on", "reboot", "status", "monitor", "list", "list-status", "validate-all":
	default:
		return a.fail("unknown action %q", action)
	}
	c, err := lab.Load(a.labDir())
	if err != nil {
		return a.fail("lab %s: %v", a.labDir(), err)
	}
	if action == "monitor" || action == "list" || action == "list-status" {
		if action != "monitor" {
			for i, n := range c.NodeNames() {
				line := n
				if action == "list-status" {
					st := "OFF"
					if c.Running(i) {
						st = "ON"
					}
					line += ",," + st
				}
				fmt.Fprintln(a.out, line)
			}
		}
		return rcOK
	}
	t := a.target()
	if t == "" {
		return a.fail("no port (node) given")
	}
	i := c.Index(t)
	if i < 0 {
		return a.fail("no node %q in the lab (%s)", t, strings.Join(c.NodeNames(), ", "))
	}
	switch action {
	case "validate-all":
		return rcOK
	case "status":
		if c.Running(i) {
			fmt.Fprintln(a.out, "Status: ON")
			return rcOK
		}
		fmt.Fprintln(a.out, "Status: OFF")
		return rcOff
	}
	if a.failing() {
		return a.fail("%s of %s: failing on purpose (%s exists)", action, t, lab.FenceFailFile(a.labDir()))
	}
	switch action {
	case "off":
		if err := c.Fence(i); err != nil {
			return a.fail("%v", err)
		}
	case "on":
		if c.Running(i) {
			return rcOK
		}
		if err := c.Boot(i); err != nil {
			return a.fail("%v", err)
		}
	case "reboot":
		if err := c.Fence(i); err != nil {
			return a.fail("%v", err)
		}
		if v, _ := strconv.ParseBool(a.p["reboot_boots"]); v {
			if err := c.Boot(i); err != nil {
				return a.fail("%v", errors.Join(errors.New("fenced, but the boot failed"), err))
			}
		}
	}
	fmt.Fprintf(a.out, "Success: %s of %s\n", action, c.Nodes[i].Name)
	return rcOK
}

const metadata = `<?xml version="1.0" ?>
<resource-agent name="fence_systole_lab" shortdesc="Fence agent for Systole's lab nodes">
<longdesc>fence_systole_lab fences a node of a Systole lab (systole lab up, internal/lab): it downs the node's link and kills every process of the node, as cutting its power would. The node stays down until booted again (action on).</longdesc>
<vendor-url>https://github.com/systole/systole</vendor-url>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot" />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="plug" unique="0" required="0" obsoletes="port">
		<getopt mixed="-n, --plug=[node]" />
		<content type="string" />
		<shortdesc lang="en">Lab node to act on (node2, or 2)</shortdesc>
	</parameter>
	<parameter name="port" unique="0" required="0" deprecated="1">
		<getopt mixed="-n, --plug=[node]" />
		<content type="string" />
		<shortdesc lang="en">Lab node to act on (node2, or 2)</shortdesc>
	</parameter>
	<parameter name="lab_dir" unique="0" required="0">
		<getopt mixed="--lab-dir=[dir]" />
		<content type="string" />
		<shortdesc lang="en">Lab directory holding lab.json (default $SYSTOLE_LAB_DIR, else /tmp/systole-lab-UID)</shortdesc>
	</parameter>
	<parameter name="fail_file" unique="0" required="0">
		<getopt mixed="--fail-file=[file]" />
		<content type="string" />
		<shortdesc lang="en">While this file exists, off, on and reboot fail (default LAB_DIR/fence_systole_lab.fail)</shortdesc>
	</parameter>
	<parameter name="reboot_boots" unique="0" required="0">
		<getopt mixed="--reboot-boots=[bool]" />
		<content type="boolean" default="0" />
		<shortdesc lang="en">Boot the node again after a reboot</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on" automatic="0"/>
	<action name="off" />
	<action name="reboot" />
	<action name="status" />
	<action name="list" />
	<action name="list-status" />
	<action name="monitor" />
	<action name="metadata" />
	<action name="validate-all" />
</actions>
</resource-agent>
`
