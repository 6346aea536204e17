package lrm

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOCFEnv(t *testing.T) {
	cmd := Command{
		Rsc: Resource{ID: "web:1", Class: ClassOCF, Provider: "heartbeat", Type: "apache"}, Action: "monitor",
		Interval: 10 * time.Second, Timeout: 20 * time.Second,
		Params: map[string]string{"configfile": "/etc/a.conf", "OCF_CHECK_LEVEL": "10", "bad=name": "x"},
		Meta:   map[string]string{"clone": "1", "on_node": "n1"},
	}
	env := OCFEnv(cmd, "/usr/lib/ocf")
	want := []string{
		"OCF_CHECK_LEVEL=10",
		"OCF_EXIT_REASON_PREFIX=ocf-exit-reason:",
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=1",
		"OCF_RESKEY_CRM_meta_clone=1",
		"OCF_RESKEY_CRM_meta_interval=10000",
		"OCF_RESKEY_CRM_meta_name=monitor",
		"OCF_RESKEY_CRM_meta_on_node=n1",
		"OCF_RESKEY_CRM_meta_timeout=20000",
		"OCF_RESKEY_configfile=/etc/a.conf",
		"OCF_RESKEY_crm_feature_set=" + CRMFeatureSet,
		"OCF_RESOURCE_INSTANCE=web:1",
		"OCF_RESOURCE_PROVIDER=heartbeat",
		"OCF_RESOURCE_TYPE=apache",
		"OCF_ROOT=/usr/lib/ocf",
	}
	if !slices.Equal(env, want) {
		t.Fatalf("env:\n%s\nwant:\n%s", strings.Join(env, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseExitReason(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"no reason here\n", ""},
		{"ocf-exit-reason:Address 1.2.3.4 busy\n", "Address 1.2.3.4 busy"},
		{"x\nocf-exit-reason: first\nINFO: y\nocf-exit-reason:  second  \n", "second"},
		{"prefix ocf-exit-reason:inline", "inline"},
		{"ocf-exit-reason:" + strings.Repeat("a", 1000), strings.Repeat("a", MaxExitReason)},
	}
	for _, c := range cases {
		if got := ParseExitReason([]byte(c.in)); got != c.want {
			t.Errorf("ParseExitReason(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzParseExitReason(f *testing.F) {
	f.Add([]byte("ocf-exit-reason:boom\n"))
	f.Add([]byte("ocf-exit-reason:\xff\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := ParseExitReason(b)
		if len(s) > MaxExitReason+3 || strings.Contains(s, "\n") {
			t.Fatalf("bad reason %q", s)
		}
	})
}

func TestLSBToOCF(t *testing.T) {
	cases := []struct {
		action string
		code   int
		want   int
	}{
		{"monitor", 0, 0}, {"monitor", 1, 7}, {"monitor", 2, 7}, {"monitor", 3, 7},
		{"monitor", 4, 1}, {"monitor", 150, 5}, {"monitor", 151, 4}, {"monitor", 200, 1},
		{"start", 0, 0}, {"start", 5, 5}, {"start", 7, 7}, {"stop", 8, 1}, {"start", -1, 1},
	}
	for _, c := range cases {
		if got := LSBToOCF(c.action, c.code); got != c.want {
			t.Errorf("LSBToOCF(%s, %d) = %d, want %d", c.action, c.code, got, c.want)
		}
	}
}
