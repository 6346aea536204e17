package ra

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Stateful is a promotable test agent: its state file holds its role
// (unpromoted or promoted). monitor returns 0 unpromoted, 8 promoted, 7
// stopped. On start and promote it offers a promotion score with
// crm_attribute --promotion when that command exists (failures are
// logged, never fatal, so it runs without a cluster).
type Stateful struct{}

// Name implements Agent.
func (Stateful) Name() string { return "Stateful" }

// Metadata implements Agent.
func (Stateful) Metadata() string {
	return metaXML("Stateful", "Example promotable resource agent",
		"A promotable test resource: its role is kept in a state file.",
		param("state", "string", "", "State file",
			"Location to store the role (default HA_RSCTMP/Stateful-INSTANCE.state).", ` unique-group="state"`)+
			param("notify_delay", "string", "0", "Seconds notify sleeps", "Seconds the notify action sleeps.", ""),
		`<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" depth="0" timeout="20s" interval="10s" role="Promoted"/>
<action name="monitor" depth="0" timeout="20s" interval="11s" role="Unpromoted"/>
<action name="promote" timeout="10s"/>
<action name="demote" timeout="10s"/>
<action name="notify" timeout="5s"/>
<action name="reload-agent" timeout="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="30s"/>
`)
}

const (
	rolePromoted   = "promoted"
	roleUnpromoted = "unpromoted"
)

func (Stateful) state(e *Env) string { return e.Param("state", e.StatePath("Stateful", "state")) }

func (s Stateful) role(e *Env) (string, bool) {
	b, err := os.ReadFile(s.state(e))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (s Stateful) setRole(e *Env, role string) int {
	if err := writeFileAtomic(s.state(e), []byte(role+"\n")); err != nil {
		return e.Fail(ErrGeneric, "cannot write state file %s: %v", s.state(e), err)
	}
	score := "5"
	if role == rolePromoted {
		score = "10"
	}
	s.promotionScore(e, score)
	return OK
}

// promotionScore asks the cluster to prefer this instance for promotion.
func (Stateful) promotionScore(e *Env, score string) {
	if e.IsProbe() || e.Meta["clone_max"] == "" {
		return // not running as a clone: no cluster to tell
	}
	path, err := exec.LookPath("crm_attribute")
	if err != nil {
		return
	}
	c := exec.Command(path, "--promotion", "-l", "reboot", "-v", score)
	c.WaitDelay = time.Second
	if out, err := c.CombinedOutput(); err != nil {
		e.Logf("WARNING", "crm_attribute --promotion -v %s failed: %v: %s", score, err, strings.TrimSpace(string(out)))
	}
}

// Run implements Agent.
func (s Stateful) Run(e *Env) int {
	role, running := s.role(e)
	switch e.Action {
	case "start":
		if running {
			return OK
		}
		return s.setRole(e, roleUnpromoted)
	case "stop":
		if err := os.Remove(s.state(e)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return e.Fail(ErrGeneric, "cannot remove state file: %v", err)
		}
		return OK
	case "monitor":
		switch {
		case !running:
			return NotRunning
		case role == rolePromoted:
			return RunningPromoted
		case role == roleUnpromoted:
			return OK
		}
		return e.Fail(ErrGeneric, "state file holds unknown role %q", role)
	case "promote":
		if !running {
			return e.Fail(NotRunning, "cannot promote a stopped instance")
		}
		return s.setRole(e, rolePromoted)
	case "demote":
		if !running {
			return e.Fail(NotRunning, "cannot demote a stopped instance")
		}
		return s.setRole(e, roleUnpromoted)
	case "notify":
		return sleepParam(e, "notify_delay")
	case "reload-agent", "validate-all":
		return OK
	}
	return ErrUnimplemented
}
