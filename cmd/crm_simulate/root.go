package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/pengine"
)

type options struct {
	errOut     io.Writer // validation messages (the command's stderr)
	xmlFile    string
	live       bool
	run        bool
	simulate   bool
	showScores bool
	showUtil   bool
	saveGraph  string
	saveDot    string
	dateTime   string
	quorum     string
	nodeUp     []string
	nodeDown   []string
	nodeFail   []string
	opInject   []string
	opFail     []string
	saveOutput string
	quiet      bool
}

func (o *options) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.xmlFile, "xml-file", "x", "", "read the CIB from FILE")
	f.BoolVarP(&o.live, "live-check", "L", false, "connect to the CIB of the live cluster")
	f.BoolVarP(&o.run, "run", "R", false, "compute the transition and print its summary")
	f.BoolVarP(&o.simulate, "simulate", "S", false, "simulate the transition's execution")
	f.BoolVarP(&o.showScores, "show-scores", "s", false, "show allocation scores")
	f.BoolVarP(&o.showUtil, "show-utilization", "U", false, "show utilization information")
	f.StringVarP(&o.saveGraph, "save-graph", "G", "", "save the transition graph XML to FILE")
	f.StringVarP(&o.saveDot, "save-dotfile", "D", "", "save the transition graph in DOT format to FILE")
	f.StringVarP(&o.dateTime, "set-datetime", "t", "", "set the date/time (ISO 8601)")
	f.StringVarP(&o.quorum, "quorum", "q", "", "set the have-quorum value (true/false)")
	f.StringArrayVarP(&o.nodeUp, "node-up", "u", nil, "bring a node online")
	f.StringArrayVarP(&o.nodeDown, "node-down", "d", nil, "take a node offline")
	f.StringArrayVarP(&o.nodeFail, "node-fail", "f", nil, "mark a node as failed")
	f.StringArrayVarP(&o.opInject, "op-inject", "i", nil, "inject an operation result: ${rsc}_${task}_${interval_ms}@${node}=${rc}")
	f.StringArrayVarP(&o.opFail, "op-fail", "F", nil, "fail an action during simulation: ${rsc}_${task}_${interval_ms}@${node}=${rc}")
	f.StringVarP(&o.saveOutput, "save-output", "O", "", "save the (modified) input CIB to FILE")
	f.BoolVarP(&o.quiet, "quiet", "Q", false, "print less")
}

// NewRootCommand builds the crm_simulate command.
func NewRootCommand() *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:           "crm_simulate",
		Short:         "Compute and simulate cluster transitions",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.errOut = cmd.ErrOrStderr()
			return o.runE(cmd.OutOrStdout())
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (o *options) runE(out io.Writer) error {
	if o.live && o.xmlFile != "" {
		return errors.New("use either -L or -x FILE")
	}
	if !o.live && o.xmlFile == "" {
		return errors.New("no input: use -x FILE or -L")
	}
	var data []byte
	var err error
	if o.live {
		if data, err = readLive(); err != nil {
			return err
		}
	} else if o.xmlFile == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = readFile(o.xmlFile)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", o.xmlFile, err)
	}
	// pengine's readers are faster than cib.Parse for the large status
	// sections crm_simulate is fed; all reject malformed XML. ParseInput
	// keeps history entries out of the element tree (much smaller), so
	// the full tree is built only when -O must write it back.
	var in *pengine.Input
	if o.saveOutput != "" {
		doc, err := pengine.ParseXML(data)
		if err != nil {
			return err
		}
		in = &pengine.Input{Doc: doc}
	} else if in, err = pengine.ParseInput(data); err != nil {
		return err
	}
	doc := in.Doc
	// Refuse a CIB that fails validation, with crm_verify's reasons, before
	// computing anything from it.
	c, err := cib.FromDocument(doc)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		var ves cib.ValidationErrors
		if !errors.As(err, &ves) {
			return err
		}
		for _, ve := range ves {
			level := "error"
			if ve.Tolerated {
				level = "warning"
			}
			fmt.Fprintf(o.errOut, "%s: %s\n", level, ve)
		}
		if len(ves.Fatal()) > 0 {
			return fmt.Errorf("errors found during check: config not valid")
		}
	}
	root := doc.Root()
	if err := o.inject(root); err != nil {
		return err
	}
	cfg := pengine.DefaultConfig()
	cfg.Now = clock().Unix()
	cfg.ShowScores = o.showScores
	cfg.Debug = os.Getenv("PENGINE_DEBUG") != ""
	if o.dateTime != "" {
		t, ok := pengine.ParseDate(o.dateTime)
		if !ok {
			return fmt.Errorf("invalid date/time %q", o.dateTime)
		}
		cfg.Now = t
		root.RemoveAttr("execution-date")
		root.CreateAttr("execution-date", strconv.FormatInt(t, 10))
	}
	res, err := pengine.ComputeInput(in, cfg)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.errOut, "warning: %s\n", w)
	}
	if os.Getenv("PENGINE_DEBUG") != "" {
		for _, l := range res.DebugActions() {
			fmt.Fprintln(os.Stderr, l)
		}
	}
	if o.saveOutput != "" {
		d := doc.Copy()
		d.Indent(2)
		b, _ := d.WriteToBytes()
		if err := os.WriteFile(o.saveOutput, b, 0o644); err != nil {
			return err
		}
	}
	if !o.quiet && (o.simulate || o.run || o.showScores) {
		fmt.Fprintln(out, "Current cluster status:")
		for _, l := range res.CurrentStatus {
			fmt.Fprintln(out, l)
		}
		fmt.Fprintln(out)
	}
	if o.showScores {
		fmt.Fprintln(out, "Assignment Scores:")
		for _, l := range res.Scores {
			fmt.Fprintln(out, l)
		}
		fmt.Fprintln(out)
	}
	if o.run || o.simulate || o.saveGraph != "" || o.saveDot != "" || o.showScores {
		fmt.Fprintln(out, "Transition Summary:")
		for _, l := range res.Summary {
			fmt.Fprintln(out, l)
		}
	}
	if o.saveGraph != "" {
		if err := os.WriteFile(o.saveGraph, res.Graph.XML(), 0o644); err != nil {
			return err
		}
	}
	if o.saveDot != "" {
		if err := os.WriteFile(o.saveDot, res.Graph.Dot(), 0o644); err != nil {
			return err
		}
	}
	if o.simulate {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Executing Cluster Transition:")
		for _, l := range res.Execution {
			if failsAction(o.opFail, l) {
				l += " (failed)"
			}
			fmt.Fprintln(out, l)
		}
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Revised Cluster Status:")
		for _, l := range res.RevisedStatus {
			fmt.Fprintln(out, l)
		}
	}
	return nil
}

func failsAction(specs []string, line string) bool {
	for _, sp := range specs {
		at := strings.Index(sp, "@")
		if at < 0 {
			continue
		}
		key, node := sp[:at], sp[at+1:]
		if i := strings.Index(node, "="); i >= 0 {
			node = node[:i]
		}
		id, task, iv := pengine.ParseOpKey(key)
		t := task
		if iv > 0 {
			t = task + "=" + strconv.FormatInt(iv, 10)
		}
		f := strings.Fields(line)
		if len(f) >= 7 && f[1] == "Resource" && f[3] == id && f[4] == t && f[6] == node {
			return true
		}
	}
	return false
}

// inject applies -q, -u, -d, -f and -i to the CIB's status section.
func (o *options) inject(root *etree.Element) error {
	if o.quorum != "" {
		root.RemoveAttr("have-quorum")
		v := "0"
		if strings.EqualFold(o.quorum, "true") || o.quorum == "1" {
			v = "1"
		}
		root.CreateAttr("have-quorum", v)
	}
	status := root.SelectElement("status")
	if status == nil {
		status = root.CreateElement("status")
	}
	nodeState := func(uname string) *etree.Element {
		for _, ns := range status.SelectElements("node_state") {
			if ns.SelectAttrValue("uname", "") == uname {
				return ns
			}
		}
		id := uname
		if nodes := root.FindElement("configuration/nodes"); nodes != nil {
			for _, n := range nodes.SelectElements("node") {
				if n.SelectAttrValue("uname", "") == uname {
					id = n.SelectAttrValue("id", uname)
				}
			}
		}
		ns := status.CreateElement("node_state")
		ns.CreateAttr("id", id)
		ns.CreateAttr("uname", uname)
		return ns
	}
	set := func(e *etree.Element, k, v string) {
		e.RemoveAttr(k)
		e.CreateAttr(k, v)
	}
	for _, n := range o.nodeUp {
		ns := nodeState(n)
		set(ns, "in_ccm", "true")
		set(ns, "crmd", "online")
		set(ns, "join", "member")
		set(ns, "expected", "member")
	}
	for _, n := range o.nodeDown {
		ns := nodeState(n)
		set(ns, "in_ccm", "false")
		set(ns, "crmd", "offline")
		set(ns, "join", "down")
		set(ns, "expected", "down")
	}
	for _, n := range o.nodeFail {
		ns := nodeState(n)
		set(ns, "in_ccm", "false")
		set(ns, "crmd", "offline")
		set(ns, "join", "down")
		set(ns, "expected", "member")
	}
	for i, sp := range o.opInject {
		at := strings.Index(sp, "@")
		eq := strings.LastIndex(sp, "=")
		if at < 0 || eq < at {
			return fmt.Errorf("invalid op-inject %q: want rsc_task_interval@node=rc", sp)
		}
		key, node, rc := sp[:at], sp[at+1:eq], sp[eq+1:]
		id, task, iv := pengine.ParseOpKey(key)
		ns := nodeState(node)
		lrm := ns.SelectElement("lrm")
		if lrm == nil {
			lrm = ns.CreateElement("lrm")
			lrm.CreateAttr("id", ns.SelectAttrValue("id", node))
		}
		lrs := lrm.SelectElement("lrm_resources")
		if lrs == nil {
			lrs = lrm.CreateElement("lrm_resources")
		}
		var lr *etree.Element
		for _, x := range lrs.SelectElements("lrm_resource") {
			if x.SelectAttrValue("id", "") == id {
				lr = x
			}
		}
		if lr == nil {
			lr = lrs.CreateElement("lrm_resource")
			lr.CreateAttr("id", id)
			if prim := findPrimitive(root, id); prim != nil {
				for _, a := range []string{"class", "provider", "type"} {
					if v := prim.SelectAttr(a); v != nil {
						lr.CreateAttr(a, v.Value)
					}
				}
			}
		}
		op := lr.CreateElement("lrm_rsc_op")
		op.CreateAttr("id", fmt.Sprintf("%s_inject_%d", key, i))
		op.CreateAttr("operation_key", key)
		op.CreateAttr("operation", task)
		op.CreateAttr("interval", strconv.FormatInt(iv, 10))
		op.CreateAttr("call-id", strconv.Itoa(1000000+i))
		op.CreateAttr("rc-code", rc)
		op.CreateAttr("op-status", "0")
		target := "0"
		if task == "monitor" && iv == 0 {
			target = "7"
		}
		op.CreateAttr("transition-key", "0:0:"+target+":inject")
		op.CreateAttr("last-rc-change", strconv.FormatInt(clock().Unix(), 10))
	}
	return nil
}

func findPrimitive(root *etree.Element, id string) *etree.Element {
	for _, p := range root.FindElements("//primitive") {
		if p.SelectAttrValue("id", "") == id {
			return p
		}
	}
	return nil
}
