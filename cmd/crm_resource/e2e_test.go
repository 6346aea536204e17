package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
)

// TestMain lets the test binary stand in for crm_resource: run with
// SYSTOLE_TEST_TOOL=1 it is crm_resource, so the end-to-end tests run the
// real command line in a real process (environment, exit status, output
// streams) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SYSTOLE_TEST_TOOL") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	flag.Parse()
	code := m.Run()
	if raErr == nil && raRoot != "" {
		os.RemoveAll(raRoot) // the OCF_ROOT ocfRoot built
	}
	os.Exit(code)
}

var update = os.Getenv("GOLDEN_UPDATE") != ""

// result is one run of the tool.
type result struct {
	code        int
	out, errout string
}

// runTool runs crm_resource as a process with env added to a clean
// environment (no CIB_file / CIB_socket unless given).
func runTool(t *testing.T, env []string, args ...string) result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	base := []string{"SYSTOLE_TEST_TOOL=1", "PATH=" + os.Getenv("PATH"), "TZ=UTC", "HOME=" + t.TempDir()}
	cmd.Env = append(base, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// fixture copies testdata/NAME into a temp dir and returns its path.
func fixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// section returns a CIB section of the file as cibadmin -Q -o prints it.
func section(t *testing.T, path, scope string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cib.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Query(cib.Request{Op: cib.OpQuery, Scope: scope})
	if err != nil || len(out) != 1 {
		t.Fatalf("query %s: %v", scope, err)
	}
	return string(server.ElementBytes(out[0]))
}

// golden compares got with testdata/golden/NAME (GOLDEN_UPDATE=1 rewrites).
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if update {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with GOLDEN_UPDATE=1 to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// TestOfflineQueries runs the read-only commands on a CIB file.
func TestOfflineQueries(t *testing.T) {
	t.Parallel()
	f := fixture(t, "cluster.xml")
	env := []string{"CIB_file=" + f}
	before, _ := os.ReadFile(f)
	cases := []struct {
		name      string
		args      []string
		code      int
		out, errs string
	}{
		{"list", []string{"-L"}, 0, "Full List of Resources:\n" +
			"  * d1\t(ocf:heartbeat:Dummy):\t Started n1\n" +
			"  * Resource Group: g1:\n" +
			"    * d2\t(ocf:heartbeat:Dummy):\t Started n2\n" +
			"    * d3\t(ocf:heartbeat:Dummy):\t Started n2\n" +
			"  * Clone Set: c1 [d4]:\n" +
			"    * Started: [ n1 n2 ]\n" +
			"    * Stopped: [ n3 ]\n" +
			"  * d5\t(ocf:heartbeat:Dummy):\t Stopped (disabled)\n" +
			"  * bad\t(ocf:heartbeat:Dummy):\t Stopped\n", ""},
		{"list-raw", []string{"--list-raw"}, 0, "d1\nd2\nd3\nd4:0\nd4:1\nd5\nbad\n", ""},
		{"list-operations", []string{"-O", "-r", "g1", "-N", "n2"}, 0,
			"d2\t(ocf:heartbeat:Dummy):\t Started: d2_start_0 (node=n2, call=20, rc=0, last-rc-change=Sun Nov 22 04:48:20 2026, exec=10ms): complete\n" +
				"d3\t(ocf:heartbeat:Dummy):\t Started: d3_start_0 (node=n2, call=21, rc=0, last-rc-change=Sun Nov 22 04:48:20 2026, exec=10ms): complete\n", ""},
		{"list-all-operations", []string{"--list-all-operations", "-r", "bad"}, 0,
			"bad\t(ocf:heartbeat:Dummy):\t Stopped: bad_start_0 (node=n1, call=12, rc=1, last-rc-change=Sun Nov 22 04:48:20 2026, exec=10ms): complete\n" +
				"bad\t(ocf:heartbeat:Dummy):\t Stopped: bad_stop_0 (node=n1, call=13, rc=0, last-rc-change=Sun Nov 22 04:48:20 2026, exec=10ms): complete\n", ""},
		{"list-operations-stopped", []string{"-O", "-r", "d5"}, 105, "", ""},
		{"locate", []string{"-W", "-r", "d1"}, 0, "resource d1 is running on: n1\n", ""},
		{"locate-group", []string{"--locate", "-r", "g1"}, 0, "resource g1 is running on: n2\n", ""},
		{"locate-clone", []string{"-W", "-r", "c1"}, 0, "resource c1 is running on: n1\nresource c1 is running on: n2\n", ""},
		{"locate-cloned-primitive", []string{"-W", "-r", "d4"}, 0, "resource d4 is running on: n1\nresource d4 is running on: n2\n", ""},
		{"locate-quiet", []string{"-W", "-Q", "-r", "c1"}, 0, "n1\nn2\n", ""},
		{"locate-stopped", []string{"-W", "-r", "d5"}, 0, "", "resource d5 is NOT running\n"},
		{"locate-unknown", []string{"-W", "-r", "zz"}, 105, "", "crm_resource: Resource 'zz' not found\n"},
		{"no-resource", []string{"-W"}, 64, "", "crm_resource: Must supply a resource id with -r\n"},
		{"get-param", []string{"-r", "d1", "-g", "fake"}, 0, "one\n", ""},
		{"get-meta", []string{"-r", "d5", "-m", "-g", "target-role"}, 0, "Stopped\n", ""},
		{"get-meta-inherited", []string{"-r", "d4", "--meta", "--get-parameter", "clone-max"}, 0, "2\n", ""},
		{"get-missing", []string{"-r", "d1", "-g", "nope"}, 105, "", "Attribute 'nope' not found for 'd1'\n"},
		{"query-xml", []string{"-q", "-r", "d5"}, 0, "resource d5 xml:\n" +
			"<primitive id=\"d5\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">\n" +
			"  <meta_attributes id=\"d5-meta_attributes\">\n" +
			"    <nvpair id=\"d5-meta_attributes-target-role\" name=\"target-role\" value=\"Stopped\"/>\n" +
			"  </meta_attributes>\n</primitive>\n", ""},
		{"constraints", []string{"-a", "-r", "d1"}, 0, "Locations:\n  * Node n1 (score=100, id=loc-d1-n1, rsc=d1)\n" +
			"Colocations:\n  * d5 with d1 (score=INFINITY, id=col-d5-d1)\n", ""},
		{"two-commands", []string{"-L", "-W", "-r", "d1"}, 64, "", "crm_resource: give only one command, not --list --locate (see crm_resource --help)\n"},
		{"no-command", nil, 64, "", "crm_resource: no command given (see crm_resource --help)\n"},
		{"bad-flag", []string{"--bogus"}, 64, "", "crm_resource: unknown flag: --bogus (see crm_resource --help)\n"},
		{"move-already", []string{"-M", "-r", "d1", "-N", "n1"}, 108, "", "crm_resource: Error performing operation: Situation already as requested\n"},
		{"move-stopped", []string{"-M", "-r", "d5"}, 64, "", "crm_resource: Resource 'd5' not moved: active in 0 locations.\nTo prevent 'd5' from running on a specific location, specify a node.\n"},
		{"ban-clone", []string{"-B", "-r", "c1"}, 64, "", "crm_resource: Resource 'c1' not moved: active in 2 locations.\nTo prevent 'c1' from running on a specific location, specify a node.\n"},
		{"move-unknown-node", []string{"-M", "-r", "d1", "-N", "n9"}, 105, "", "crm_resource: Node 'n9' not found\n"},
		{"bad-lifetime", []string{"-M", "-r", "d1", "-N", "n2", "-u", "1 hour"}, 2, "", "Invalid duration specified: 1 hour\nPlease refer to https://en.wikipedia.org/wiki/ISO_8601#Durations for examples of correct durations\n"},
		{"restart-file", []string{"--restart", "-r", "d1"}, 69, "", "crm_resource: --restart needs the running cluster (CIB_file names a file, which has no controller)\n"},
		{"no-file", []string{"-L"}, -1, "", ""},
	}
	t.Run("group", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := env
				if tc.code == -1 {
					e = []string{"CIB_file=" + filepath.Join(t.TempDir(), "missing.xml")}
					tc.code = 66
				}
				r := runTool(t, e, tc.args...)
				if r.code != tc.code || (tc.out != "" || r.code == 0) && r.out != tc.out || tc.errs != "" && r.errout != tc.errs {
					t.Errorf("crm_resource %s: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.out, tc.out, r.errout, tc.errs)
				}
			})
		}
	})
	if after, _ := os.ReadFile(f); !bytes.Equal(before, after) {
		t.Error("a read-only or refused command changed the CIB file")
	}
}

// TestOfflineLocation moves, bans and clears on a CIB file and compares
// the constraints section with golden snippets after each step.
func TestOfflineLocation(t *testing.T) {
	t.Parallel()
	f := fixture(t, "cluster.xml")
	env := []string{"CIB_file=" + f}
	steps := []struct {
		name      string
		args      []string
		out, errs string
	}{
		{"move-d1-n2", []string{"-M", "-r", "d1", "-N", "n2"}, "", ""},
		{"ban-d1-n3", []string{"-B", "-r", "d1", "-N", "n3"}, "", "WARNING: Creating rsc_location constraint 'cli-ban-d1-on-n3' with a score of -INFINITY for resource d1 on n3.\n" +
			"\tThis will prevent d1 from running on n3 until the constraint is removed using the clear option or by editing the CIB with an appropriate tool\n" +
			"\tThis will be the case even if n3 is the last node in the cluster\n"},
		{"move-d1-n3-clears-ban", []string{"--move", "--resource", "d1", "--node", "n3"}, "", ""},
		{"ban-current-g1", []string{"-B", "-r", "g1"}, "", "WARNING: Creating rsc_location constraint 'cli-ban-g1-on-n2' with a score of -INFINITY"},
		{"move-away-d1-promoted-free", []string{"-M", "-r", "d1", "--force", "-N", "n2"}, "", "WARNING: Creating rsc_location constraint 'cli-ban-d1-on-n1'"},
		{"clear-d1-on-n1", []string{"-U", "-r", "d1", "-N", "n1"}, "Removing constraint: cli-ban-d1-on-n1\n", ""},
		{"clear-d1", []string{"-U", "-r", "d1"}, "Removing constraint: cli-prefer-d1\n", ""},
		{"clear-g1-quiet", []string{"--clear", "-Q", "-r", "g1"}, "", ""},
		{"clear-nothing", []string{"-U", "-r", "d1"}, "", ""},
	}
	for i, st := range steps {
		r := runTool(t, env, st.args...)
		if r.code != 0 || r.out != st.out || !strings.HasPrefix(r.errout, st.errs) || (st.errs == "" && r.errout != "") {
			t.Fatalf("step %s: exit %d\nstdout: %q want %q\nstderr: %q want prefix %q", st.name, r.code, r.out, st.out, r.errout, st.errs)
		}
		golden(t, "location-"+string(rune('0'+i))+"-"+st.name+".xml", section(t, f, "constraints"))
	}
	// the cluster file is back to its constraints
	orig := fixture(t, "cluster.xml")
	if a, b := section(t, f, "constraints"), section(t, orig, "constraints"); a != b {
		t.Errorf("after clearing, constraints differ from the start:\n%s\n%s", a, b)
	}
}

// TestLifetime checks -u: a rule with a date_expression that ends at now
// plus the duration, in Pacemaker's form, and that -U -e removes only
// expired constraints.
func TestLifetime(t *testing.T) {
	f := fixture(t, "cluster.xml")
	t.Setenv("CIB_file", f)
	t.Setenv("CIB_socket", "")
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	runAt := func(at time.Time, args ...string) (int, string, string) {
		o := newOptions()
		o.now = func() time.Time { return at }
		var out, errb bytes.Buffer
		code := run(o, args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := runAt(now, "-M", "-r", "d1", "-N", "n2", "-u", "PT1H30M")
	if code != 0 || out != "Migration will take effect until: 2026-11-22 11:00:00 +00:00\n" || errs != "" {
		t.Fatalf("move -u: %d %q %q", code, out, errs)
	}
	code, out, errs = runAt(now, "-B", "-r", "g1", "-N", "n1", "--lifetime", "P1M")
	if code != 0 || out != "Migration will take effect until: 2026-12-22 09:30:00 +00:00\n" || errs != "" {
		t.Fatalf("ban -u: %d %q %q (no warning expected with a lifetime)", code, out, errs)
	}
	golden(t, "lifetime.xml", section(t, f, "constraints"))
	// the scheduler honours the rule while it lasts
	code, out, _ = runAt(now, "-Y", "-r", "d1")
	if code != 0 || !strings.Contains(out, "d1 allocation score on n2: INFINITY") {
		t.Errorf("-Y before the end: %d\n%s", code, out)
	}
	code, out, _ = runAt(now.Add(2*time.Hour), "-Y", "-r", "d1")
	if code != 0 || strings.Contains(out, "d1 allocation score on n2: INFINITY") {
		t.Errorf("-Y after the end: %d\n%s", code, out)
	}
	// -e at +2h removes the expired prefer only
	code, out, _ = runAt(now.Add(2*time.Hour), "-U", "-e", "-r", "d1")
	if code != 0 || out != "Removing constraint: cli-prefer-d1\n" {
		t.Errorf("clear -e: %d %q", code, out)
	}
	code, out, _ = runAt(now.Add(2*time.Hour), "-U", "-e", "-r", "g1")
	if code != 0 || out != "" {
		t.Errorf("clear -e of a live ban: %d %q", code, out)
	}
	if code, _, errs := runAt(now, "-U"); code != 64 || errs != "crm_resource: Must supply a resource id with -r\n" {
		t.Errorf("-U without -r: %d %q", code, errs)
	}
	code, out, _ = runAt(now.Add(2*time.Hour), "-U", "--expired")
	if code != 0 || out != "" {
		t.Errorf("clear -e of every resource, nothing expired: %d %q", code, out)
	}
	if s := section(t, f, "constraints"); strings.Contains(s, "cli-prefer-d1") || !strings.Contains(s, "cli-ban-g1-on-n1") {
		t.Errorf("after -U -e:\n%s", s)
	}
	// 31 days later the ban has expired too; -U -e without -r finds it
	code, out, _ = runAt(now.AddDate(0, 0, 31), "-U", "-e")
	if code != 0 || out != "Removing constraint: cli-ban-g1-on-n1\n" {
		t.Errorf("clear -e of every resource: %d %q", code, out)
	}
}

// TestOfflineParameters sets, gets and deletes instance, meta and
// utilization attributes on a CIB file.
func TestOfflineParameters(t *testing.T) {
	t.Parallel()
	f := fixture(t, "cluster.xml")
	env := []string{"CIB_file=" + f}
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-r", "d1", "-p", "fake", "-v", "two"}, 0, "Set 'd1' option: id=d1-instance_attributes-fake name=fake value=two\n"},
		{[]string{"-r", "d1", "-g", "fake"}, 0, "two\n"},
		{[]string{"-r", "d2", "-p", "state", "-v", "/tmp/x"}, 0, "Set 'd2' option: id=d2-instance_attributes-state set=d2-instance_attributes name=state value=/tmp/x\n"},
		{[]string{"-r", "d2", "--meta", "-p", "target-role", "-v", "Stopped"}, 0, "Set 'd2' option: id=d2-meta_attributes-target-role set=d2-meta_attributes name=target-role value=Stopped\n"},
		{[]string{"-r", "d3", "-z", "-p", "cpu", "-v", "2"}, 0, "Set 'd3' option: id=d3-utilization-cpu set=d3-utilization name=cpu value=2\n"},
		{[]string{"-r", "g1", "-m", "-p", "is-managed", "-v", "false", "--set-name", "g1-meta", "--nvpair", "g1-unmanaged"}, 0, "Set 'g1' option: id=g1-unmanaged set=g1-meta name=is-managed value=false\n"},
		{[]string{"-r", "d3", "-m", "-g", "is-managed"}, 0, "false\n"},
		{[]string{"-r", "d1", "-d", "fake"}, 0, "Deleted 'd1' option: id=d1-instance_attributes-fake name=fake\n"},
		{[]string{"-r", "d1", "-d", "fake"}, 0, ""},
		{[]string{"-r", "d1", "-g", "fake"}, 105, ""},
		{[]string{"-r", "d5", "-m", "-d", "target-role", "-Q"}, 0, ""},
		{[]string{"-r", "d1", "-p", "x"}, 64, ""},
		{[]string{"-r", "d4", "-m", "-p", "target-role", "-v", "Stopped"}, 0, "Performing update of 'target-role' on 'c1', the parent of 'd4'\n" +
			"Set 'c1' option: id=c1-meta_attributes-target-role set=c1-meta_attributes name=target-role value=Stopped\n"},
		{[]string{"-r", "d4", "-p", "fake", "-v", "x", "--force"}, 0, "Set 'd4' option: id=d4-instance_attributes-fake set=d4-instance_attributes name=fake value=x\n"},
		{[]string{"-r", "c1", "-p", "fake", "-v", "y"}, 0, "A value for 'fake' already exists in child 'd4', performing update on that instead of 'c1'\n" +
			"Set 'd4' option: id=d4-instance_attributes-fake name=fake value=y\n"},
		{[]string{"-r", "d4", "-m", "-d", "target-role"}, 0, "Performing delete of 'target-role' on 'c1', the parent of 'd4'\n" +
			"Deleted 'c1' option: id=c1-meta_attributes-target-role name=target-role\n"},
		{[]string{"-r", "nope", "-p", "x", "-v", "1"}, 105, ""},
	}
	for _, st := range steps {
		r := runTool(t, env, st.args...)
		if r.code != st.code || r.out != st.out {
			t.Fatalf("crm_resource %s: exit %d want %d\n%q\nwant %q\nstderr %q", strings.Join(st.args, " "), r.code, st.code, r.out, st.out, r.errout)
		}
	}
	golden(t, "parameters.xml", section(t, f, "resources"))
	// a resource deleted with -D -t
	if r := runTool(t, env, "-D", "-r", "d5", "-t", "group"); r.code != 105 {
		t.Errorf("-D with the wrong type: %d %q", r.code, r.errout)
	}
	if r := runTool(t, env, "-D", "-r", "bad", "-t", "primitive"); r.code != 78 ||
		r.errout != "crm_resource: Error performing operation: rsc_location \"loc-bad\": rsc refers to \"bad\", which the update removes\n" {
		t.Errorf("-D of a constrained resource: %d %q", r.code, r.errout)
	}
	if r := runTool(t, env, "-D", "-r", "d3", "-t", "primitive"); r.code != 0 {
		t.Errorf("-D: %d %q", r.code, r.errout)
	}
	if strings.Contains(section(t, f, "resources"), `id="d3"`) {
		t.Error("-D left the resource")
	}
}

// TestOfflineCleanup forgets failures (-C) and whole histories (-R) in
// the status section of a CIB file.
func TestOfflineCleanup(t *testing.T) {
	t.Parallel()
	f := fixture(t, "cluster.xml")
	env := []string{"CIB_file=" + f}
	r := runTool(t, env, "-Y", "-r", "bad")
	if !strings.Contains(r.out, "'bad' cannot run on 'n1' due to reaching migration threshold") {
		t.Fatalf("-Y before cleanup:\n%s", r.out)
	}
	// -C of a resource without failures changes nothing
	before, _ := os.ReadFile(f)
	r = runTool(t, env, "-C", "-r", "d1", "-N", "n1")
	if r.code != 0 || r.out != "Cleaned up d1 on n1\n" {
		t.Fatalf("-C d1: %d %q %q", r.code, r.out, r.errout)
	}
	if after, _ := os.ReadFile(f); !bytes.Equal(before, after) {
		t.Error("-C of a resource without failures changed the file")
	}
	r = runTool(t, env, "-C", "-r", "bad")
	if r.code != 0 || r.out != "Cleaned up bad on n1\nCleaned up bad on n2\nCleaned up bad on n3\n" {
		t.Fatalf("-C bad: %d %q %q", r.code, r.out, r.errout)
	}
	st := section(t, f, "status")
	if strings.Contains(st, "fail-count-bad") || strings.Contains(st, "last-failure-bad") || strings.Contains(st, `lrm_resource id="bad"`) {
		t.Errorf("-C left failures:\n%s", st)
	}
	if !strings.Contains(st, `lrm_resource id="d1"`) {
		t.Error("-C bad removed d1's history")
	}
	r = runTool(t, env, "-Y", "-r", "bad")
	if strings.Contains(r.out, "migration threshold") || !strings.Contains(r.out, "bad allocation score on n1: 50") {
		t.Errorf("-Y after cleanup:\n%s", r.out)
	}
	// -R of a group forgets its members' histories on one node
	r = runTool(t, env, "-R", "-r", "g1", "-N", "n2")
	if r.code != 0 || r.out != "Cleaned up d2 on n2\nCleaned up d3 on n2\n" {
		t.Fatalf("-R g1: %d %q %q", r.code, r.out, r.errout)
	}
	st = section(t, f, "status")
	if strings.Contains(st, `lrm_resource id="d2"`) || strings.Contains(st, `lrm_resource id="d3"`) || !strings.Contains(st, `lrm_resource id="d4"`) {
		t.Errorf("-R g1 -N n2:\n%s", st)
	}
	// -R of everything
	r = runTool(t, env, "-R")
	if r.code != 0 || r.out != "Cleaned up all resources on all nodes\n" {
		t.Fatalf("-R: %d %q %q", r.code, r.out, r.errout)
	}
	if st = section(t, f, "status"); strings.Contains(st, "<lrm_resource ") {
		t.Errorf("-R left history:\n%s", st)
	}
	if r = runTool(t, env, "-C", "-r", "zz"); r.code != 105 {
		t.Errorf("-C unknown: %d", r.code)
	}
}

// TestWhy compares -Y with golden output.
func TestWhy(t *testing.T) {
	t.Parallel()
	f := fixture(t, "cluster.xml")
	env := []string{"CIB_file=" + f}
	for _, args := range [][]string{{"-Y", "-r", "d1"}, {"-Y", "-r", "d5"}, {"-Y", "-r", "bad"}, {"-Y"}, {"-Y", "-r", "c1", "-N", "n3"}} {
		r := runTool(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: %d %s", args, r.code, r.errout)
		}
		golden(t, "why"+strings.Join(args, "_")+".txt", r.out)
	}
	// an unmanaged resource and a cluster in maintenance
	runTool(t, env, "-r", "d5", "-m", "-p", "is-managed", "-v", "false")
	r := runTool(t, env, "-Y", "-r", "d5")
	if !strings.Contains(r.out, "Configuration prevents cluster from stopping or starting unmanaged 'd5'\n") {
		t.Errorf("-Y unmanaged:\n%s", r.out)
	}
}

// TestOfflinePromoted: --promoted limits -M/-B to the Promoted role, and
// -B without -N on a promotable clone bans the node where it is promoted.
func TestOfflinePromoted(t *testing.T) {
	t.Parallel()
	f := fixture(t, "promotable.xml")
	env := []string{"CIB_file=" + f}
	steps := []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"-W", "-r", "pc"}, 0, "resource pc is running on: n1 Promoted\nresource pc is running on: n2\n", ""},
		{[]string{"-W", "-r", "st"}, 0, "resource st is running on: n1 Promoted\nresource st is running on: n2\n", ""},
		{[]string{"-M", "-r", "plain", "--promoted", "-N", "n1"}, 2, "", "crm_resource: Error performing operation: plain is not a promotable resource\n"},
		{[]string{"-M", "-r", "pc", "--promoted", "-N", "n2"}, 0, "", ""},
		{[]string{"-B", "-r", "pc", "--master"}, 0, "", "WARNING: Creating rsc_location constraint 'cli-ban-pc-on-n1' with a score of -INFINITY for resource pc on n1.\n" +
			"\tThis will prevent pc from being promoted on n1 until the constraint is removed using the clear option or by editing the CIB with an appropriate tool\n" +
			"\tThis will be the case even if n1 is the last node in the cluster\n"},
	}
	for _, st := range steps {
		r := runTool(t, env, st.args...)
		if r.code != st.code || r.out != st.out || r.errout != st.errs {
			t.Fatalf("crm_resource %s: exit %d want %d\nstdout %q want %q\nstderr %q want %q", strings.Join(st.args, " "), r.code, st.code, r.out, st.out, r.errout, st.errs)
		}
	}
	golden(t, "promoted.xml", section(t, f, "constraints"))
}
