package server

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/membership"
	"github.com/systole/systole/messaging"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestParseHaCf(t *testing.T) {
	const base = "node a b c\nbcast eth0\nkeepalive 100ms\ndeadtime 500ms\n"
	tests := []struct {
		name    string
		extra   string
		err     error
		errText string
		check   func(t *testing.T, c membership.Config)
	}{
		{name: "defaults", check: func(t *testing.T, c membership.Config) {
			if c.ExpectedVotes != 0 || c.TwoNode || len(c.Nodes) != 3 || c.Nodes[1].Votes != 1 {
				t.Fatalf("%+v", c)
			}
			if c.HoldDown != 500*time.Millisecond || c.ReportInterval != 100*time.Millisecond || c.ProposeTimeout != time.Second ||
				c.Settle != 100*time.Millisecond || c.InitDead != 200*time.Millisecond {
				t.Fatalf("timers %+v", c)
			}
		}},
		{name: "votes and expected", extra: "quorum_votes a=2 c=3 # weighted\nexpected_votes 7\n", check: func(t *testing.T, c membership.Config) {
			if c.ExpectedVotes != 7 || c.Nodes[0].Votes != 2 || c.Nodes[1].Votes != 1 || c.Nodes[2].Votes != 3 {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "two_node needs two nodes", extra: "two_node on\n", err: ErrConfig, errText: "two-node"},
		{name: "unknown node votes", extra: "quorum_votes x=2\n", err: ErrConfig, errText: `"x"`},
		{name: "bad votes", extra: "quorum_votes a=two\n", err: ErrConfig, errText: "ha.cf:5"},
		{name: "zero votes", extra: "quorum_votes a=0\n", err: ErrConfig},
		{name: "bad expected", extra: "expected_votes -1\n", err: ErrConfig},
		{name: "bad two_node", extra: "two_node maybe\n", err: ErrConfig},
		{name: "messaging errors keep their line", extra: "bogus 1\n", err: messaging.ErrConfig, errText: "ha.cf:5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseHaCf("ha.cf", []byte(base+tt.extra))
			var core membership.Config
			if err == nil {
				core, err = c.CoreConfig("b")
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err %v, want %v containing %q", err, tt.err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, core)
		})
	}
	c, err := ParseHaCf("ha.cf", []byte("node a b\nbcast eth0\ntwo_node yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	core, err := c.CoreConfig("a")
	if err != nil || !core.TwoNode || core.HoldDown != messaging.DefaultConfig().Deadtime {
		t.Fatalf("two-node config %+v, %v", core, err)
	}
	if _, err := c.CoreConfig("z"); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown local node accepted: %v", err)
	}
}
