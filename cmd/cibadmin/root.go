package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
)

// options holds every cibadmin flag. There are no package-level globals:
// each NewRootCommand has its own.
type options struct {
	// commands
	query, create, modify, replace, del, delAll, erase, bump, patch bool
	empty                                                           string

	// input
	xmlText, xmlFile string
	xmlPipe          bool

	// modifiers
	scope, xpath                   string
	lastSelector                   string // "scope" or "xpath", whichever was given last
	allowCreate, noChildren, force bool
	score                          bool
	timeout                        int
	local, sync                    bool
	user                           string
	verbose                        int

	// newClient opens the backend; tests may replace it.
	newClient func() (client.Client, error)
	now       func() time.Time
}

// AddFlags registers the flags on fs with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.query, "query", "Q", false, "query the contents of the CIB (the default command)")
	fs.BoolVarP(&o.create, "create", "C", false, "create an object in the CIB (fails if it already exists)")
	fs.BoolVarP(&o.modify, "modify", "M", false, "find the object by id (or -A) and merge the supplied attributes and children into it")
	fs.BoolVarP(&o.replace, "replace", "R", false, "replace the object matching the supplied XML (by tag and id), or the whole CIB")
	fs.BoolVarP(&o.del, "delete", "D", false, "delete the first object matching the supplied XML or -A XPath")
	fs.BoolVarP(&o.delAll, "delete-all", "d", false, "with -A, delete every object the XPath matches")
	fs.BoolVarP(&o.erase, "erase", "E", false, "erase the contents of the whole CIB (needs --force)")
	fs.BoolVarP(&o.bump, "bump", "B", false, "increase the CIB's epoch by one")
	fs.BoolVarP(&o.patch, "patch", "P", false, "apply the supplied <diff> patchset to the CIB")
	fs.StringVarP(&o.empty, "empty", "a", "", "print an empty CIB (optionally with this validate-with schema)")
	fs.Lookup("empty").NoOptDefVal = cib.ValidateWith

	fs.StringVarP(&o.xmlText, "xml-text", "X", "", "the XML to use, as a string")
	fs.StringVarP(&o.xmlFile, "xml-file", "x", "", "the XML to use, read from this file")
	fs.BoolVarP(&o.xmlPipe, "xml-pipe", "p", false, "the XML to use, read from standard input")

	fs.VarP(&selector{dst: &o.scope, last: &o.lastSelector, name: "scope"}, "scope", "o", "limit the operation to this section: "+strings.Join(cib.Scopes, ", "))
	fs.VarP(&selector{dst: &o.xpath, last: &o.lastSelector, name: "xpath"}, "xpath", "A", "an XPath selecting the objects to act on (with -o too, the last one given wins)")
	fs.BoolVarP(&o.allowCreate, "allow-create", "c", false, "with -M, create the object if it does not exist")
	fs.BoolVarP(&o.noChildren, "no-children", "n", false, "with -Q, print matches without their children")
	fs.BoolVarP(&o.force, "force", "f", false, "allow dangerous operations (-E, replacing with an older CIB)")
	fs.BoolVar(&o.score, "score", false, `with -M, expand "name++" and "name+=N" attribute values`)
	fs.IntVarP(&o.timeout, "timeout", "t", 30, "seconds to wait for the CIB service before failing")
	fs.BoolVarP(&o.local, "local", "l", false, "accepted for compatibility; Systole always asks the local CIB service")
	fs.BoolVarP(&o.sync, "sync-call", "s", false, "accepted for compatibility; every call waits for completion")
	fs.StringVarP(&o.user, "user", "U", "", "record this user as update-user (Systole has no ACLs)")
	fs.CountVarP(&o.verbose, "verbose", "V", "print what is done on standard error (repeat for more)")
}

// selector is a string flag that also records that it was the last of -o
// and -A given: Pacemaker lets the later one win.
type selector struct {
	dst, last *string
	name      string
}

func (s *selector) String() string { return *s.dst }
func (s *selector) Type() string   { return "string" }
func (s *selector) Set(v string) error {
	*s.dst, *s.last = v, s.name
	return nil
}

// NewRootCommand returns the cibadmin command.
func NewRootCommand() *cobra.Command {
	o := &options{newClient: client.FromEnv, now: time.Now}
	cmd := &cobra.Command{
		Use:   "cibadmin [command] [options]",
		Short: "Read and change the Cluster Information Base",
		Long: `cibadmin reads and changes the Cluster Information Base (CIB), as
Pacemaker's cibadmin does. With CIB_file=FILE in the environment it works on
that file; otherwise it talks to the local CIB service (systoled) on
CIB_socket (default ` + client.DefaultSocket + `).

Commands: -Q -C -M -R -D -d -E -B -P -a (one at a time; -Q is the default).`,
		Example: `  cibadmin --empty > /tmp/c.xml
  CIB_file=/tmp/c.xml cibadmin -C -o resources -X '<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>'
  CIB_file=/tmp/c.xml cibadmin -Q -o resources
  CIB_file=/tmp/c.xml cibadmin -Q -A "//primitive[@id='d1']"
  CIB_file=/tmp/c.xml cibadmin -D -A "//primitive[@id='d1']"`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return client.UsageError("cibadmin", "%s", err.Error()) })
	o.AddFlags(cmd.Flags())
	return cmd
}

// pacemakerOp names each operation as Pacemaker's CIB requests are named,
// for "Call cib_xxx failed" messages.
var pacemakerOp = map[cib.Op]string{
	cib.OpQuery: "cib_query", cib.OpCreate: "cib_create", cib.OpModify: "cib_modify",
	cib.OpReplace: "cib_replace", cib.OpDelete: "cib_delete", cib.OpDeleteAll: "cib_delete",
	cib.OpErase: "cib_erase", cib.OpBump: "cib_bump", cib.OpPatch: "cib_apply_diff",
}

func (o *options) command() (cib.Op, error) {
	set := []struct {
		on bool
		op cib.Op
	}{
		{o.query, cib.OpQuery}, {o.create, cib.OpCreate}, {o.modify, cib.OpModify},
		{o.replace, cib.OpReplace}, {o.del, cib.OpDelete}, {o.delAll, cib.OpDeleteAll},
		{o.erase, cib.OpErase}, {o.bump, cib.OpBump}, {o.patch, cib.OpPatch},
	}
	var ops []cib.Op
	for _, s := range set {
		if s.on {
			ops = append(ops, s.op)
		}
	}
	switch len(ops) {
	case 0:
		return cib.OpQuery, nil
	case 1:
		return ops[0], nil
	}
	return "", client.UsageError("cibadmin", "give only one command, not %d (%v)", len(ops), ops)
}

func (o *options) input(cmd *cobra.Command) ([]byte, string, error) {
	n := 0
	for _, b := range []bool{o.xmlText != "", o.xmlFile != "", o.xmlPipe} {
		if b {
			n++
		}
	}
	if n > 1 {
		return nil, "", client.UsageError("cibadmin", "give the XML once: -X, -x or -p")
	}
	switch {
	case o.xmlText != "":
		return []byte(o.xmlText), "input string", nil
	case o.xmlFile != "":
		data, err := os.ReadFile(o.xmlFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			code := client.ExitNoInput
			if !errors.Is(err, os.ErrNotExist) {
				code = client.ExitError
			}
			return nil, "", &client.CLIError{Code: code, Msg: fmt.Sprintf("cibadmin: cannot read input file %s: %v", o.xmlFile, err)}
		}
		return data, "input file " + o.xmlFile, nil
	case o.xmlPipe:
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, "", &client.CLIError{Code: client.ExitError, Msg: "cibadmin: cannot read standard input: " + err.Error()}
		}
		return data, "input from standard input", nil
	}
	return nil, "", nil
}

// checkXML refuses input that is not well-formed XML before anything is
// sent, as Pacemaker does ("Couldn't parse input string"), with the line
// and the element (by id) where the problem is.
func checkXML(data []byte, what string) error {
	if err := client.WellFormed(data); err != nil {
		msg := strings.TrimPrefix(err.Error(), cib.ErrMalformed.Error()+": ")
		return &client.CLIError{Code: client.ExitDataErr, Msg: fmt.Sprintf("cibadmin: Couldn't parse %s: %s", what, msg), Err: err}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (o *options) logf(cmd *cobra.Command, level int, format string, a ...any) {
	if o.verbose >= level {
		fmt.Fprintf(cmd.ErrOrStderr(), "cibadmin: "+format+"\n", a...)
	}
}

func (o *options) run(cmd *cobra.Command) error {
	if cmd.Flags().Changed("empty") {
		return o.runEmpty(cmd)
	}
	op, err := o.command()
	if err != nil {
		return err
	}
	data, what, err := o.input(cmd)
	if err != nil {
		return err
	}
	switch op {
	case cib.OpCreate, cib.OpModify, cib.OpReplace, cib.OpPatch:
		if data == nil {
			return client.UsageError("cibadmin", "--%s needs XML input (-X, -x or -p)", map[cib.Op]string{
				cib.OpCreate: "create", cib.OpModify: "modify", cib.OpReplace: "replace", cib.OpPatch: "patch"}[op])
		}
	case cib.OpDelete:
		if data == nil && o.xpath == "" {
			return client.UsageError("cibadmin", "--delete needs XML input (-X, -x or -p) or -A/--xpath")
		}
	case cib.OpDeleteAll:
		if o.xpath == "" {
			return client.UsageError("cibadmin", "--delete-all needs -A/--xpath")
		}
	}
	if data != nil {
		if err := checkXML(data, what); err != nil {
			return err
		}
	}
	if o.timeout < 0 {
		return client.UsageError("cibadmin", "--timeout %d: must not be negative", o.timeout)
	}
	c, err := o.newClient()
	if err != nil {
		return &client.CLIError{Code: client.ExitCode(err), Msg: "cibadmin: " + oneLine(err.Error()), Err: err}
	}
	defer c.Close()
	ctx, cancel := client.WithTimeout(context.Background(), time.Duration(o.timeout)*time.Second)
	defer cancel()

	if o.scope != "" && o.xpath != "" {
		// both given: the last one wins, as in Pacemaker
		if o.lastSelector == "scope" {
			o.xpath = ""
		} else {
			o.scope = ""
		}
	}
	req := cib.Request{
		Op: op, Scope: o.scope, XPath: o.xpath, XML: data,
		AllowCreate: o.allowCreate, NoChildren: o.noChildren, Force: o.force, Score: o.score,
	}
	if op == cib.OpQuery {
		out, v, err := c.Query(ctx, req)
		if err != nil {
			return o.callFailed(op, err)
		}
		o.logf(cmd, 1, "query: %d match(es) at version %s", len(out), v)
		return printElements(cmd.OutOrStdout(), out)
	}
	req.LastWritten = o.now().Format("Mon Jan _2 15:04:05 2006")
	req.Client = "cibadmin"
	req.User = o.user
	if req.User == "" {
		req.User = currentUser()
	}
	if h, err := os.Hostname(); err == nil {
		req.Origin = h
	}
	res, err := c.Apply(ctx, req)
	if err != nil {
		return o.callFailed(op, err)
	}
	if res.Patch == nil {
		o.logf(cmd, 1, "%s: nothing changed, version %s", pacemakerOp[op], res.Version)
	} else {
		o.logf(cmd, 1, "%s: done, version %s", pacemakerOp[op], res.Version)
		if o.verbose >= 2 {
			cmd.ErrOrStderr().Write(res.Patch.Bytes())
		}
	}
	return nil
}

// callFailed formats a failed operation as Pacemaker does:
// "Call cib_create failed: <reason>".
func (o *options) callFailed(op cib.Op, err error) error {
	msg := oneLine(err.Error())
	if errors.Is(err, client.ErrUnreachable) || errors.Is(err, client.ErrNoFile) {
		return &client.CLIError{Code: client.ExitCode(err), Msg: "cibadmin: " + msg, Err: err}
	}
	for _, p := range []string{"cib: " + string(op) + ": ", "cib: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return &client.CLIError{Code: client.ExitCode(err), Msg: fmt.Sprintf("Call %s failed: %s", pacemakerOp[op], msg), Err: err}
}

// printElements prints query results: one element as is, several wrapped
// in <xpath-query> as Pacemaker does.
func printElements(w io.Writer, out []*etree.Element) error {
	var e *etree.Element
	switch len(out) {
	case 0:
		return nil
	case 1:
		e = out[0]
	default:
		e = etree.NewElement("xpath-query")
		for _, m := range out {
			e.AddChild(m)
		}
	}
	b := server.ElementBytes(e)
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

func (o *options) runEmpty(cmd *cobra.Command) error {
	if op, err := o.command(); err != nil || o.query || op != cib.OpQuery {
		return client.UsageError("cibadmin", "--empty cannot be combined with another command")
	}
	c := cib.New()
	if o.empty != "" {
		c.Root().CreateAttr("validate-with", o.empty)
	}
	_, err := cmd.OutOrStdout().Write(c.Bytes())
	return err
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
