package messaging

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseHaCfGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/ha.cf")
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHaCf("ha.cf", data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Cluster != "prod" || strings.Join(h.Nodes, ",") != "alpha,beta,gamma" || h.Keepalive != 100*time.Millisecond ||
		h.Warntime != 300*time.Millisecond || h.Deadtime != 500*time.Millisecond || h.Initdead != 5*time.Second ||
		h.UDPPort != 694 || len(h.Bcast) != 2 || len(h.Mcast) != 2 || !h.Mcast[1].Loop || len(h.Ucast) != 3 ||
		h.Serial[0] != "/dev/ttyS0" || h.Baud != 115200 || h.Ping[0] != "192.0.2.1" || !h.Encrypt || len(h.Ignored) != 2 {
		t.Fatalf("parsed %+v", h)
	}
	var names []string
	for _, m := range h.MediaNames() {
		names = append(names, m.Name)
	}
	want := "bcast eth0|bcast eth1|mcast eth2 239.0.0.43|mcast eth2 ff02::4:3|ucast eth3|serial /dev/ttyS0"
	if got := strings.Join(names, "|"); got != want {
		t.Fatalf("media %q, want %q", got, want)
	}
	c := h.Config("beta", 7)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseHaCfErrors(t *testing.T) {
	base := "node a b\nbcast eth0\n"
	cases := []struct{ name, text, want string }{
		{"unknown directive", base + "frobnicate 1\n", "f:3: messaging: invalid configuration: frobnicate: unknown directive"},
		{"bad time", base + "deadtime soon\n", "f:3:"},
		{"zero time", base + "keepalive 0\n", "f:3:"},
		{"bad port", "udpport 70000\n" + base, "f:1:"},
		{"bad mcast", base + "mcast eth0 192.0.2.1 694 1 0\n", "f:3:"},
		{"mcast args", base + "mcast eth0 239.0.0.1\n", "f:3:"},
		{"bad ucast", base + "ucast eth0 not-an-ip\n", "f:3:"},
		{"dup node", base + "node a\n", "f:3:"},
		{"no nodes", "bcast eth0\n", "no node"},
		{"no media", "node a\n", "no medium"},
		{"deadtime small", base + "keepalive 1\ndeadtime 1\n", "f:4:"},
		{"warn > dead", base + "warntime 2\ndeadtime 1\n", "f:3:"},
		{"baud", base + "baud 12\n", "f:3:"},
		{"encrypt", base + "encrypt maybe\n", "f:3:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseHaCf("f", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("err %v, want containing %q", err, c.want)
			}
		})
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"2": 2 * time.Second, "0.5": 500 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "1m": time.Minute} {
		if got, err := ParseInterval(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "0", "0ms", "x", "100us", "1e9"} {
		if _, err := ParseInterval(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseAuthkeys(t *testing.T) {
	good := "# keys\nauth 2\n1 sha1 old-secret\n2 sha256 new-secret\n"
	k, err := ParseAuthkeys("authkeys", []byte(good), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if k.Active != 2 || k.ByID[1].Method != MethodSHA1 || string(k.ByID[2].Secret) != "new-secret" {
		t.Fatalf("%+v", k)
	}
	cases := []struct {
		name, text string
		mode       os.FileMode
		want       string
	}{
		{"mode", good, 0o644, "authkeys: messaging: authkeys file mode must be 0600 (is 0644)"},
		{"group readable", good, 0o640, "mode must be 0600"},
		{"no auth", "1 sha256 x\n", 0o600, "authkeys:1: messaging: invalid configuration: missing `auth N` line"},
		{"auth names nothing", "auth 3\n1 sha256 x\n", 0o600, "authkeys:1:"},
		{"crc", "auth 1\n1 crc\n", 0o600, "authkeys:2:"},
		{"method", "auth 1\n1 rot13 x\n", 0o600, "authkeys:2:"},
		{"missing secret", "auth 1\n1 sha256\n", 0o600, "authkeys:2:"},
		{"bad id", "auth 1\n0 sha256 x\n", 0o600, "authkeys:2:"},
		{"dup", "auth 1\n1 sha256 x\n1 md5 y\n", 0o600, "authkeys:3:"},
		{"two auth", "auth 1\nauth 1\n1 sha256 x\n", 0o600, "authkeys:2:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAuthkeys("authkeys", []byte(c.text), c.mode)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want containing %q", err, c.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Node, ok.Nodes, ok.Media = "a", []string{"a", "b"}, []Medium{{Name: "m"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"self missing": func(c *Config) { c.Node = "z" },
		"no media":     func(c *Config) { c.Media = nil },
		"deadtime":     func(c *Config) { c.Deadtime = c.Keepalive },
		"history":      func(c *Config) { c.History = c.Window - 1 },
		"dup node":     func(c *Config) { c.Nodes = []string{"a", "a"} },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
