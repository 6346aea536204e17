// Command crm_mon shows the cluster's state with Pacemaker's crm_mon flags
// and output formats (text as Pacemaker 2.1 prints it, XML in the shape of
// its <pacemaker-result>). It reads the local crmd, or the CIB in CIB_file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/systole/systole/cib/client"
	crmstatus "github.com/systole/systole/crm/status"
	"github.com/systole/systole/crm/status/source"
	cibv1 "github.com/systole/systole/proto/cib/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Main runs crm_mon with args and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := NewRootCommand(args)
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	code, line := client.CLIExit("crm_mon", err)
	if line != "" {
		io.WriteString(stderr, line+"\n")
	}
	return code
}

type options struct {
	oneShot                         bool
	interval                        string
	inactive, failcounts, attrs     bool
	groupByNode, operations, timing bool
	fence                           string
	outputAs                        string
	asXML                           bool
	timeout                         int
	verbose                         int

	args      []string
	newSource func() (*source.Source, error)
	// history reads stonithd's fencing history next to the CIB socket
	// (nil: none is shown).
	history func(ctx context.Context, cibSocket string) ([]*stonithv1.Entry, error)
	now     func() time.Time
	isTTY   func(io.Writer) bool
}

// AddFlags registers crm_mon's flags with Pacemaker's names and letters.
func (o *options) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.oneShot, "one-shot", "1", false, "display the cluster status once and exit")
	fs.StringVarP(&o.interval, "interval", "i", "", "refresh every TIMESPEC (seconds, or with a unit: 5s, 1m; default 5s)")
	fs.BoolVarP(&o.inactive, "inactive", "r", false, "show inactive resources too")
	fs.BoolVarP(&o.failcounts, "failcounts", "f", false, "show the fail counts (Migration Summary)")
	fs.BoolVarP(&o.attrs, "show-node-attributes", "A", false, "show node attributes")
	fs.BoolVarP(&o.groupByNode, "group-by-node", "n", false, "group resources by node")
	fs.BoolVarP(&o.operations, "operations", "o", false, "show the resource operation history")
	fs.BoolVarP(&o.timing, "timing-details", "t", false, "show timing details in the operation history")
	fs.StringVarP(&o.fence, "fence-history", "m", "", "fencing history level: 0 off, 1 failures and pending (the default), 2 also successes (-m alone), 3 the full history")
	fs.Lookup("fence-history").NoOptDefVal = "2"
	fs.StringVar(&o.outputAs, "output-as", "text", "output format: text or xml")
	fs.BoolVarP(&o.asXML, "as-xml", "X", false, "same as --output-as=xml (kept for old resource agents)")
	fs.Lookup("as-xml").Hidden = true
	fs.IntVar(&o.timeout, "timeout", 30, "seconds to wait for the cluster's answer")
	fs.CountVarP(&o.verbose, "verbose", "V", "accepted for compatibility")
}

// NewRootCommand returns the crm_mon command; args are recorded as the
// XML's request.
func NewRootCommand(args []string) *cobra.Command {
	o := &options{args: args, newSource: source.FromEnv, now: time.Now, isTTY: isTerminal, history: stonithHistory}
	cmd := &cobra.Command{
		Use:   "crm_mon [options]",
		Short: "Show the cluster's state",
		Long: `crm_mon shows the cluster's state as Pacemaker's crm_mon does: nodes, resources,
failed actions and, on request, fail counts, node attributes and the operation
history. With CIB_file=FILE it shows what the CIB in FILE records; otherwise it
asks the local crmd on CIB_socket (default ` + client.DefaultSocket + `).

Without -1 on a terminal it redraws every --interval (5s) and whenever the CIB
changes, until Ctrl-C. Not on a terminal, it prints once unless -i is given.`,
		Example: `  crm_mon -1
  crm_mon -1 -rfA
  crm_mon -1 --output-as=xml
  CIB_file=/var/lib/systole/cib.xml crm_mon -1 -o`,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return client.UsageError("crm_mon", "%s", err.Error()) })
	o.AddFlags(cmd.Flags())
	return cmd
}

// parseInterval reads Pacemaker's TIMESPEC: plain seconds or a number with
// a unit (ms, s, m, h).
func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 5 * time.Second, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("interval %q must be positive", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid interval %q (seconds, or e.g. 5s, 1m)", s)
	}
	return d, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (o *options) run(cmd *cobra.Command) error {
	if o.asXML {
		o.outputAs = "xml"
	}
	switch o.outputAs {
	case "text", "xml", "console", "plain":
	default:
		return client.UsageError("crm_mon", "unsupported output format %q (text or xml)", o.outputAs)
	}
	if o.fence != "" {
		if n, err := strconv.Atoi(o.fence); err != nil || n < 0 || n > 3 {
			return client.UsageError("crm_mon", "--fence-history level %q must be 0 to 3", o.fence)
		}
	}
	interval, err := parseInterval(o.interval)
	if err != nil {
		return client.UsageError("crm_mon", "%v", err)
	}
	src, err := o.newSource()
	if err != nil {
		return source.CLIError("crm_mon", err)
	}
	defer src.Close()
	out := cmd.OutOrStdout()
	tty := o.isTTY(out)
	live := !o.oneShot && (tty || cmd.Flags().Changed("interval"))
	if !live {
		text, err := o.render(cmd.Context(), src)
		if err != nil {
			return source.CLIError("crm_mon", err)
		}
		_, err = io.WriteString(out, text)
		return err
	}
	ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return o.loop(ctx, src, out, tty, interval)
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// loop redraws every interval and whenever the CIB changes until ctx ends
// (Ctrl-C), which is a normal exit. An error (crmd restarting, say) is
// shown in place of the status and the next redraw tries again.
func (o *options) loop(ctx context.Context, src *source.Source, out io.Writer, tty bool, interval time.Duration) error {
	changed := make(chan struct{}, 1)
	if g, ok := src.CIB.(*client.GRPC); ok {
		go func() {
			for ctx.Err() == nil {
				g.Watch(ctx, false, func(*cibv1.WatchEvent) error {
					select {
					case changed <- struct{}{}:
					default:
					}
					return nil
				})
				select {
				case <-ctx.Done():
					return
				case <-time.After(interval):
				}
			}
		}()
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		text, err := o.render(ctx, src)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			text = source.CLIError("crm_mon", err).Error() + "\n(retrying every " + interval.String() + "; Ctrl-C to exit)\n"
		}
		if tty {
			io.WriteString(out, "\033[H\033[2J")
		} else {
			text += "\n"
		}
		if _, err := io.WriteString(out, text); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-changed:
			// let a burst of writes settle into one redraw
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			select {
			case <-changed:
			default:
			}
		}
	}
}

// render reads the state once and renders it in the chosen format.
func (o *options) render(ctx context.Context, src *source.Source) (string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := client.WithTimeout(ctx, time.Duration(o.timeout)*time.Second)
	defer cancel()
	now := o.now()
	c, _, err := src.Cluster(ctx, now.Unix())
	if err != nil {
		return "", err
	}
	opts := crmstatus.Options{
		Inactive: o.inactive, FailCounts: o.failcounts, NodeAttributes: o.attrs,
		GroupByNode: o.groupByNode, Operations: o.operations, Timing: o.timing,
		LastUpdated: now.Unix(), Location: time.Local,
		Request: strings.TrimSpace("crm_mon " + strings.Join(o.args, " ")),
	}
	opts.FenceLevel, opts.Fencing, opts.FenceError = o.fencing(ctx, src, c.FencingEnabled)
	if o.outputAs == "xml" {
		return string(c.XML(opts)), nil
	}
	return c.Text(opts), nil
}
