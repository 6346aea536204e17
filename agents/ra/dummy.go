package ra

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Dummy is a resource that exists only as a state file: the test agent
// every cluster needs. Parameters: state (the file), fake (a reloadable
// value with no effect), op_sleep (seconds every action sleeps).
type Dummy struct{}

// Name implements Agent.
func (Dummy) Name() string { return "Dummy" }

// Metadata implements Agent.
func (Dummy) Metadata() string {
	return metaXML("Dummy", "Example stateless resource agent",
		"A resource that only keeps a state file: it is started when the file exists. For testing clusters.",
		param("state", "string", "", "State file",
			"Location to store the resource state in (default HA_RSCTMP/Dummy-INSTANCE.state).", ` unique-group="state"`)+
			param("fake", "string", "dummy", "Fake attribute that can be changed to cause a reload",
				"Fake attribute that can be changed to cause an agent reload.", ` reloadable="1"`)+
			param("op_sleep", "string", "0", "Operation sleep duration in seconds",
				"Number of seconds every action sleeps, to simulate slow resources.", ""),
		`<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="reload" timeout="20s"/>
<action name="reload-agent" timeout="20s"/>
<action name="migrate_to" timeout="20s"/>
<action name="migrate_from" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="20s"/>
`)
}

func (Dummy) state(e *Env) string { return e.Param("state", e.StatePath("Dummy", "state")) }

// Run implements Agent.
func (d Dummy) Run(e *Env) int {
	if rc := d.validate(e); rc != OK {
		if e.Action == "stop" {
			return OK // nothing can be running with a bad configuration
		}
		if e.Action == "monitor" {
			return NotRunning
		}
		return rc
	}
	if e.Action != "validate-all" {
		if rc := sleepParam(e, "op_sleep"); rc != OK {
			return rc
		}
	}
	st := d.state(e)
	switch e.Action {
	case "start", "migrate_from":
		if err := writeFileAtomic(st, []byte(e.Param("fake", "dummy")+"\n")); err != nil {
			return e.Fail(ErrGeneric, "cannot write state file %s: %v", st, err)
		}
		return OK
	case "stop", "migrate_to":
		if err := os.Remove(st); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return e.Fail(ErrGeneric, "cannot remove state file %s: %v", st, err)
		}
		return OK
	case "monitor":
		if _, err := os.Stat(st); err != nil {
			return NotRunning
		}
		return OK
	case "reload", "reload-agent":
		if _, err := os.Stat(st); err == nil {
			if err := writeFileAtomic(st, []byte(e.Param("fake", "dummy")+"\n")); err != nil {
				return e.Fail(ErrGeneric, "cannot write state file %s: %v", st, err)
			}
		}
		return OK
	case "validate-all":
		return OK
	}
	return ErrUnimplemented
}

func (d Dummy) validate(e *Env) int {
	st := d.state(e)
	if !filepath.IsAbs(st) {
		return e.Fail(ErrConfigured, "state=%q is not an absolute path", st)
	}
	if e.CheckLevel() > 0 || e.Action == "start" {
		dir := filepath.Dir(st)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return e.Fail(ErrPerm, "state directory %s: %v", dir, err)
		}
	}
	return OK
}
