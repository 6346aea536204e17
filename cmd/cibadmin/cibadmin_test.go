package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/cib/server"
)

// run runs cibadmin in-process and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// cibFile copies a testdata CIB (or an empty CIB for "") into a temporary
// file, points CIB_file at it and returns its path.
func cibFile(t *testing.T, fixture string) string {
	t.Helper()
	data := cib.New().Bytes()
	if fixture != "" {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", fixture)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "c.xml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CIB_file", p)
	return p
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func version(t *testing.T, p string) cib.Version {
	t.Helper()
	c, err := cib.Parse(read(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return c.Version()
}

const d1 = `<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`

// TestMustShow is the acceptance scenario, in-process.
func TestMustShow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.xml")
	code, empty, _ := run(t, "", "--empty")
	if code != 0 {
		t.Fatal("--empty failed")
	}
	os.WriteFile(p, []byte(empty), 0o644)
	t.Setenv("CIB_file", p)
	before := version(t, p)

	code, out, errs := run(t, "", "-C", "-o", "resources", "-X", d1)
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("create: code %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = run(t, "", "-Q", "-o", "resources")
	want := "<resources>\n  " + d1 + "\n</resources>\n"
	if code != 0 || out != want {
		t.Fatalf("query: code %d, got\n%s\nwant\n%s", code, out, want)
	}
	after := version(t, p)
	if after.Epoch != before.Epoch+1 || after.AdminEpoch != before.AdminEpoch || after.NumUpdates != 0 {
		t.Fatalf("version %s -> %s, want epoch + 1", before, after)
	}
	_, whole, _ := run(t, "", "-Q")
	for _, attr := range []string{`epoch="1"`, `update-client="cibadmin"`, `cib-last-written="`} {
		if !strings.Contains(whole, attr) {
			t.Errorf("whole CIB lacks %s:\n%s", attr, whole)
		}
	}

	saved := read(t, p)
	code, out, errs = run(t, "", "-C", "-o", "resources", "-X", d1)
	if code != client.ExitExists || out != "" {
		t.Fatalf("second create: code %d (want %d), stdout %q", code, client.ExitExists, out)
	}
	if errs != "Call cib_create failed: primitive \"d1\": id already exists (also used by <primitive>)\n" {
		t.Errorf("second create: stderr %q", errs)
	}
	if !bytes.Equal(saved, read(t, p)) {
		t.Error("a refused create changed the file")
	}
}

// TestRefused: each bad update is refused with one line naming the id, a
// non-zero status, and the file unchanged.
func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // the whole stderr line
	}{
		{"malformed", []string{"-C", "-x", "testdata/malformed.xml"}, client.ExitDataErr,
			`cibadmin: Couldn't parse input file testdata/malformed.xml: line 1: attribute name without = in element (in <primitive id="d2">)`},
		{"malformed text", []string{"-C", "-o", "resources", "-X", `<primitive id="d2" class="ocf"`}, client.ExitDataErr,
			`cibadmin: Couldn't parse input string: line 1: unexpected EOF (in <primitive id="d2">)`},
		{"missing resource", []string{"-C", "-o", "constraints", "-x", "testdata/missing-ref.xml"}, client.ExitConfig,
			`Call cib_create failed: rsc_location "loc-ghost": rsc refers to resource "ghost", which does not exist`},
		{"duplicate id", []string{"-C", "-x", "testdata/duplicate-id.xml"}, client.ExitExists,
			`Call cib_create failed: primitive "d1": id already exists (also used by <primitive>)`},
		{"duplicate id elsewhere", []string{"-C", "-X", `<group id="d1"/>`}, client.ExitExists,
			`Call cib_create failed: group "d1": id already exists (also used by <primitive>)`},
		{"bad score", []string{"-C", "-x", "testdata/bad-score.xml"}, client.ExitConfig,
			`Call cib_create failed: rsc_colocation "col-bad": score "lots" is not a valid score (an integer, INFINITY or -INFINITY)`},
		{"bad score by modify", []string{"-M", "-X", `<rsc_location id="loc-d1-n1" score="much"/>`}, client.ExitConfig,
			`Call cib_modify failed: rsc_location "loc-d1-n1": score "much" is not a valid score (an integer, INFINITY or -INFINITY)`},
		{"modify missing", []string{"-M", "-X", `<primitive id="nope" type="Dummy"/>`}, client.ExitNoSuch,
			`Call cib_modify failed: primitive id="nope": no such object (use -c/--allow-create to create it)`},
		{"delete missing", []string{"-D", "-A", "//primitive[@id='nope']"}, client.ExitNoSuch,
			`Call cib_delete failed: no such object: XPath //primitive[@id='nope'] matches nothing`},
		{"delete referenced", []string{"-D", "-X", `<primitive id="d1"/>`}, client.ExitConfig, `d1`},
		{"query missing", []string{"-Q", "-A", "//primitive[@id='nope']"}, client.ExitNoSuch,
			`Call cib_query failed: query //primitive[@id='nope']: no such object`},
		{"erase without force", []string{"-E"}, client.ExitUnsafe,
			`Call cib_erase failed: dangerous operation requires --force: erasing the CIB destroys the whole configuration`},
		{"bad scope", []string{"-Q", "-o", "everything"}, client.ExitUsage, `unknown scope "everything"`},
		{"unsupported xpath", []string{"-Q", "-A", "//a | //b"}, client.ExitUsage, `XPath "//a | //b" uses functions or unions`},
		{"patch for another version", []string{"-P", "-X", `<diff format="2"><version><source admin_epoch="0" epoch="99" num_updates="0"/><target admin_epoch="0" epoch="100" num_updates="0"/></version></diff>`},
			client.ExitOld, `Call cib_apply_diff failed: version mismatch: patch applies to 0.99.0, the CIB is at 0.5.2`},
		{"no xml", []string{"-C"}, client.ExitUsage, `cibadmin: --create needs XML input (-X, -x or -p) (see cibadmin --help)`},
		{"two commands", []string{"-C", "-M", "-X", d1}, client.ExitUsage, `give only one command`},
		{"two inputs", []string{"-C", "-X", d1, "-x", "testdata/d2.xml"}, client.ExitUsage, `give the XML once`},
		{"unknown flag", []string{"--bogus"}, client.ExitUsage, `cibadmin: unknown flag: --bogus (see cibadmin --help)`},
		{"argument", []string{"-Q", "resources"}, client.ExitUsage, `resources`},
		{"delete-all without xpath", []string{"-d", "-X", d1}, client.ExitUsage, `--delete-all needs -A/--xpath`},
		{"missing input file", []string{"-C", "-x", "testdata/nope.xml"}, client.ExitNoInput, `cannot read input file testdata/nope.xml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cibFile(t, "base.xml")
			saved := read(t, p)
			code, out, errs := run(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") {
				t.Errorf("stderr is not one line: %q", errs)
			}
			if !strings.Contains(errs, tt.want) {
				t.Errorf("stderr %q, want %q", errs, tt.want)
			}
			if !bytes.Equal(saved, read(t, p)) {
				t.Error("file changed")
			}
		})
	}
}

func TestOperations(t *testing.T) {
	p := cibFile(t, "base.xml")
	step := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, "", args...)
		if code != 0 {
			t.Fatalf("cibadmin %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	v0 := version(t, p)
	step("-C", "-x", "testdata/d2.xml")
	if got := step("-Q", "-n", "-A", "//primitive[@id='d2']"); got != `<primitive id="d2" class="ocf" provider="systole" type="Dummy"/>`+"\n" {
		t.Errorf("-n: %q", got)
	}
	got := step("-Q", "-A", "//primitive[@class='ocf']")
	if !strings.HasPrefix(got, "<xpath-query>\n  <primitive id=\"d1\"") || strings.Count(got, "<primitive ") != 3 || !strings.HasSuffix(got, "</xpath-query>\n") {
		t.Errorf("multi-match query:\n%s", got)
	}
	step("-M", "-X", `<nvpair id="d2-target-role" name="target-role" value="Started"/>`)
	if got := step("-Q", "-A", "//nvpair[@id='d2-target-role']"); !strings.Contains(got, `value="Started"`) {
		t.Errorf("modify: %s", got)
	}
	step("-M", "-c", "-X", `<primitive id="d3" class="ocf" provider="systole" type="Dummy"/>`)
	code, _, _ := run(t, `<primitive id="d3" class="ocf" provider="heartbeat" type="Dummy"/>`, "-R", "-p")
	if code != 0 {
		t.Fatal("replace from pipe failed")
	}
	if got := step("-Q", "-A", "//primitive[@id='d3']"); !strings.Contains(got, `provider="heartbeat"`) {
		t.Errorf("replace: %s", got)
	}
	step("-M", "--score", "-X", `<rsc_location id="loc-d1-n1" score="score+=5"/>`)
	if got := step("-Q", "-A", "//rsc_location"); !strings.Contains(got, `score="105"`) {
		t.Errorf("--score: %s", got)
	}
	vb := version(t, p)
	step("-B")
	if v := version(t, p); v.Epoch != vb.Epoch+1 {
		t.Errorf("bump: %s -> %s", vb, v)
	}
	step("-D", "-X", `<primitive id="d3"/>`)
	step("-d", "-A", "//nvpair[@name='target-role']")
	if code, _, _ := run(t, "", "-Q", "-A", "//nvpair[@name='target-role']"); code != client.ExitNoSuch {
		t.Errorf("delete-all left matches")
	}
	if v := version(t, p); v.Compare(v0) <= 0 {
		t.Errorf("version did not grow: %s -> %s", v0, v)
	}
	// a patch made from two versions applies, and only once
	base, _ := cib.Parse(read(t, p))
	next := base.Clone()
	if _, err := next.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(`<primitive id="d4" class="ocf" provider="systole" type="Dummy"/>`)}); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "patch.xml")
	os.WriteFile(patch, cib.Diff(base, next).Bytes(), 0o644)
	step("-P", "-x", patch)
	if v := version(t, p); v != next.Version() {
		t.Errorf("after patch at %s, want %s", v, next.Version())
	}
	if code, _, errs := run(t, "", "-P", "-x", patch); code != client.ExitOld {
		t.Errorf("patch applied twice: exit %d %s", code, errs)
	}
	// erase with force
	step("-E", "-f")
	if got := step("-Q", "-o", "resources"); got != "<resources/>\n" {
		t.Errorf("after erase: %q", got)
	}
	// -l and -s are accepted
	step("-Q", "-l", "-s", "-t", "5", "-o", "nodes")
}

func TestScopeAndXPath(t *testing.T) {
	cibFile(t, "base.xml")
	step := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, "", args...)
		if code != 0 {
			t.Fatalf("cibadmin %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	// -o and -A together: the last one given wins
	if got := step("-Q", "-A", "//primitive[@id='d1']", "-o", "nodes"); !strings.HasPrefix(got, "<nodes>") {
		t.Errorf("-A then -o: %s", got)
	}
	if got := step("-Q", "-o", "nodes", "-A", "//primitive[@id='d1']"); !strings.HasPrefix(got, "<primitive id=\"d1\"") {
		t.Errorf("-o then -A: %s", got)
	}
}

func TestNoChangeKeepsFile(t *testing.T) {
	p := cibFile(t, "base.xml")
	st0, _ := os.Stat(p)
	saved := read(t, p)
	for _, args := range [][]string{
		{"-Q"},
		{"-M", "-X", `<primitive id="d1" type="Dummy"/>`},
		{"-Q", "-o", "status"},
	} {
		if code, _, errs := run(t, "", args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	st1, _ := os.Stat(p)
	if !bytes.Equal(saved, read(t, p)) || !os.SameFile(st0, st1) {
		t.Error("file rewritten although nothing changed")
	}
}

func TestEmpty(t *testing.T) {
	code, out, _ := run(t, "", "--empty")
	c, err := cib.Parse([]byte(out))
	if code != 0 || err != nil || c.Version() != (cib.Version{}) {
		t.Fatalf("--empty: %d %v", code, err)
	}
	code, out, _ = run(t, "", "--empty=pacemaker-3.0")
	if code != 0 || !strings.Contains(out, `validate-with="pacemaker-3.0"`) {
		t.Fatalf("--empty=schema: %d %s", code, out)
	}
	if code, _, _ := run(t, "", "--empty", "-C"); code != client.ExitUsage {
		t.Error("--empty -C accepted")
	}
}

func TestMissingCIBFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.xml")
	t.Setenv("CIB_file", p)
	code, _, errs := run(t, "", "-Q")
	if code != client.ExitNoInput || !strings.Contains(errs, p) || strings.Count(errs, "\n") != 1 {
		t.Fatalf("exit %d: %q", code, errs)
	}
}

func TestUnreachableService(t *testing.T) {
	t.Setenv("CIB_file", "")
	sock := filepath.Join(t.TempDir(), "cib.sock")
	t.Setenv("CIB_socket", sock)
	code, _, errs := run(t, "", "-Q")
	want := "cibadmin: cannot reach the CIB service at " + sock + ": is systoled running? (set CIB_file=FILE to work on a file)\n"
	if code != client.ExitDisconnect || errs != want {
		t.Fatalf("exit %d: %q, want %d %q", code, errs, client.ExitDisconnect, want)
	}
}

// TestLiveService runs the same commands against the CIB service on a
// unix socket: no flag changes, same output and exit codes.
func TestLiveService(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cib.NewMemStore(10), server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	defer func() { cancel(); <-done }()
	t.Setenv("CIB_file", "")
	t.Setenv("CIB_socket", sock)

	if code, _, errs := run(t, "", "-C", "-o", "resources", "-X", d1); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	code, out, _ := run(t, "", "-Q", "-o", "resources")
	if code != 0 || out != "<resources>\n  "+d1+"\n</resources>\n" {
		t.Fatalf("query: %d %q", code, out)
	}
	code, _, errs := run(t, "", "-C", "-o", "resources", "-X", d1)
	if code != client.ExitExists || errs != "Call cib_create failed: primitive \"d1\": id already exists (also used by <primitive>)\n" {
		t.Fatalf("duplicate: %d %q", code, errs)
	}
	code, _, errs = run(t, "", "-C", "-x", "testdata/missing-ref.xml")
	if code != client.ExitConfig || !strings.Contains(errs, `rsc_location "loc-ghost": rsc refers to resource "ghost"`) {
		t.Fatalf("missing ref: %d %q", code, errs)
	}
	if v := s.Version(); v != (cib.Version{Epoch: 1}) {
		t.Errorf("server at %s, want 0.1.0", v)
	}
}
