package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/crm/status/source/sourcetest"
)

// TestMain lets the test binary stand in for stonith_admin.
func TestMain(m *testing.M) {
	sourcetest.ToolMain(m, func() int { return Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

type step struct {
	line      string
	code      int
	out, errs string // out: substring ("" = must be empty); errs: substring ("" = no stderr)
}

func run(t *testing.T, bin string, steps []step) {
	t.Helper()
	for _, s := range steps {
		code, out, errs := sourcetest.Sh(t, bin, nil, s.line)
		okOut := strings.Contains(out, s.out) && (s.out != "" || out == "")
		okErr := strings.Contains(errs, s.errs) && (s.errs != "" || errs == "")
		if code != s.code || !okOut || !okErr {
			t.Errorf("%s:\n exit %d, want %d\n stdout %.300q, want %q\n stderr %q, want %q", s.line, code, s.code, out, s.out, errs, s.errs)
		}
	}
}

// TestOffline: -I and -M with a directory of fake agents, usage errors, and
// every daemon command failing loudly.
func TestOffline(t *testing.T) {
	bin := sourcetest.Tool(t, "stonith_admin")
	dir := t.TempDir()
	meta := `#!/bin/sh
read -r line
[ "$line" = action=metadata ] || exit 1
echo '<?xml version="1.0" ?>'
echo '<resource-agent name="fence_fake" shortdesc="fake"/>'
`
	for name, body := range map[string]string{"fence_fake": meta, "fence_other": "#!/bin/sh\nexit 1\n", "not_fence": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ad := " --agent-dir " + dir
	nd := "Could not connect to fencer"
	ad += " --socket " + filepath.Join(dir, "none.sock")
	run(t, bin, []step{
		{"stonith_admin -I" + ad, 0, "fence_fake\nfence_other\n2 fence devices found\n", ""},
		{"stonith_admin -M -a fence_fake" + ad, 0, `<resource-agent name="fence_fake"`, ""},
		{"stonith_admin --metadata --agent fence_other" + ad, 1, "", "rc=1"},
		{"stonith_admin -M -a fence_none" + ad, 105, "", "not installed"},
		{"stonith_admin -M -a not_fence" + ad, 105, "", "fence agents are named fence_*"},
		{"stonith_admin -M" + ad, 64, "", "--metadata needs --agent"},
		{"stonith_admin -I --agent-dir /nonexistent", 66, "", "/nonexistent"},
		{"stonith_admin", 64, "", "no command given"},
		{"stonith_admin -F n1 -B n1", 64, "", "give only one command"},
		{"stonith_admin -L -t 0", 64, "", "--timeout 0"},
		{"stonith_admin -L -t x", 64, "", "invalid argument"},
		{"stonith_admin -B n1 -y -2", 64, "", "--delay -2"},
		{"stonith_admin -B n1 --tolerance soon", 64, "", "--tolerance"},
		{"stonith_admin -c -L", 64, "", "--cleanup goes with --history"},
		{"stonith_admin -r n1 -i 10 -v d1", 64, "", "--index 1..9"},
		{"stonith_admin -R d1 -o bad", 64, "", "--register needs --agent"},
		{"stonith_admin -R d1 -a fence_x -o bad", 64, "", "not NAME=VALUE"},
		{"stonith_admin -F ''", 64, "", "non-empty"},
		{"stonith_admin -F n1" + ad, 102, "", nd},
		{"stonith_admin -L" + ad, 102, "", nd},
		{"stonith_admin -H '*' -c" + ad, 102, "", nd},
		{"CIB_file=" + filepath.Join(dir, "none.xml") + " stonith_admin -D d1", 66, "", "none.xml"},
		{"stonith_admin -r 'n=1' -i 1 -v d1", 64, "", "attribute targets"},
		{"stonith_admin --help", 0, "-I, --list-installed", ""},
	})
}

// TestFenceAgents: -I and -M on Debian's fence-agents.
func TestFenceAgents(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/fence_dummy"); err != nil {
		t.Skip("Debian package fence-agents is not installed (no /usr/sbin/fence_dummy): apt-get install fence-agents")
	}
	bin := sourcetest.Tool(t, "stonith_admin")
	run(t, bin, []step{
		{"stonith_admin -I", 0, "\nfence_dummy\n", ""},
		{"stonith_admin -M -a fence_dummy", 0, `<resource-agent name="fence_dummy"`, ""},
	})
}
