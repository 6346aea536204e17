package metadata

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const good = `<?xml version="1.0"?>
<resource-agent name="Good" version="1.0">
<version>1.1</version>
<longdesc lang="en">Long <b>markup</b> allowed</longdesc>
<shortdesc lang="en">Short</shortdesc>
<parameters>
<parameter name="ip" required="1" unique-group="addr" reloadable="0">
<longdesc lang="en">ip</longdesc><shortdesc lang="en">ip</shortdesc>
<content type="string"/>
</parameter>
<parameter name="mode">
<deprecated><replaced-with name="ip"/><desc lang="en">old</desc></deprecated>
<longdesc lang="en">mode</longdesc><shortdesc lang="en">mode</shortdesc>
<content type="select" default="b"><option value="a"/><option value="b"/></content>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="2min"/>
<action name="monitor" timeout="20" interval="10s" depth="0" role="Promoted"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>`

func TestValidateGood(t *testing.T) {
	a, err := Validate([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Good" || a.OCFVersion != "1.1" || len(a.Parameters) != 2 || !a.Parameters[0].Required {
		t.Fatalf("%+v", a)
	}
	if mon, ok := a.Action("monitor", "Promoted"); !ok || mon.Interval != 10*time.Second || mon.Timeout != 20*time.Second {
		t.Fatalf("monitor %+v", mon)
	}
	if st, _ := a.Action("stop", ""); st.Timeout != 2*time.Minute {
		t.Fatalf("stop %+v", st)
	}
}

func TestValidateBad(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"not xml", "<resource-agent", "<resource-agent <", "not well-formed"},
		{"no name", `name="Good" `, "", "attribute name is required"},
		{"no version", "<version>1.1</version>", "", "exactly one <version>"},
		{"order", "<shortdesc lang=\"en\">Short</shortdesc>\n<parameters>", "<parameters>", "at least one <shortdesc>"},
		{"lang", `<shortdesc lang="en">Short</shortdesc>`, `<shortdesc>Short</shortdesc>`, "attribute lang is required"},
		{"dup param", `<parameter name="mode">`, `<parameter name="ip">`, "duplicate parameter"},
		{"bool", `required="1"`, `required="maybe"`, "not a boolean"},
		{"type", `type="string"`, `type="text"`, `type "text"`},
		{"no content", `<content type="string"/>`, ``, "exactly one <content>"},
		{"option outside select", `<content type="string"/>`, `<content type="string"><option value="x"/></content>`, "options only in type select"},
		{"no timeout", `<action name="start" timeout="20s"/>`, `<action name="start"/>`, "timeout is required"},
		{"bad timeout", `timeout="2min"`, `timeout="soon"`, "no number"},
		{"bad unit", `timeout="2min"`, `timeout="2fortnights"`, "unknown unit"},
		{"depth", `depth="0"`, `depth="deep"`, "depth"},
		{"role", `role="Promoted"`, `role="Boss"`, "role"},
		{"mandatory", `<action name="stop" timeout="2min"/>`, ``, "mandatory action stop"},
		{"unknown element", `<actions>`, `<bogus/><actions>`, "unexpected element <bogus>"},
		{"unknown attribute", `<action name="start" timeout="20s"/>`, `<action name="start" timeout="20s" color="red"/>`, "unexpected attribute color"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.from) {
				t.Fatalf("fixture lacks %q", c.from)
			}
			_, err := Validate([]byte(strings.Replace(good, c.from, c.to, 1)))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestWrongRoot(t *testing.T) {
	if _, err := Validate([]byte(`<agent name="x"/>`)); err == nil || !strings.Contains(err.Error(), "root element is <agent>") {
		t.Fatalf("err = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	md := strings.Replace(good, `<content type="select" default="b">`, `<content type="select" default="c">`, 1)
	md = strings.Replace(md, `<action name="start" timeout="20s"/>`, `<action name="start" timeout="20s"/><action name="validate" timeout="5s"/>`, 1)
	a, err := Validate([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Warnings) != 2 {
		t.Fatalf("warnings %v", a.Warnings)
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{"20": 20 * time.Second, "20s": 20 * time.Second, "100ms": 100 * time.Millisecond,
		"2min": 2 * time.Minute, "1h": time.Hour, "5 sec": 5 * time.Second, "3m": 3 * time.Minute}
	for in, want := range cases {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "s", "-1s", "1.5s", "99999999999999999999"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("<resource-agent/>"))
	f.Add([]byte("<resource-agent name='x'><actions><action name='start' timeout='1'/></actions></resource-agent>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Validate(b)
		if err == nil && (a == nil || a.Name == "") {
			t.Fatalf("valid without a name: %q", b)
		}
	})
}
