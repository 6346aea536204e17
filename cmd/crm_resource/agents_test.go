package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	raOnce sync.Once
	raRoot string
	raErr  error
)

// ocfRoot builds agents/cmd/systole-ra into a temporary OCF_ROOT laid out
// as `make install` does: resource.d/systole/.systole-ra and a link per
// agent.
func ocfRoot(t *testing.T) string {
	t.Helper()
	raOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crm_resource-ocf-")
		if err != nil {
			raErr = err
			return
		}
		prov := filepath.Join(dir, "resource.d", "systole")
		if raErr = os.MkdirAll(prov, 0o755); raErr != nil {
			return
		}
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-o", filepath.Join(prov, ".systole-ra"), "github.com/systole/systole/agents/cmd/systole-ra").CombinedOutput()
		if err != nil {
			raErr = err
			raRoot = string(out)
			return
		}
		for _, a := range []string{"Dummy", "IPaddr", "Stateful", "anything", "ping"} {
			if raErr = os.Symlink(".systole-ra", filepath.Join(prov, a)); raErr != nil {
				return
			}
		}
		raRoot = dir
	})
	if raErr != nil {
		t.Fatalf("building systole-ra: %v %s", raErr, raRoot)
	}
	return raRoot
}

// TestForceAgentSystole runs Systole's Dummy agent directly with
// --force-check, --force-start, --force-stop and --validate: no daemon,
// the CIB from a file, the OCF environment from the resource's
// configuration, the agent's exit code as crm_resource's.
func TestForceAgentSystole(t *testing.T) {
	t.Parallel()
	root := ocfRoot(t)
	tmp := t.TempDir()
	env := []string{"CIB_file=" + fixture(t, "agents.xml"), "OCF_ROOT=" + root, "HA_RSCTMP=" + tmp}
	state := filepath.Join(tmp, "Dummy-sd.state")
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--force-check", "-r", "sd"}, 7, "Operation monitor for sd (ocf:systole:Dummy) returned: 'not running' (7)\n"},
		{[]string{"--force-start", "-r", "sd"}, 0, "Operation start for sd (ocf:systole:Dummy) returned: 'ok' (0)\n"},
		{[]string{"--force-check", "-r", "sd"}, 0, "Operation monitor for sd (ocf:systole:Dummy) returned: 'ok' (0)\n"},
		{[]string{"--validate", "-r", "sd"}, 0, "Operation validate-all for sd (ocf:systole:Dummy) returned: 'ok' (0)\n"},
		{[]string{"--force-stop", "-r", "sd"}, 0, "Operation stop for sd (ocf:systole:Dummy) returned: 'ok' (0)\n"},
		{[]string{"--force-check", "-Q", "-r", "sd"}, 7, ""},
		{[]string{"--force-start", "-r", "missing"}, 5, "Operation start for missing (ocf:systole:NoSuchAgent) failed: 'not installed' (5)\n"},
		{[]string{"--force-start", "-r", "grp"}, 3, ""},
		{[]string{"--force-start", "-r", "zz"}, 105, ""},
	}
	for i, st := range steps {
		r := runTool(t, env, st.args...)
		if r.code != st.code || !strings.HasPrefix(r.out, st.out) {
			t.Fatalf("crm_resource %s: exit %d want %d\nstdout %q\nwant prefix %q\nstderr %q", strings.Join(st.args, " "), r.code, st.code, r.out, st.out, r.errout)
		}
		if i == 1 {
			b, err := os.ReadFile(state)
			if err != nil || string(b) != "from-the-cib\n" {
				t.Fatalf("state file after --force-start: %q %v (the agent did not get OCF_RESKEY_fake)", b, err)
			}
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file after --force-stop: %v", err)
	}
	// the agent's exit reason and output are shown
	r := runTool(t, env, "--force-start", "-r", "bad-state")
	if r.code != 6 || !strings.HasPrefix(r.out, "Operation start for bad-state (ocf:systole:Dummy) returned: 'not configured' (6)\n") ||
		!strings.Contains(r.out, "is not an absolute path") {
		t.Errorf("bad configuration: %d\n%s\n%s", r.code, r.out, r.errout)
	}
	// a group is refused, as in Pacemaker
	if r := runTool(t, env, "--force-start", "-r", "grp"); r.errout != "Sorry, the --force-start option doesn't support group resources\n" {
		t.Errorf("group: %q", r.errout)
	}
	// a clone runs its primitive
	if r := runTool(t, env, "--force-check", "-r", "cl"); r.code != 7 || !strings.HasPrefix(r.out, "Operation monitor for cd (ocf:systole:Dummy)") {
		t.Errorf("clone: %d %q %q", r.code, r.out, r.errout)
	}
	// the op timeout applies (start timeout 1s, the agent sleeps 5s)
	r = runTool(t, env, "--force-start", "-r", "slow")
	if r.code != 124 || !strings.HasPrefix(r.out, "Operation start for slow (ocf:systole:Dummy) failed: 'timed out' (1)\n") {
		t.Errorf("timeout: %d %q %q", r.code, r.out, r.errout)
	}
}

// TestAgentListing lists standards, providers and agents and shows
// meta-data, without a CIB.
func TestAgentListing(t *testing.T) {
	t.Parallel()
	root := ocfRoot(t)
	env := []string{"OCF_ROOT=" + root}
	r := runTool(t, env, "--list-agents", "ocf:systole")
	if r.code != 0 || r.out != "Dummy\nIPaddr\nStateful\nanything\nping\n" {
		t.Errorf("--list-agents ocf:systole: %d %q %q", r.code, r.out, r.errout)
	}
	if r = runTool(t, env, "--list-agents", "ocf"); r.code != 0 || !strings.Contains(r.out, "Dummy\n") {
		t.Errorf("--list-agents ocf: %d %q", r.code, r.out)
	}
	if r = runTool(t, env, "--list-ocf-providers"); r.code != 0 || r.out != "systole\n" {
		t.Errorf("--list-ocf-providers: %d %q", r.code, r.out)
	}
	if r = runTool(t, env, "--list-standards"); r.code != 0 || r.out != "ocf\nlsb\nstonith\n" {
		t.Errorf("--list-standards: %d %q", r.code, r.out)
	}
	if r = runTool(t, env, "--list-agents", "ocf:nope"); r.code != 105 || r.errout != "crm_resource: No agents found for standard 'ocf', provider 'nope'\n" {
		t.Errorf("unknown provider: %d %q", r.code, r.errout)
	}
	r = runTool(t, env, "--show-metadata", "ocf:systole:Dummy")
	if r.code != 0 || !strings.Contains(r.out, `<resource-agent name="Dummy"`) || !strings.Contains(r.out, `<parameter name="fake"`) {
		t.Errorf("--show-metadata: %d %q %q", r.code, r.out, r.errout)
	}
	if r = runTool(t, env, "--show-metadata", "ocf:systole:Nope"); r.code != 105 || !strings.HasPrefix(r.errout, "crm_resource: Metadata query for ocf:systole:Nope failed: ") {
		t.Errorf("--show-metadata missing: %d %q", r.code, r.errout)
	}
	if r = runTool(t, env, "--show-metadata", "Dummy"); r.code != 64 {
		t.Errorf("--show-metadata bad spec: %d %q", r.code, r.errout)
	}
}

// TestForceAgentDebian runs resource-agents' ocf:heartbeat:Dummy, when
// installed, unmodified.
func TestForceAgentDebian(t *testing.T) {
	t.Parallel()
	const agent = "/usr/lib/ocf/resource.d/heartbeat/Dummy"
	if _, err := os.Stat(agent); err != nil {
		t.Skip("resource-agents not installed:", err)
	}
	tmp := t.TempDir()
	env := []string{"CIB_file=" + fixture(t, "agents.xml"), "OCF_ROOT=/usr/lib/ocf", "HA_RSCTMP=" + tmp}
	for _, st := range []struct {
		opt  string
		code int
		word string
	}{
		{"--force-check", 7, "monitor"}, {"--force-start", 0, "start"}, {"--force-check", 0, "monitor"},
		{"--force-stop", 0, "stop"}, {"--force-check", 7, "monitor"},
	} {
		r := runTool(t, env, st.opt, "-r", "hb")
		if r.code != st.code || !strings.HasPrefix(r.out, "Operation "+st.word+" for hb (ocf:heartbeat:Dummy) returned: '") {
			t.Fatalf("%s: exit %d want %d\n%s\n%s", st.opt, r.code, st.code, r.out, r.errout)
		}
	}
	r := runTool(t, env, "--show-metadata", "ocf:heartbeat:Dummy")
	if r.code != 0 || !strings.Contains(r.out, `<resource-agent name="Dummy"`) {
		t.Errorf("--show-metadata ocf:heartbeat:Dummy: %d %q", r.code, r.errout)
	}
}

// TestAgentWithoutCIB runs an agent that is in no CIB (--class,
// --provider, --agent), with --option parameters, no CIB_file and no
// daemon; --option also overrides a CIB resource's parameter.
func TestAgentWithoutCIB(t *testing.T) {
	t.Parallel()
	root := ocfRoot(t)
	tmp := t.TempDir()
	env := []string{"OCF_ROOT=" + root, "HA_RSCTMP=" + tmp, "CIB_socket=" + filepath.Join(tmp, "nothing.sock")}
	r := runTool(t, env, "--force-start", "--class", "ocf", "--provider", "systole", "--agent", "Dummy", "--option", "fake=zz")
	if r.code != 0 || r.out != "Operation start (ocf:systole:Dummy) returned: 'ok' (0)\n" {
		t.Fatalf("start: %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(tmp, "Dummy-test.state")); err != nil || string(b) != "zz\n" {
		t.Fatalf("state: %q %v", b, err)
	}
	r = runTool(t, env, "--force-check", "--class", "ocf", "--provider", "systole", "--agent", "Dummy", "-r", "other")
	if r.code != 7 || r.out != "Operation monitor for other (ocf:systole:Dummy) returned: 'not running' (7)\n" {
		t.Fatalf("check: %+v", r)
	}
	// promote and demote, with Systole's Stateful
	for _, st := range []struct {
		opt, line string
		code      int
	}{
		{"--force-start", "Operation start (ocf:systole:Stateful) returned: 'ok' (0)\n", 0},
		{"--force-promote", "Operation promote (ocf:systole:Stateful) returned: 'ok' (0)\n", 0},
		{"--force-check", "Operation monitor (ocf:systole:Stateful) returned: 'promoted' (8)\n", 8},
		{"--force-demote", "Operation demote (ocf:systole:Stateful) returned: 'ok' (0)\n", 0},
		{"--force-check", "Operation monitor (ocf:systole:Stateful) returned: 'ok' (0)\n", 0},
		{"--force-stop", "Operation stop (ocf:systole:Stateful) returned: 'ok' (0)\n", 0},
	} {
		if r := runTool(t, env, st.opt, "--class", "ocf", "--provider", "systole", "--agent", "Stateful"); r.code != st.code || r.out != st.line {
			t.Fatalf("Stateful %s: %+v", st.opt, r)
		}
	}
	r = runTool(t, env, "--force-check", "--class", "ocf", "--provider", "nobody", "--agent", "Dummy")
	if r.code != 5 || !strings.HasPrefix(r.out, "Operation monitor (ocf:nobody:Dummy) failed: 'not installed' (5)\n") {
		t.Errorf("unknown provider: %+v", r)
	}
	if r = runTool(t, env, "--validate", "--agent", "Dummy"); r.code != 64 {
		t.Errorf("no class: %+v", r)
	}
	if r = runTool(t, env, "--force-start", "--class", "ocf", "--provider", "systole", "--agent", "Dummy", "--option", "novalue"); r.code != 64 {
		t.Errorf("bad option: %+v", r)
	}
	env = append(env, "CIB_file="+fixture(t, "agents.xml"))
	r = runTool(t, env, "--force-start", "-r", "sd", "--option", "fake=override")
	if r.code != 0 || r.out != "Overriding the cluster configuration for 'sd' with 'fake' = 'override'\nOperation start for sd (ocf:systole:Dummy) returned: 'ok' (0)\n" {
		t.Fatalf("override: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "Dummy-sd.state")); string(b) != "override\n" {
		t.Errorf("state with override: %q", b)
	}
}
