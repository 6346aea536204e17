package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
)

// options holds every crm_verify flag.
type options struct {
	xmlFile, xmlText, saveXML string
	xmlPipe, live, quiet      bool
	verbose                   int

	newClient func() (client.Client, error)
}

// AddFlags registers the flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.live, "live-check", "L", false, "check the live CIB (CIB_file, or the local CIB service)")
	fs.StringVarP(&o.xmlFile, "xml-file", "x", "", "check the CIB in this file")
	fs.StringVarP(&o.xmlText, "xml-text", "X", "", "check the CIB given as a string")
	fs.BoolVarP(&o.xmlPipe, "xml-pipe", "p", false, "check the CIB read from standard input")
	fs.StringVarP(&o.saveXML, "save-xml", "S", "", "save the checked XML to this file (most useful with -L)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing; the exit status tells the result")
	fs.CountVarP(&o.verbose, "verbose", "V", "print the checks made (repeat for more detail)")
}

// NewRootCommand returns the crm_verify command.
func NewRootCommand() *cobra.Command {
	o := &options{newClient: client.FromEnv}
	cmd := &cobra.Command{
		Use:   "crm_verify [options]",
		Short: "Check a CIB for configuration errors",
		Long: `crm_verify checks a CIB against the schema subset Systole supports (unique
ids, required attributes, references that resolve, legal scores, roles,
intervals) and the cluster-level rules Pacemaker's crm_verify applies
(fencing must be configured or disabled). Each problem is printed as an
"error:" line naming the element; the exit status is 0 for a valid CIB.`,
		Example: `  crm_verify -x /tmp/c.xml
  CIB_file=/tmp/c.xml crm_verify -L -V
  cibadmin -Q | crm_verify -p`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return client.UsageError("crm_verify", "%s", err.Error()) })
	o.AddFlags(cmd.Flags())
	return cmd
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (o *options) info(cmd *cobra.Command, level int, format string, a ...any) {
	if o.verbose >= level && !o.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "info: "+format+"\n", a...)
	}
}

// load returns the CIB to check and a description of where it came from.
func (o *options) load(cmd *cobra.Command) (*cib.CIB, error) {
	n := 0
	for _, b := range []bool{o.live, o.xmlFile != "", o.xmlText != "", o.xmlPipe} {
		if b {
			n++
		}
	}
	if n == 0 {
		return nil, client.UsageError("crm_verify", "give the CIB to check: -L, -x FILE, -X TEXT or -p")
	}
	if n > 1 {
		return nil, client.UsageError("crm_verify", "give only one of -L, -x, -X and -p")
	}
	var data []byte
	var what string
	switch {
	case o.xmlFile != "":
		what = "input file " + o.xmlFile
		b, err := os.ReadFile(o.xmlFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			code := client.ExitError
			if errors.Is(err, os.ErrNotExist) {
				code = client.ExitNoInput
			}
			return nil, &client.CLIError{Code: code, Msg: fmt.Sprintf("crm_verify: cannot read %s: %v", what, err)}
		}
		data = b
	case o.xmlText != "":
		what, data = "input string", []byte(o.xmlText)
	case o.xmlPipe:
		what = "input from standard input"
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, &client.CLIError{Code: client.ExitError, Msg: "crm_verify: cannot read standard input: " + err.Error()}
		}
		data = b
	case o.live:
		return o.loadLive(cmd)
	}
	o.info(cmd, 1, "reading %s", what)
	if err := client.WellFormed(data); err != nil {
		msg := strings.TrimPrefix(err.Error(), cib.ErrMalformed.Error()+": ")
		return nil, &client.CLIError{Code: client.ExitDataErr, Msg: fmt.Sprintf("crm_verify: Couldn't parse %s: %s", what, msg)}
	}
	c, err := cib.Parse(data)
	if err != nil {
		return nil, &client.CLIError{Code: client.ExitDataErr, Msg: fmt.Sprintf("crm_verify: Couldn't parse %s: %s", what, oneLine(strings.TrimPrefix(err.Error(), "cib: ")))}
	}
	return c, nil
}

func (o *options) loadLive(cmd *cobra.Command) (*cib.CIB, error) {
	cfg := client.ConfigFromEnv()
	if cfg.File != "" {
		o.info(cmd, 1, "reading the live CIB from CIB_file %s", cfg.File)
	} else {
		o.info(cmd, 1, "reading the live CIB from the CIB service")
	}
	cl, err := o.newClient()
	if err != nil {
		return nil, &client.CLIError{Code: client.ExitCode(err), Msg: "crm_verify: " + oneLine(err.Error())}
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := cl.Query(ctx, cib.Request{Op: cib.OpQuery})
	if err != nil {
		return nil, &client.CLIError{Code: client.ExitCode(err), Msg: "crm_verify: " + oneLine(strings.TrimPrefix(err.Error(), "cib: "))}
	}
	if len(out) != 1 {
		return nil, &client.CLIError{Code: client.ExitError, Msg: "crm_verify: the CIB service returned no CIB"}
	}
	c, err := cib.Parse(server.ElementBytes(out[0]))
	if err != nil {
		return nil, &client.CLIError{Code: client.ExitDataErr, Msg: "crm_verify: Couldn't parse the live CIB: " + oneLine(err.Error())}
	}
	return c, nil
}

func (o *options) run(cmd *cobra.Command) error {
	c, err := o.load(cmd)
	if err != nil {
		return err
	}
	if o.saveXML != "" {
		if err := os.WriteFile(o.saveXML, c.Bytes(), 0o644); err != nil {
			return &client.CLIError{Code: client.ExitIOErr, Msg: "crm_verify: cannot save XML: " + err.Error()}
		}
	}
	root := c.Root()
	o.info(cmd, 1, "CIB version %s, validate-with %s", c.Version(), root.SelectAttrValue("validate-with", "(none)"))
	problems := check(c)
	if o.verbose >= 1 {
		conf := root.SelectElement("configuration")
		count := func(path string) int { return len(conf.FindElements(path)) }
		o.info(cmd, 1, "checked ids, required attributes, references, scores, roles and intervals: %d nodes, %d resources, %d constraints",
			count("nodes/node"), count("resources//primitive"), len(conf.FindElements("constraints/*")))
		on, devices := stonithState(c)
		o.info(cmd, 1, "checked fencing: stonith-enabled=%t, %d fencing device(s)", on, devices)
		if o.verbose >= 2 {
			for _, p := range problems {
				o.info(cmd, 2, "problem in <%s id=%q>", p.tag, p.id)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if !o.quiet {
		w := cmd.ErrOrStderr()
		for _, p := range problems {
			fmt.Fprintf(w, "error: %s\n", p.msg)
		}
		fmt.Fprintln(w, "Errors found during check: config not valid")
		if o.verbose == 0 {
			fmt.Fprintln(w, "  -V may provide more details")
		}
	}
	return &client.CLIError{Code: client.ExitConfig}
}

// problem is one error to report.
type problem struct {
	tag, id, msg string
}

// check runs the schema-subset validation of the cib package and the
// cluster-level rules crm_verify adds.
func check(c *cib.CIB) []problem {
	var out []problem
	if err := c.Validate(); err != nil {
		var ves cib.ValidationErrors
		var ve *cib.ValidationError
		switch {
		case errors.As(err, &ves):
		case errors.As(err, &ve):
			ves = cib.ValidationErrors{ve}
		default:
			return []problem{{tag: "cib", msg: oneLine(err.Error())}}
		}
		for _, v := range ves {
			out = append(out, problem{tag: v.Tag, id: v.ID, msg: oneLine(v.Error())})
		}
	}
	if on, devices := stonithState(c); on && devices == 0 {
		// Pacemaker's scheduler refuses to start resources in this state
		// and crm_verify reports it with these three lines.
		for _, m := range []string{
			"Resource start-up disabled since no STONITH resources have been defined",
			"Either configure some or disable STONITH with the stonith-enabled option",
			"NOTE: Clusters with shared data need STONITH to ensure data integrity",
		} {
			out = append(out, problem{tag: "crm_config", msg: m})
		}
	}
	return out
}

// stonithState reports whether fencing is enabled (stonith-enabled in any
// cluster_property_set; Pacemaker's default is true) and how many fencing
// devices (primitives of class stonith) are configured.
func stonithState(c *cib.CIB) (bool, int) {
	conf := c.Root().SelectElement("configuration")
	enabled := true
	for _, nv := range conf.FindElements("crm_config/cluster_property_set/nvpair[@name='stonith-enabled']") {
		enabled = isTrue(nv.SelectAttrValue("value", "true"))
	}
	return enabled, len(conf.FindElements("resources//primitive[@class='stonith']"))
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}
