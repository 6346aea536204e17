package pengine

import (
	"sort"
	"strings"
	"testing"
)

func TestAddScores(t *testing.T) {
	cases := []struct{ a, b, want int }{
		{1, 2, 3},
		{Infinity, -Infinity, -Infinity},
		{-Infinity, Infinity, -Infinity},
		{Infinity, 5, Infinity},
		{999999, 5, Infinity},
		{-999999, -5, -Infinity},
		{0, 0, 0},
	}
	for _, c := range cases {
		if got := addScores(c.a, c.b); got != c.want {
			t.Errorf("addScores(%d,%d)=%d want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestParseScore(t *testing.T) {
	cases := map[string]int{"INFINITY": Infinity, "+INFINITY": Infinity, "-INFINITY": -Infinity,
		"10": 10, "-5": -5, "2000000": Infinity, "garbage": 0, "": 0, "12abc": 12}
	for in, want := range cases {
		if got := parseScore(in, 0); got != want {
			t.Errorf("parseScore(%q)=%d want %d", in, got, want)
		}
	}
}

func TestIntervals(t *testing.T) {
	cases := map[string]int64{"10": 10000, "10s": 10000, "5min": 300000, "PT10S": 10000, "100ms": 100, "1h": 3600000, "P1DT1M": 86460000}
	for in, want := range cases {
		got, ok := parseIntervalMS(in)
		if !ok || got != want {
			t.Errorf("parseIntervalMS(%q)=%d,%v want %d", in, got, ok, want)
		}
	}
	if _, ok := parseIntervalMS("abc"); ok {
		t.Error("garbage interval accepted")
	}
}

func TestNaturalSort(t *testing.T) {
	in := []string{"node10", "node2", "Node1", "node02", "node1"}
	sort.SliceStable(in, func(i, j int) bool { return naturalLess(in[i], in[j]) })
	want := "Node1 node1 node2 node02 node10"
	if got := strings.Join(in, " "); got != want {
		t.Errorf("natural order %q want %q", got, want)
	}
}

func TestISO8601(t *testing.T) {
	cases := map[string]int64{
		"2005-020":                   1106179200,
		"2005-020T11:30":             1106220600,
		"2014-05-07 00:28:00":        1399422480,
		"2019-09-23 18:00:00 -05:00": 1569279600,
		"2023-11-14T22:13:20Z":       1700000000,
	}
	for in, want := range cases {
		got, ok := parseISO8601(in)
		if !ok || got != want {
			t.Errorf("parseISO8601(%q)=%d,%v want %d", in, got, ok, want)
		}
	}
}

func TestDigest(t *testing.T) {
	if got := digestParams(map[string]string{}); got != "f2317cad3d54cec5d7d7aa7d0bf35cf8" {
		t.Errorf("empty digest %s", got)
	}
	if got := digestParams(map[string]string{"CRM_meta_timeout": "20000"}); got != "4811cef7f7f94e3a35a70be7916cb2fd" {
		t.Errorf("timeout digest %s", got)
	}
}

func TestParseOpKey(t *testing.T) {
	cases := []struct {
		key, id, task string
		iv            int64
	}{
		{"web_monitor_10000", "web", "monitor", 10000},
		{"my_rsc_start_0", "my_rsc", "start", 0},
		{"vm_migrate_to_0", "vm", "migrate_to", 0},
		{"c_pre_notify_start_0", "c", "pre_notify_start", 0},
	}
	for _, c := range cases {
		id, task, iv := parseOpKey(c.key)
		if id != c.id || task != c.task || iv != c.iv {
			t.Errorf("parseOpKey(%q)=%q,%q,%d", c.key, id, task, iv)
		}
	}
}

func TestParseXMLRejects(t *testing.T) {
	bad := []string{"", "<cib>", "<cib></cob>", "<notcib/>", "<cib a='1' a='2'/>", "<cib><x y=1/></cib>", "<cib/><cib/>", "<cib>&bogus;</cib>"}
	for _, b := range bad {
		if _, err := ParseXML([]byte(b)); err == nil {
			t.Errorf("ParseXML(%q) accepted malformed input", b)
		}
	}
	doc, err := ParseXML([]byte(`<?xml version="1.0"?><!-- c --><cib a="x&amp;y"><b c='&#65;'/></cib>`))
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.Root().SelectAttrValue("a", ""); v != "x&y" {
		t.Errorf("entity decoding: %q", v)
	}
	if v := doc.Root().SelectElement("b").SelectAttrValue("c", ""); v != "A" {
		t.Errorf("char ref decoding: %q", v)
	}
}
