package check

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/agents/agenttest"
)

func TestMain(m *testing.M) { agenttest.Main(m) }

func TestParseAgent(t *testing.T) {
	cases := []struct {
		spec     string
		provider string
		typ      string
		err      bool
	}{
		{"ocf:heartbeat:Dummy", "heartbeat", "Dummy", false},
		{"ocf:systole:IPaddr", "systole", "IPaddr", false},
		{"lsb:ssh", "", "", true},
		{"ocf::Dummy", "", "", true},
		{"Dummy", "", "", true},
		{"./testdata/broken-agent", "testdata", "broken-agent", false},
		{"./testdata/nope", "", "", true},
		{"./testdata", "", "", true},
	}
	for _, c := range cases {
		r, _, err := ParseAgent(c.spec, "/usr/lib/ocf")
		if (err != nil) != c.err || (err == nil && (r.Provider != c.provider || r.Type != c.typ)) {
			t.Errorf("ParseAgent(%q) = %+v, %v", c.spec, r, err)
		}
		if err != nil && !errors.Is(err, ErrUsage) {
			t.Errorf("ParseAgent(%q) error %v is not ErrUsage", c.spec, err)
		}
	}
}

func runCheck(t *testing.T, root, agent string, params map[string]string) (*Report, string) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Run(context.Background(), Options{Agent: agent, Params: params, OCFRoot: root, Out: &out})
	if err != nil {
		t.Fatalf("check %s: %v", agent, err)
	}
	return rep, out.String()
}

// TestSystoleAgentsPass: every agent Systole ships passes the checker
// (IPaddr needs a namespace: see cmd/systole's end-to-end test).
func TestSystoleAgentsPass(t *testing.T) {
	root := agenttest.OCFRoot(t)
	t.Setenv("HA_RSCTMP", t.TempDir())
	cases := []struct {
		agent  string
		params map[string]string
	}{
		{"ocf:systole:Dummy", nil},
		{"ocf:systole:Stateful", nil},
		{"ocf:systole:anything", map[string]string{"binfile": "sleep", "cmdline_options": "600"}},
		{"ocf:systole:ping", map[string]string{"host_list": "127.0.0.1", "dampen": "0", "attr_updater": "none"}},
		// by path, as an RA author would
		{filepath.Join(root, "resource.d/systole/Dummy"), map[string]string{"state": filepath.Join(t.TempDir(), "d.state")}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.agent), func(t *testing.T) {
			rep, out := runCheck(t, root, c.agent, c.params)
			if !rep.Passed() {
				t.Fatalf("failed:\n%s", out)
			}
			if !strings.Contains(out, "verdict: PASS") {
				t.Fatalf("no verdict:\n%s", out)
			}
		})
	}
}

func TestDebianDummyPasses(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("resource-agents not installed")
	}
	rep, out := runCheck(t, "/usr/lib/ocf", "ocf:heartbeat:Dummy", map[string]string{"state": filepath.Join(t.TempDir(), "Dummy.state")})
	if !rep.Passed() {
		t.Fatalf("ocf:heartbeat:Dummy failed:\n%s", out)
	}
}

func TestBrokenAgentFails(t *testing.T) {
	t.Setenv("HA_RSCTMP", t.TempDir())
	rep, out := runCheck(t, "/usr/lib/ocf", "./testdata/broken-agent", nil)
	if rep.Passed() {
		t.Fatalf("broken agent passed:\n%s", out)
	}
	for _, want := range []string{
		`action[@name="stop"]: attribute timeout is required`,
		`type "text" is not boolean`,
		"verdict: FAIL",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBrokenBehaviourFails: with valid meta-data, wrong exit codes are
// each reported.
func TestBrokenBehaviourFails(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HA_RSCTMP", dir)
	b, err := os.ReadFile("testdata/broken-agent")
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(b), `<action name="stop"/>`, `<action name="stop" timeout="20s"/>`, 1)
	fixed = strings.Replace(fixed, `type="text"`, `type="string"`, 1)
	agent := filepath.Join(dir, "half-broken")
	if err := os.WriteFile(agent, []byte(fixed), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, out := runCheck(t, "/usr/lib/ocf", agent, nil)
	if rep.Passed() {
		t.Fatalf("passed:\n%s", out)
	}
	var failed []string
	for _, s := range rep.Steps {
		if !s.OK && !s.Skipped {
			failed = append(failed, s.Name)
		}
	}
	want := "monitor while stopped,start again,monitor after stop"
	if strings.Join(failed, ",") != want {
		t.Fatalf("failed steps %v, want %s\n%s", failed, want, out)
	}
	if !strings.Contains(out, "already started") {
		t.Fatalf("exit reason not shown:\n%s", out)
	}
}
