package ra

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OCF exit codes.
const (
	OK               = 0
	ErrGeneric       = 1
	ErrArgs          = 2
	ErrUnimplemented = 3
	ErrPerm          = 4
	ErrInstalled     = 5
	ErrConfigured    = 6
	NotRunning       = 7
	RunningPromoted  = 8
	FailedPromoted   = 9
)

// Env is what an agent sees of its invocation.
type Env struct {
	Action   string
	Instance string            // OCF_RESOURCE_INSTANCE
	Params   map[string]string // OCF_RESKEY_<name>, without CRM_meta_
	Meta     map[string]string // OCF_RESKEY_CRM_meta_<name>
	Vars     map[string]string // the whole environment
	Stdout   io.Writer
	Stderr   io.Writer
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
}

// NewEnv builds an Env from an environment list.
func NewEnv(action string, environ []string, stdout, stderr io.Writer) *Env {
	e := &Env{Action: action, Params: map[string]string{}, Meta: map[string]string{}, Vars: map[string]string{},
		Stdout: stdout, Stderr: stderr, Now: time.Now}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		e.Vars[k] = v
		if rest, ok := strings.CutPrefix(k, "OCF_RESKEY_CRM_meta_"); ok {
			e.Meta[rest] = v
		} else if rest, ok := strings.CutPrefix(k, "OCF_RESKEY_"); ok {
			e.Params[rest] = v
		}
	}
	e.Instance = e.Vars["OCF_RESOURCE_INSTANCE"]
	if e.Instance == "" {
		e.Instance = "default"
	}
	return e
}

// Param returns a parameter or its default.
func (e *Env) Param(name, def string) string {
	if v, ok := e.Params[name]; ok && v != "" {
		return v
	}
	return def
}

// CheckLevel returns OCF_CHECK_LEVEL (0 when unset).
func (e *Env) CheckLevel() int {
	n, _ := strconv.Atoi(e.Vars["OCF_CHECK_LEVEL"])
	return n
}

// IsProbe reports whether this is a probe: a monitor with interval 0.
func (e *Env) IsProbe() bool {
	return e.Action == "monitor" && (e.Meta["interval"] == "" || e.Meta["interval"] == "0")
}

// Logf writes a log line to stderr (lrmd captures it).
func (e *Env) Logf(level, format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: %s\n", level, fmt.Sprintf(format, args...))
}

// Fail prints the exit reason and returns rc, for `return e.Fail(...)`.
func (e *Env) Fail(rc int, format string, args ...any) int {
	fmt.Fprintf(e.Stderr, "ocf-exit-reason:%s\n", fmt.Sprintf(format, args...))
	return rc
}

// RunDir is where agents keep state: HA_RSCTMP, else /run/resource-agents
// (the directory resource-agents' ocf-shellfuncs uses).
func (e *Env) RunDir() string {
	if d := e.Vars["HA_RSCTMP"]; d != "" {
		return d
	}
	return "/run/resource-agents"
}

// StatePath returns the default state file NAME-INSTANCE.SUFFIX in RunDir.
func (e *Env) StatePath(agent, suffix string) string {
	inst := strings.NewReplacer("/", "_", ":", "_").Replace(e.Instance)
	return filepath.Join(e.RunDir(), agent+"-"+inst+"."+suffix)
}

// Agent is one resource agent.
type Agent interface {
	// Name is the agent type, the file name under resource.d/systole.
	Name() string
	// Metadata returns the agent's OCF meta-data XML.
	Metadata() string
	// Run performs e.Action (never meta-data) and returns an OCF code.
	Run(e *Env) int
}

// All returns every agent, sorted by name.
func All() []Agent {
	as := []Agent{Dummy{}, IPaddr{}, Stateful{}, Anything{}, Ping{}}
	sort.Slice(as, func(i, j int) bool { return as[i].Name() < as[j].Name() })
	return as
}

// Lookup returns the agent with this name.
func Lookup(name string) (Agent, bool) {
	for _, a := range All() {
		if a.Name() == name {
			return a, true
		}
	}
	return nil, false
}

// Main runs an agent as a process would: agent is the agent name, args
// the command-line arguments after it (the action), environ the
// environment. It returns the exit code.
func Main(agent string, args, environ []string, stdout, stderr io.Writer) int {
	a, ok := Lookup(agent)
	if !ok {
		fmt.Fprintf(stderr, "ocf-exit-reason:no Systole agent named %q\n", agent)
		return ErrInstalled
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: %s {start|stop|monitor|meta-data|validate-all|...}\n", agent)
		return ErrArgs
	}
	action := args[0]
	if action == "meta-data" {
		io.WriteString(stdout, a.Metadata())
		return OK
	}
	if action == "usage" || action == "help" {
		fmt.Fprintf(stdout, "usage: %s {start|stop|monitor|meta-data|validate-all|...}\n", agent)
		return OK
	}
	return a.Run(NewEnv(action, environ, stdout, stderr))
}

// writeFileAtomic writes data to path through a temporary file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sleepParam sleeps for a duration parameter given in seconds (op_sleep).
func sleepParam(e *Env, name string) int {
	v := e.Param(name, "0")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return e.Fail(ErrConfigured, "%s=%q is not a number of seconds", name, v)
	}
	time.Sleep(time.Duration(f * float64(time.Second)))
	return OK
}

// metaXML formats standard meta-data. params and actions are pre-rendered
// XML fragments.
func metaXML(name, short, long, params, actions string) string {
	return `<?xml version="1.0"?>
<resource-agent name="` + name + `" version="1.0">
<version>1.1</version>
<longdesc lang="en">
` + long + `
</longdesc>
<shortdesc lang="en">` + short + `</shortdesc>
<parameters>
` + params + `</parameters>
<actions>
` + actions + `</actions>
</resource-agent>
`
}

// param renders one <parameter>.
func param(name, typ, def, short, long string, attrs string) string {
	d := ""
	if def != "" {
		d = ` default="` + def + `"`
	}
	return `<parameter name="` + name + `"` + attrs + `>
<longdesc lang="en">` + long + `</longdesc>
<shortdesc lang="en">` + short + `</shortdesc>
<content type="` + typ + `"` + d + `/>
</parameter>
`
}
