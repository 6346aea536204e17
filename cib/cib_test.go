package cib

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *CIB {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func mustApply(t testing.TB, c *CIB, req Request) *Result {
	t.Helper()
	r, err := c.Apply(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Op, req.XML, err)
	}
	return r
}

func TestRoundTripGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/roundtrip-*.xml")
	if len(files) == 0 {
		t.Fatal("no round-trip fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c := mustParse(t, string(in))
			out := c.Bytes()
			if !bytes.Equal(out, in) {
				t.Fatalf("round trip differs:\n--- in\n%s\n--- out\n%s", in, out)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("fixture invalid: %v", err)
			}
			// a second trip is stable too
			if again := mustParse(t, string(out)).Bytes(); !bytes.Equal(again, out) {
				t.Fatal("second round trip differs")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not xml", "<cib", "malformed XML"},
		{"empty", "", "malformed XML"},
		{"wrong root", "<foo/>", "root element is <foo>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b Version
		want int
	}{
		{Version{0, 1, 0}, Version{0, 1, 0}, 0},
		{Version{0, 1, 5}, Version{0, 2, 0}, -1},
		{Version{1, 0, 0}, Version{0, 99, 99}, 1},
		{Version{0, 3, 2}, Version{0, 3, 1}, 1},
	} {
		if got := tc.a.Compare(tc.b); got != tc.want {
			t.Errorf("%s vs %s = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

const baseCIB = `<cib admin_epoch="0" epoch="5" num_updates="3" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config/>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
    </nodes>
    <resources>
      <primitive id="d1" class="ocf" provider="systole" type="Dummy"/>
      <group id="g">
        <primitive id="g1" class="ocf" provider="systole" type="Dummy"/>
      </group>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="d1" node="n1" score="100"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online"/>
  </status>
</cib>`

func TestOperations(t *testing.T) {
	type tc struct {
		name    string
		req     Request
		wantErr error  // sentinel, nil = success
		errText string // substring of the error
		wantV   Version
		check   func(t *testing.T, c *CIB)
	}
	has := func(xp string, n int) func(t *testing.T, c *CIB) {
		return func(t *testing.T, c *CIB) {
			t.Helper()
			m, err := c.FindXPath(xp)
			if err != nil || len(m) != n {
				t.Fatalf("%s: %d matches (err %v), want %d", xp, len(m), err, n)
			}
		}
	}
	for _, x := range []tc{
		{name: "create primitive bumps epoch", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="d2" class="ocf" provider="systole" type="Dummy"/>`)},
			wantV: Version{0, 6, 0}, check: has("//primitive[@id='d2']", 1)},
		{name: "create infers scope", req: Request{Op: OpCreate, XML: []byte(`<rsc_order id="o1" first="d1" then="g"/>`)},
			wantV: Version{0, 6, 0}, check: has("/cib/configuration/constraints/rsc_order", 1)},
		{name: "create duplicate", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="d1" class="ocf" provider="x" type="Dummy"/>`)},
			wantErr: ErrExists, errText: `primitive "d1": id already exists (also used by <primitive>)`},
		{name: "create id used elsewhere", req: Request{Op: OpCreate, Scope: "constraints", XML: []byte(`<rsc_location id="g1" rsc="d1" node="n1" score="1"/>`)},
			wantErr: ErrExists, errText: `rsc_location "g1": id already exists (also used by <primitive>)`},
		{name: "duplicate id inside new object", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<group id="g2"><primitive id="x" class="lsb" type="a"/><primitive id="x" class="lsb" type="b"/></group>`)},
			wantErr: ErrInvalid, errText: `primitive "x": id already exists`},
		{name: "missing resource", req: Request{Op: OpCreate, Scope: "constraints", XML: []byte(`<rsc_colocation id="c1" rsc="d1" with-rsc="ghost" score="INFINITY"/>`)},
			wantErr: ErrInvalid, errText: `rsc_colocation "c1": with-rsc refers to resource "ghost", which does not exist`},
		{name: "bad score", req: Request{Op: OpCreate, Scope: "constraints", XML: []byte(`<rsc_location id="l2" rsc="d1" node="n1" score="lots"/>`)},
			wantErr: ErrInvalid, errText: `rsc_location "l2": score "lots" is not a valid score`},
		{name: "bad kind", req: Request{Op: OpCreate, Scope: "constraints", XML: []byte(`<rsc_order id="o2" first="d1" then="g" kind="Sometimes"/>`)},
			wantErr: ErrInvalid, errText: `kind "Sometimes"`},
		{name: "bad interval", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="p" class="ocf" provider="a" type="b"><operations><op id="p-m" name="monitor" interval="ten"/></operations></primitive>`)},
			wantErr: ErrInvalid, errText: `op "p-m": interval "ten"`},
		{name: "bad role", req: Request{Op: OpCreate, Scope: "constraints", XML: []byte(`<rsc_location id="l3" rsc="d1" node="n1" score="1" role="Boss"/>`)},
			wantErr: ErrInvalid, errText: `role "Boss"`},
		{name: "malformed xml", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="x"`)},
			wantErr: ErrMalformed},
		{name: "unknown scope", req: Request{Op: OpCreate, Scope: "resourcez", XML: []byte(`<primitive id="x"/>`)},
			wantErr: ErrBadRequest, errText: "unknown scope"},
		{name: "missing class", req: Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="x" type="Dummy"/>`)},
			wantErr: ErrInvalid, errText: `primitive "x": missing required attribute class`},
		{name: "modify merges", req: Request{Op: OpModify, XML: []byte(`<primitive id="d1" description="web"><meta_attributes id="d1-m"><nvpair id="d1-tr" name="target-role" value="Stopped"/></meta_attributes></primitive>`)},
			wantV: Version{0, 6, 0}, check: has("//primitive[@id='d1'][@description='web']/meta_attributes/nvpair[@value='Stopped']", 1)},
		{name: "modify missing", req: Request{Op: OpModify, XML: []byte(`<primitive id="zz" class="lsb" type="x"/>`)},
			wantErr: ErrNotFound, errText: "allow-create"},
		{name: "modify allow-create", req: Request{Op: OpModify, Scope: "resources", AllowCreate: true, XML: []byte(`<primitive id="zz" class="lsb" type="x"/>`)},
			wantV: Version{0, 6, 0}, check: has("//primitive[@id='zz']", 1)},
		{name: "modify status bumps num_updates", req: Request{Op: OpModify, Scope: "status", XML: []byte(`<node_state id="1" crmd="offline"/>`)},
			wantV: Version{0, 5, 4}, check: has("//node_state[@crmd='offline']", 1)},
		{name: "modify with score increment", req: Request{Op: OpModify, Score: true, XML: []byte(`<rsc_location id="l1" score="score+=5"/>`)},
			wantV: Version{0, 6, 0}, check: has("//rsc_location[@score='105']", 1)},
		{name: "modify no change", req: Request{Op: OpModify, XML: []byte(`<primitive id="d1" type="Dummy"/>`)},
			wantV: Version{0, 5, 3}},
		{name: "replace element", req: Request{Op: OpReplace, XML: []byte(`<primitive id="d1" class="lsb" type="nginx"/>`)},
			wantV: Version{0, 6, 0}, check: has("//primitive[@id='d1'][@class='lsb']", 1)},
		{name: "replace section", req: Request{Op: OpReplace, Scope: "constraints", XML: []byte(`<constraints/>`)},
			wantV: Version{0, 6, 0}, check: has("//rsc_location", 0)},
		{name: "replace older cib refused", req: Request{Op: OpReplace, XML: []byte(`<cib admin_epoch="0" epoch="1" num_updates="0"><configuration/><status/></cib>`)},
			wantErr: ErrVersion, errText: "older"},
		{name: "replace newer cib", req: Request{Op: OpReplace, XML: []byte(`<cib admin_epoch="1" epoch="1" num_updates="0"><configuration><resources/></configuration><status/></cib>`)},
			wantV: Version{1, 2, 0}, check: has("//primitive", 0)},
		{name: "delete referenced resource refused", req: Request{Op: OpDelete, XML: []byte(`<primitive id="d1"/>`)},
			wantErr: ErrInvalid, errText: `rsc_location "l1": rsc refers to "d1", which the update removes`},
		{name: "delete constraint", req: Request{Op: OpDelete, XML: []byte(`<rsc_location id="l1"/>`)},
			wantV: Version{0, 6, 0}, check: has("//rsc_location", 0)},
		{name: "delete by xpath", req: Request{Op: OpDelete, XPath: "//node_state[@id='1']"},
			wantV: Version{0, 5, 4}, check: has("//node_state", 0)},
		{name: "delete missing", req: Request{Op: OpDelete, XML: []byte(`<primitive id="nope"/>`)},
			wantErr: ErrNotFound},
		{name: "delete last group member refused", req: Request{Op: OpDelete, XML: []byte(`<primitive id="g1"/>`)},
			wantErr: ErrInvalid, errText: `group "g": a group needs at least one primitive`},
		{name: "delete-all by xpath", req: Request{Op: OpDeleteAll, XPath: "//node"},
			wantV: Version{0, 6, 0}, check: has("//node", 0)},
		{name: "delete-all needs xpath", req: Request{Op: OpDeleteAll, XML: []byte(`<node id="1"/>`)},
			wantErr: ErrBadRequest},
		{name: "erase needs force", req: Request{Op: OpErase}, wantErr: ErrForceRequired},
		{name: "erase", req: Request{Op: OpErase, Force: true}, wantV: Version{1, 6, 0}, check: has("//primitive", 0)},
		{name: "bump", req: Request{Op: OpBump}, wantV: Version{0, 6, 0}},
		{name: "unsupported xpath", req: Request{Op: OpDelete, XPath: "//primitive[contains(@id,'d')]"}, wantErr: ErrBadRequest},
		{name: "xpath with and", req: Request{Op: OpDelete, XPath: `//rsc_location[@rsc="d1" and @node="n1"]`},
			wantV: Version{0, 6, 0}, check: has("//rsc_location", 0)},
	} {
		t.Run(x.name, func(t *testing.T) {
			c := mustParse(t, baseCIB)
			before := c.Bytes()
			r, err := c.Apply(x.req)
			if x.wantErr != nil || x.errText != "" {
				if err == nil {
					t.Fatalf("no error; want %v", x.wantErr)
				}
				if x.wantErr != nil && !errors.Is(err, x.wantErr) {
					t.Fatalf("err = %v, want %v", err, x.wantErr)
				}
				if !strings.Contains(err.Error(), x.errText) {
					t.Fatalf("err = %q, want it to contain %q", err, x.errText)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
				if after := c.Bytes(); !bytes.Equal(before, after) {
					t.Fatalf("failed operation changed the CIB:\n%s", after)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if r.Version != x.wantV || c.Version() != x.wantV {
				t.Fatalf("version = %s (cib %s), want %s", r.Version, c.Version(), x.wantV)
			}
			if x.check != nil {
				x.check(t, c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("result does not validate: %v", err)
			}
			// the patch replays the operation on a replica
			if r.Patch != nil {
				replica := mustParse(t, baseCIB)
				p, err := ParsePatch(r.Patch.Bytes())
				if err != nil {
					t.Fatalf("reparse patch: %v\n%s", err, r.Patch.Bytes())
				}
				if _, err := replica.ApplyPatch(p); err != nil {
					t.Fatalf("patch does not apply to the replica: %v\n%s", err, r.Patch.Bytes())
				}
				if !bytes.Equal(replica.Bytes(), c.Bytes()) {
					t.Fatalf("replica differs after patch:\n%s\n--- want\n%s\n--- patch\n%s", replica.Bytes(), c.Bytes(), r.Patch.Bytes())
				}
			}
		})
	}
}

func TestQuery(t *testing.T) {
	c := mustParse(t, baseCIB)
	out, err := c.Query(Request{Scope: "resources"})
	if err != nil || len(out) != 1 || out[0].Tag != "resources" || len(out[0].ChildElements()) != 2 {
		t.Fatalf("scope query: %v %v", out, err)
	}
	out, err = c.Query(Request{XPath: "//primitive", NoChildren: true})
	if err != nil || len(out) != 2 {
		t.Fatalf("xpath query: %d %v", len(out), err)
	}
	out, err = c.Query(Request{XPath: "/cib/configuration/resources/group[@id='g']", NoChildren: true})
	if err != nil || len(out) != 1 || len(out[0].ChildElements()) != 0 {
		t.Fatalf("no-children query: %v %v", out, err)
	}
	if _, err := c.Query(Request{XPath: "//primitive[@id='none']"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	out, err = c.Query(Request{XPath: "//*[@id='l1']"})
	if err != nil || len(out) != 1 || out[0].Tag != "rsc_location" {
		t.Fatalf("wildcard query: %v %v", out, err)
	}
}

func TestPatchVersionChecked(t *testing.T) {
	a := mustParse(t, baseCIB)
	b := a.Clone()
	r := mustApply(t, b, Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="n" class="lsb" type="x"/>`)})
	// applying twice: the second time the base no longer matches
	if _, err := a.ApplyPatch(r.Patch); err != nil {
		t.Fatal(err)
	}
	before := a.Bytes()
	if _, err := a.ApplyPatch(r.Patch); !errors.Is(err, ErrVersion) {
		t.Fatalf("re-apply: %v, want ErrVersion", err)
	}
	if !bytes.Equal(before, a.Bytes()) {
		t.Fatal("refused patch changed the CIB")
	}
	// a patch that does not apply half-way is rolled back
	bad := &Patch{Source: a.Version(), Target: Version{0, 7, 0}, Changes: []Change{
		{Op: ChangeDelete, Path: "/cib/configuration/constraints/rsc_location[@id='l1']"},
		{Op: ChangeDelete, Path: "/cib/configuration/resources/primitive[@id='ghost']"},
	}}
	if _, err := a.ApplyPatch(bad); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad patch: %v", err)
	}
	if !bytes.Equal(before, a.Bytes()) {
		t.Fatal("half-applied patch was not rolled back")
	}
}

// randomMutation changes c in a random, schema-valid way through Apply.
func randomMutation(rng *rand.Rand, c *CIB, n int) *Result {
	var r *Result
	switch rng.Intn(7) {
	case 0, 1:
		r, _ = c.Apply(Request{Op: OpCreate, Scope: "resources", XML: []byte(fmt.Sprintf(`<primitive id="r%d" class="ocf" provider="systole" type="Dummy"><instance_attributes id="r%d-ia"><nvpair id="r%d-p" name="p" value="%d"/></instance_attributes></primitive>`, n, n, n, rng.Intn(9)))})
	case 2:
		r, _ = c.Apply(Request{Op: OpModify, XML: []byte(fmt.Sprintf(`<nvpair id="r%d-p" value="%d"/>`, rng.Intn(n+1), rng.Intn(99)))})
	case 3:
		r, _ = c.Apply(Request{Op: OpCreate, Scope: "constraints", XML: []byte(fmt.Sprintf(`<rsc_location id="loc%d" rsc="r%d" node="n%d" score="%d"/>`, n, rng.Intn(n+1), rng.Intn(3), rng.Intn(200)-100))})
	case 4:
		r, _ = c.Apply(Request{Op: OpDelete, XPath: fmt.Sprintf("//rsc_location[@id='loc%d']", rng.Intn(n+1))})
	case 5:
		r, _ = c.Apply(Request{Op: OpDelete, XPath: fmt.Sprintf("//primitive[@id='r%d']", rng.Intn(n+1))})
	case 6:
		r, _ = c.Apply(Request{Op: OpModify, Scope: "status", AllowCreate: true, XML: []byte(fmt.Sprintf(`<node_state id="%d" uname="n%d" crmd="%s"/>`, rng.Intn(3), rng.Intn(3), []string{"online", "offline"}[rng.Intn(2)]))})
	}
	return r
}

// TestRandomDiffAndReplication drives random operations: each operation's
// patch applied to a replica keeps it identical; Diff between distant
// versions also reproduces the target; incremental validation agrees with
// full validation.
func TestRandomDiffAndReplication(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 5
	}
	bumps := 0
	defer func() { t.Logf("%d seeds, %d configuration versions replicated", seeds, bumps) }()
	for seed := int64(1); seed <= int64(seeds); seed++ {
		rng := rand.New(rand.NewSource(seed))
		c := mustParse(t, baseCIB)
		replica := c.Clone()
		opReplica := c.Clone()
		start := c.Clone()
		for i := 0; i < 60; i++ {
			before := c.Version()
			prev := c.Clone()
			r := randomMutation(rng, c, i)
			if r != nil && r.Patch != nil {
				if _, err := opReplica.ApplyPatch(r.Patch); err != nil {
					t.Fatalf("seed %d step %d: operation patch does not apply: %v\n%s", seed, i, err, r.Patch.Bytes())
				}
				if !bytes.Equal(opReplica.Bytes(), c.Bytes()) {
					t.Fatalf("seed %d step %d: operation replica differs", seed, i)
				}
			}
			if c.Version() == before {
				if !bytes.Equal(prev.Bytes(), c.Bytes()) {
					t.Fatalf("seed %d step %d: content changed without a version bump", seed, i)
				}
				continue
			}
			if c.Version().Compare(before) <= 0 {
				t.Fatalf("seed %d step %d: version went from %s to %s", seed, i, before, c.Version())
			}
			p := Diff(prev, c)
			if _, err := replica.ApplyPatch(p); err != nil {
				t.Fatalf("seed %d step %d: diff does not apply: %v\n%s", seed, i, err, p.Bytes())
			}
			if !bytes.Equal(replica.Bytes(), c.Bytes()) {
				t.Fatalf("seed %d step %d: replica differs", seed, i)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("seed %d step %d: incremental validation let an invalid CIB through: %v", seed, i, err)
			}
		}
		if changed := c.Version().Compare(start.Version()); changed <= 0 {
			t.Fatalf("seed %d: no operation succeeded", seed)
		}
		bumps += int(c.Version().Epoch - start.Version().Epoch)
		// one diff across the whole run
		p := Diff(start, c)
		if _, err := start.ApplyPatch(p); err != nil {
			t.Fatalf("seed %d: whole-run diff: %v", seed, err)
		}
		if !bytes.Equal(start.Bytes(), c.Bytes()) {
			t.Fatalf("seed %d: whole-run diff result differs", seed)
		}
	}
}

func TestDiffReorderAndIDless(t *testing.T) {
	a := mustParse(t, `<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes/><resources>
<primitive id="a" class="lsb" type="a"/><primitive id="b" class="lsb" type="b"/><primitive id="c" class="lsb" type="c"/>
</resources><constraints/><x><y v="1"/><y v="2"/><y v="3"/></x></configuration><status/></cib>`)
	b := mustParse(t, `<cib admin_epoch="0" epoch="2" num_updates="0"><configuration><crm_config/><nodes/><resources>
<primitive id="c" class="lsb" type="c"/><primitive id="d" class="lsb" type="d"/><primitive id="a" class="lsb" type="A"/>
</resources><constraints/><x><y v="1"/><y v="3"/></x></configuration><status/></cib>`)
	p := Diff(a, b)
	if _, err := a.ApplyPatch(p); err != nil {
		t.Fatalf("%v\n%s", err, p.Bytes())
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("got\n%s\nwant\n%s\npatch\n%s", a.Bytes(), b.Bytes(), p.Bytes())
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]int64{"10": 10000, "10s": 10000, "500ms": 500, "5min": 300000, "1h": 3600000, "PT10S": 10000, "PT1M30S": 90000, "0": 0, "P1D": 86400000, "P10S": 10000} {
		got, err := ParseInterval(in)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "10x", "P", "PT", "P1X"} {
		if _, err := ParseInterval(in); err == nil {
			t.Errorf("ParseInterval(%q) accepted", in)
		}
	}
}

func TestValidScore(t *testing.T) {
	for _, s := range []string{"0", "100", "-5", "+7", "INFINITY", "+INFINITY", "-INFINITY", "infinity"} {
		if !ValidScore(s) {
			t.Errorf("%q rejected", s)
		}
	}
	for _, s := range []string{"", "+", "lots", "1.5", "INF"} {
		if ValidScore(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestValidateWholeCIB(t *testing.T) {
	c := mustParse(t, `<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes><resources>
<primitive id="a" class="ocf" type="Dummy"/>
<primitive id="a" class="lsb" type="x"/>
</resources><constraints>
<rsc_location id="l" rsc="ghost" node="n1" score="10"/>
<rsc_order id="o" first="a" then="a" kind="Bogus"/>
</constraints></configuration><status/></cib>`)
	err := c.Validate()
	var ves ValidationErrors
	if !errors.As(err, &ves) {
		t.Fatalf("want ValidationErrors, got %v", err)
	}
	want := []string{`primitive "a": id already exists`, `primitive "a": class ocf needs a provider`, `rsc_location "l": rsc refers to resource "ghost"`, `rsc_order "o": kind "Bogus"`}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) is false")
	}
}

func TestPatchCarriesHousekeeping(t *testing.T) {
	a := mustParse(t, baseCIB)
	b := a.Clone()
	r := mustApply(t, a, Request{Op: OpCreate, Scope: "resources", XML: []byte(`<primitive id="h" class="lsb" type="h"/>`),
		LastWritten: "Sun Nov 22 04:46:21 2026", Client: "cibadmin", Origin: "n1", User: "root"})
	if _, err := b.ApplyPatch(r.Patch); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("replica lost root attributes:\n%s\nwant\n%s", b.Bytes(), a.Bytes())
	}
	if got := b.Root().SelectAttrValue("update-client", ""); got != "cibadmin" {
		t.Fatalf("update-client = %q", got)
	}
}

func TestXPathOrRefused(t *testing.T) {
	c := mustParse(t, baseCIB)
	_, err := c.FindXPath("//nvpair[@name='a' or @name='b']")
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), `"or"`) {
		t.Fatalf("err = %v", err)
	}
}
