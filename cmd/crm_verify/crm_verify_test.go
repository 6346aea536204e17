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

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const footer = "Errors found during check: config not valid\n  -V may provide more details\n"

// The reasons are the same strings cibadmin prints when it refuses the
// same element (see cmd/cibadmin TestRefused).
func TestFixtures(t *testing.T) {
	tests := []struct {
		file   string
		code   int
		stderr string
	}{
		{"valid.xml", 0, ""},
		{"missing-ref.xml", client.ExitConfig,
			"error: rsc_location \"loc-ghost\": rsc refers to resource \"ghost\", which does not exist\n" + footer},
		{"duplicate-id.xml", client.ExitConfig,
			"error: primitive \"d1\": id already exists (also used by <primitive>)\n" + footer},
		{"bad-score.xml", client.ExitConfig,
			"error: rsc_colocation \"col-bad\": score \"lots\" is not a valid score (an integer, INFINITY or -INFINITY)\n" + footer},
		{"malformed.xml", client.ExitDataErr,
			"crm_verify: Couldn't parse input file testdata/malformed.xml: line 19: attribute name without = in element (in <primitive id=\"ip1\">)\n"},
		{"no-stonith.xml", client.ExitConfig,
			"error: Resource start-up disabled since no STONITH resources have been defined\n" +
				"error: Either configure some or disable STONITH with the stonith-enabled option\n" +
				"error: NOTE: Clusters with shared data need STONITH to ensure data integrity\n" + footer},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			code, out, errs := run(t, "", "-x", path)
			if code != tt.code || out != "" || errs != tt.stderr {
				t.Errorf("crm_verify -x %s: exit %d, stdout %q, stderr\n%s\nwant exit %d, stderr\n%s", path, code, out, errs, tt.code, tt.stderr)
			}
			// the same through a pipe and as text, and silently with -q
			data, _ := os.ReadFile(path)
			if c, _, _ := run(t, string(data), "-p"); c != tt.code {
				t.Errorf("-p: exit %d", c)
			}
			if c, _, _ := run(t, "", "-X", string(data)); c != tt.code {
				t.Errorf("-X: exit %d", c)
			}
			if c, o, e := run(t, "", "-q", "-x", path); c != tt.code || o != "" || (e != "" && tt.code == client.ExitConfig) {
				t.Errorf("-q: exit %d, output %q %q", c, o, e)
			}
		})
	}
}

func TestVerbose(t *testing.T) {
	code, _, errs := run(t, "", "-V", "-x", "testdata/valid.xml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"info: reading input file testdata/valid.xml\n",
		"info: CIB version 0.5.2, validate-with pacemaker-3.9\n",
		"2 nodes, 2 resources, 3 constraints",
		"stonith-enabled=false, 0 fencing device(s)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("-V output lacks %q:\n%s", want, errs)
		}
	}
	_, _, errs = run(t, "", "-VV", "-x", "testdata/missing-ref.xml")
	if strings.Contains(errs, "-V may provide more details") || !strings.Contains(errs, `problem in <rsc_location id="loc-ghost">`) {
		t.Errorf("-VV output:\n%s", errs)
	}
}

func TestLiveCheck(t *testing.T) {
	// CIB_file
	data, _ := os.ReadFile("testdata/missing-ref.xml")
	p := filepath.Join(t.TempDir(), "c.xml")
	os.WriteFile(p, data, 0o644)
	t.Setenv("CIB_file", p)
	code, _, errs := run(t, "", "-L")
	if code != client.ExitConfig || !strings.Contains(errs, `rsc_location "loc-ghost"`) {
		t.Fatalf("-L on CIB_file: %d %s", code, errs)
	}
	save := filepath.Join(t.TempDir(), "saved.xml")
	run(t, "", "-L", "-S", save)
	if c, err := cib.Parse(mustRead(t, save)); err != nil || c.Version() != (cib.Version{Epoch: 5, NumUpdates: 2}) {
		t.Errorf("--save-xml: %v", err)
	}

	// the service, with no flag change
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
	if _, err := s.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(`<cluster_property_set id="opts"><nvpair id="opts-se" name="stonith-enabled" value="false"/></cluster_property_set>`)}); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "", "-L"); code != 0 || errs != "" {
		t.Fatalf("-L on the service: %d %s", code, errs)
	}
	t.Setenv("CIB_socket", filepath.Join(t.TempDir(), "none.sock"))
	if code, _, errs := run(t, "", "-L"); code != client.ExitDisconnect || !strings.Contains(errs, "is systoled running?") {
		t.Fatalf("-L without a service: %d %s", code, errs)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-x", "a.xml", "-L"},
		{"--bogus"},
		{"extra"},
	} {
		code, _, errs := run(t, "", args...)
		if code != client.ExitUsage || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs := run(t, "", "-x", "testdata/none.xml")
	if code != client.ExitNoInput || !strings.Contains(errs, "testdata/none.xml") {
		t.Errorf("missing file: %d %q", code, errs)
	}
	code, _, errs = run(t, "", "-X", "<nodes/>")
	if code != client.ExitDataErr || !strings.Contains(errs, "<cib>") {
		t.Errorf("not a CIB: %d %q", code, errs)
	}
}
