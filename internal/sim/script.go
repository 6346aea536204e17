package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Directive is one command of a script with its expected output.
type Directive struct {
	// Line is the 1-based line number of the command in the script.
	Line int
	// Cmd is the command line; Expected is the text under its "----" line.
	Cmd      string
	Expected string
	// Leading holds the comment and blank lines before the command, kept on rewrite.
	Leading []string
}

// ParseScript reads a datadriven-style script: a command line, a "----" line, the expected
// output, then a blank line. Lines starting with # between directives are comments.
func ParseScript(r io.Reader) ([]Directive, []string, error) {
	sc := bufio.NewScanner(r)
	var out []Directive
	var leading []string
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	for {
		l, ok := next()
		if !ok {
			break
		}
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			leading = append(leading, l)
			continue
		}
		d := Directive{Line: line, Cmd: l, Leading: leading}
		leading = nil
		sep, ok := next()
		if !ok || sep != "----" {
			return nil, nil, fmt.Errorf("sim: script line %d: want ---- after %q", d.Line, d.Cmd)
		}
		var exp []string
		for {
			l, ok := next()
			if !ok || l == "" {
				break
			}
			exp = append(exp, l)
		}
		d.Expected = strings.Join(exp, "\n")
		out = append(out, d)
	}
	return out, leading, sc.Err()
}

// FormatScript writes directives back with the given outputs (used by GOLDEN_UPDATE=1).
func FormatScript(w io.Writer, ds []Directive, outputs []string, trailing []string) {
	for i, d := range ds {
		for _, l := range d.Leading {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w, d.Cmd)
		fmt.Fprintln(w, "----")
		if outputs[i] != "" {
			fmt.Fprintln(w, outputs[i])
		}
		fmt.Fprintln(w)
	}
	for _, l := range trailing {
		if strings.TrimSpace(l) != "" {
			fmt.Fprintln(w, l)
		}
	}
}

// Runner executes script commands against a cluster it creates with the "cluster" command.
//
// Commands:
//
//	cluster nodes=N [seed=S] [two-node] [votes=n1:2,n2:3] [delay=1ms-10ms] [link=messaging]
//	partition n1,n2,n3 | n4,n5     cut every link between groups (unnamed nodes: one more group)
//	heal                           restore every link, clear loss and duplication
//	cut a>b | cut a<>b             b stops hearing a (asymmetric) | both directions
//	uncut a>b | uncut a<>b
//	drop p=0.2 [a>b]               loss probability on every link (or on one link)
//	dup p=0.1                      duplication probability
//	crash a | restart a
//	tick N                         advance N ticks
//	run 2.5s                       advance virtual time
//	stabilize [limit=60s]          run until no view changes for a quiet period
//	converge                       run until every alive node holds one view of all alive nodes
//	flap a<>b period=300ms for=20s cut and restore a link every period, then leave it up
//	views                          print every node's installed view
//	installs                       print how many views each node installed
type Runner struct {
	C *Cluster
}

// Exec runs one command and returns its output: the trace of what happened and any
// command output. Violations appear in the trace as VIOLATION lines.
func (r *Runner) Exec(cmd string) (string, error) {
	fields := strings.Fields(cmd)
	if len(fields) == 0 {
		return "", fmt.Errorf("sim: empty command")
	}
	args := fields[1:]
	kv := map[string]string{}
	var pos []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		} else {
			pos = append(pos, a)
		}
	}
	if fields[0] != "cluster" && r.C == nil {
		return "", fmt.Errorf("sim: %s before cluster", fields[0])
	}
	var extra []string
	switch fields[0] {
	case "cluster":
		n, err := strconv.Atoi(kv["nodes"])
		if err != nil {
			return "", fmt.Errorf("sim: cluster: nodes=%q: %w", kv["nodes"], err)
		}
		seed := int64(1)
		if s, ok := kv["seed"]; ok {
			if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
				return "", fmt.Errorf("sim: cluster: seed: %w", err)
			}
		}
		opts := DefaultOptions(n, seed)
		for _, p := range pos {
			if p == "two-node" {
				opts.TwoNode = true
			} else {
				return "", fmt.Errorf("sim: cluster: unknown flag %q", p)
			}
		}
		if v, ok := kv["votes"]; ok {
			opts.Votes = map[string]int{}
			for _, item := range strings.Split(v, ",") {
				name, w, _ := strings.Cut(item, ":")
				votes, err := strconv.Atoi(w)
				if err != nil {
					return "", fmt.Errorf("sim: cluster: votes %q: %w", item, err)
				}
				opts.Votes[name] = votes
			}
		}
		switch kv["link"] {
		case "", "heartbeat":
		case "messaging":
			opts.NewLink = NewMessagingLink
		default:
			return "", fmt.Errorf("sim: cluster: link=%q, want heartbeat or messaging", kv["link"])
		}
		if v, ok := kv["delay"]; ok {
			lo, hi, _ := strings.Cut(v, "-")
			a, err1 := time.ParseDuration(lo)
			b, err2 := time.ParseDuration(hi)
			if err1 != nil || err2 != nil || b < a {
				return "", fmt.Errorf("sim: cluster: bad delay %q", v)
			}
			opts.MinDelay, opts.MaxDelay = a, b
		}
		c, err := New(opts)
		if err != nil {
			return "", err
		}
		r.C = c
	case "partition":
		var groups [][]int
		for _, g := range strings.Split(strings.Join(pos, " "), "|") {
			var idx []int
			for _, name := range strings.FieldsFunc(g, func(r rune) bool { return r == ',' || r == ' ' }) {
				i, err := r.node(name)
				if err != nil {
					return "", err
				}
				idx = append(idx, i)
			}
			groups = append(groups, idx)
		}
		r.C.Partition(groups)
	case "heal":
		r.C.Heal()
	case "cut", "uncut":
		if len(pos) != 1 {
			return "", fmt.Errorf("sim: %s: want a>b or a<>b", fields[0])
		}
		a, b, both, err := r.link(pos[0])
		if err != nil {
			return "", err
		}
		f := r.C.Cut
		if fields[0] == "uncut" {
			f = r.C.Uncut
		}
		f(a, b)
		if both {
			f(b, a)
		}
		r.C.topologyChanged()
	case "drop", "dup":
		p, err := strconv.ParseFloat(kv["p"], 64)
		if err != nil || p < 0 || p > 1 {
			return "", fmt.Errorf("sim: %s: bad p=%q", fields[0], kv["p"])
		}
		if fields[0] == "dup" {
			r.C.SetDup(p)
			break
		}
		a, b := -1, -1
		if len(pos) == 1 {
			var both bool
			if a, b, both, err = r.link(pos[0]); err != nil {
				return "", err
			}
			if both {
				r.C.SetLoss(b, a, p)
			}
		}
		r.C.SetLoss(a, b, p)
	case "crash", "restart":
		if len(pos) != 1 {
			return "", fmt.Errorf("sim: %s: want one node", fields[0])
		}
		i, err := r.node(pos[0])
		if err != nil {
			return "", err
		}
		if fields[0] == "crash" {
			r.C.Crash(i)
		} else if err := r.C.Restart(i); err != nil {
			return "", err
		}
	case "tick":
		n := 1
		if len(pos) == 1 {
			var err error
			if n, err = strconv.Atoi(pos[0]); err != nil {
				return "", fmt.Errorf("sim: tick: %w", err)
			}
		}
		r.C.RunFor(time.Duration(n) * r.C.opts.Tick)
	case "run":
		if len(pos) != 1 {
			return "", fmt.Errorf("sim: run: want a duration")
		}
		d, err := time.ParseDuration(pos[0])
		if err != nil {
			return "", fmt.Errorf("sim: run: %w", err)
		}
		r.C.RunFor(d)
	case "stabilize":
		limit := 60 * time.Second
		if v, ok := kv["limit"]; ok {
			var err error
			if limit, err = time.ParseDuration(v); err != nil {
				return "", fmt.Errorf("sim: stabilize: %w", err)
			}
		}
		if !r.C.Stabilize(limit) {
			extra = append(extra, fmt.Sprintf("not stable after %v", limit))
		}
	case "converge":
		if d, ok := r.C.Converge(); ok {
			extra = append(extra, fmt.Sprintf("converged in %v", d.Round(time.Millisecond)))
		}
	case "flap":
		if len(pos) != 1 {
			return "", fmt.Errorf("sim: flap: want a<>b")
		}
		a, b, both, err := r.link(pos[0])
		if err != nil {
			return "", err
		}
		period, err1 := time.ParseDuration(kv["period"])
		total, err2 := time.ParseDuration(kv["for"])
		if err1 != nil || err2 != nil || period <= 0 {
			return "", fmt.Errorf("sim: flap: want period= and for=")
		}
		before := r.C.Installs
		down := false
		for end := r.C.now.Add(total); r.C.now.Before(end); {
			down = !down
			if down {
				r.C.Cut(a, b)
				if both {
					r.C.Cut(b, a)
				}
			} else {
				r.C.Uncut(a, b)
				if both {
					r.C.Uncut(b, a)
				}
			}
			r.C.topologyChanged()
			r.C.RunFor(period)
		}
		r.C.Uncut(a, b)
		if both {
			r.C.Uncut(b, a)
		}
		r.C.topologyChanged()
		extra = append(extra, fmt.Sprintf("installs during flapping: %d", r.C.Installs-before))
	case "views":
		for i, nd := range r.C.nodes {
			if !nd.alive {
				extra = append(extra, fmt.Sprintf("%s: down", nd.name))
			} else if nd.view.Number == 0 {
				extra = append(extra, fmt.Sprintf("%s: no view", nd.name))
			} else {
				extra = append(extra, fmt.Sprintf("%s: %v", nd.name, r.C.View(i)))
			}
		}
	case "installs":
		var parts []string
		for _, nd := range r.C.nodes {
			parts = append(parts, fmt.Sprintf("%s=%d", nd.name, nd.installs))
		}
		extra = append(extra, strings.Join(parts, " "))
	default:
		return "", fmt.Errorf("sim: unknown command %q", fields[0])
	}
	lines := append(r.C.TakeTrace(), extra...)
	return strings.Join(lines, "\n"), nil
}

func (r *Runner) node(name string) (int, error) {
	i, ok := r.C.index[name]
	if !ok {
		return 0, fmt.Errorf("sim: unknown node %q", name)
	}
	return i, nil
}

// link parses a>b or a<>b.
func (r *Runner) link(s string) (a, b int, both bool, err error) {
	sep := ">"
	if strings.Contains(s, "<>") {
		sep, both = "<>", true
	}
	x, y, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, false, fmt.Errorf("sim: bad link %q, want a>b or a<>b", s)
	}
	if a, err = r.node(x); err != nil {
		return
	}
	b, err = r.node(y)
	return
}
