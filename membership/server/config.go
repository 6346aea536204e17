package server

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/systole/systole/membership"
	"github.com/systole/systole/messaging"
)

// Directives are the membership directives of ha.cf. messagingd's parser does not know
// them; ParseHaCf takes them out before handing the rest of the file to it.
//
//	quorum_votes NODE=N [NODE=N...]   votes of a node (default 1)
//	expected_votes N                  vote total quorum is measured against (default: sum)
//	two_node on|off                   two-node mode (quorum with one vote, wait for all)
type Directives struct {
	// Votes maps node names to their votes; nodes not listed have 1.
	Votes map[string]int
	// ExpectedVotes is 0 for the sum of the configured votes.
	ExpectedVotes int
	// TwoNode enables two-node mode.
	TwoNode bool
}

// DirectiveNames are the ha.cf directives only membershipd reads.
var DirectiveNames = []string{"quorum_votes", "expected_votes", "two_node"}

// Config is what membershipd reads from ha.cf.
type Config struct {
	// HaCf is the messaging part, parsed by messaging.ParseHaCf (node list, timers).
	HaCf *messaging.HaCf
	// Directives are the membership directives.
	Directives Directives
}

// LoadHaCf reads and parses an ha.cf file (see ParseHaCf).
func LoadHaCf(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseHaCf(path, b)
}

// ParseHaCf parses the ha.cf file named name: the membership directives itself, the rest
// with messaging.ParseHaCf (so both daemons read node lines and timers identically).
// Errors name name:line.
func ParseHaCf(name string, data []byte) (*Config, error) {
	d := Directives{Votes: map[string]int{}}
	var rest bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		code := text
		if i := strings.IndexByte(code, '#'); i >= 0 {
			code = code[:i]
		}
		f := strings.Fields(code)
		if len(f) == 0 || !isDirective(f[0]) {
			rest.WriteString(text)
			rest.WriteByte('\n')
			continue
		}
		rest.WriteByte('\n') // keep line numbers for messaging's errors
		if err := d.parse(f); err != nil {
			return nil, fmt.Errorf("%s:%d: %w: %s: %v", name, line, ErrConfig, f[0], err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w: %w", name, line+1, ErrConfig, err)
	}
	h, err := messaging.ParseHaCf(name, rest.Bytes())
	if err != nil {
		return nil, err
	}
	for n := range d.Votes {
		found := false
		for _, m := range h.Nodes {
			found = found || m == n
		}
		if !found {
			return nil, fmt.Errorf("%s: %w: quorum_votes names %q, which is not a configured node", name, ErrConfig, n)
		}
	}
	return &Config{HaCf: h, Directives: d}, nil
}

func isDirective(s string) bool {
	for _, d := range DirectiveNames {
		if s == d {
			return true
		}
	}
	return false
}

func (d *Directives) parse(f []string) error {
	args := f[1:]
	switch f[0] {
	case "quorum_votes":
		if len(args) == 0 {
			return fmt.Errorf("want NODE=VOTES...")
		}
		for _, a := range args {
			node, v, ok := strings.Cut(a, "=")
			n, err := strconv.Atoi(v)
			if !ok || node == "" || err != nil || n < 0 || n > 1000 {
				return fmt.Errorf("%q: want NODE=VOTES with VOTES in 0..1000", a)
			}
			if n == 0 {
				// The core reads 0 as the default of 1; a node without votes cannot be
				// expressed, so refuse rather than silently count it.
				return fmt.Errorf("%q: a node needs at least one vote", a)
			}
			d.Votes[node] = n
		}
	case "expected_votes":
		if len(args) != 1 {
			return fmt.Errorf("want 1 argument, have %d", len(args))
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 64000 {
			return fmt.Errorf("%q: want a number in 1..64000", args[0])
		}
		d.ExpectedVotes = n
	case "two_node":
		if len(args) != 1 {
			return fmt.Errorf("want on or off")
		}
		switch strings.ToLower(args[0]) {
		case "on", "yes", "true", "1":
			d.TwoNode = true
		case "off", "no", "false", "0":
			d.TwoNode = false
		default:
			return fmt.Errorf("want on or off, have %q", args[0])
		}
	}
	return nil
}

// CoreConfig returns the membership core's configuration for node self. Timers follow the
// messaging timers, like membership.DefaultConfig does for the messaging defaults
// (keepalive 1s, deadtime 10s):
//
//	ReportInterval = keepalive           a report per heartbeat
//	ProposeTimeout = max(3 keepalive, 1s) several API and network round trips
//	RetryDelay     = keepalive           a changed report spreads in one interval
//	HoldDown       = deadtime            no view churn faster than deadtime
//	Settle         = min(200ms, keepalive)
//	InitDead       = 2 keepalive         running peers are heard before the first proposal
//
// The result is validated (errors wrap ErrConfig and the core's sentinel errors).
func (c *Config) CoreConfig(self string) (membership.Config, error) {
	h := c.HaCf
	cfg := membership.Config{
		Name:           self,
		ExpectedVotes:  c.Directives.ExpectedVotes,
		TwoNode:        c.Directives.TwoNode,
		ReportInterval: h.Keepalive,
		ProposeTimeout: max(3*h.Keepalive, time.Second),
		RetryDelay:     h.Keepalive,
		HoldDown:       h.Deadtime,
		Settle:         min(200*time.Millisecond, h.Keepalive),
		InitDead:       2 * h.Keepalive,
	}
	for _, n := range h.Nodes {
		v := c.Directives.Votes[n]
		if v == 0 {
			v = 1
		}
		cfg.Nodes = append(cfg.Nodes, membership.NodeConfig{Name: n, Votes: v})
	}
	if err := cfg.Validate(); err != nil {
		return membership.Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, nil
}
