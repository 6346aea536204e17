package crm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScripts runs the scenario scripts in testdata/*.txt. Each block is a
// command, a "----" line and the expected output (the harness trace the
// command produced, then its own output); GOLDEN_UPDATE=1 rewrites the
// expected outputs.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

type scriptBlock struct {
	pre  []string // comments and blank lines before the command
	cmd  string
	want string
}

func parseScript(t *testing.T, data string) []scriptBlock {
	lines := strings.Split(strings.TrimRight(data, "\n"), "\n")
	var out []scriptBlock
	var pre []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			pre = append(pre, l)
			continue
		}
		b := scriptBlock{pre: pre, cmd: l}
		pre = nil
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("line %d: %q: want ---- after a command", i+1, l)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		b.want = strings.Join(want, "\n")
		out = append(out, b)
	}
	return out
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseScript(t, string(data))
	var s *simCluster
	var b strings.Builder
	failed := false
	for i := range blocks {
		blk := &blocks[i]
		mark := 0
		if s != nil {
			mark = len(s.trace)
		}
		extra := scriptCmd(t, &s, blk.cmd)
		got := append(append([]string{}, s.trace[mark:]...), extra...)
		gotS := strings.Join(got, "\n")
		if gotS != blk.want && os.Getenv("GOLDEN_UPDATE") == "" {
			t.Errorf("%s: %s:\n got:\n%s\nwant:\n%s", path, blk.cmd, gotS, blk.want)
			failed = true
		}
		blk.want = gotS
		for _, p := range blk.pre {
			b.WriteString(p + "\n")
		}
		fmt.Fprintf(&b, "%s\n----\n", blk.cmd)
		if gotS != "" {
			b.WriteString(gotS + "\n")
		}
		if i < len(blocks)-1 {
			b.WriteString("\n") // ends the block; parseScript consumes it
		}
	}
	if os.Getenv("GOLDEN_UPDATE") != "" && !failed {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func scriptCmd(t *testing.T, sp **simCluster, line string) []string {
	f := strings.Fields(line)
	arg := func(i int) string {
		if i >= len(f) {
			t.Fatalf("%q: missing argument %d", line, i)
		}
		return f[i]
	}
	kv := map[string]string{}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		}
	}
	if f[0] == "cluster" {
		n, _ := strconv.Atoi(kv["nodes"])
		seed, _ := strconv.ParseInt(kv["seed"], 10, 64)
		s := newSim(t, seed, n, NoQuorumPolicy(kv["policy"]))
		s.traceOn = true
		*sp = s
		return nil
	}
	s := *sp
	if s == nil {
		t.Fatalf("%q before cluster", line)
	}
	switch f[0] {
	case "run":
		d, err := time.ParseDuration(arg(1))
		if err != nil {
			t.Fatal(err)
		}
		s.runFor(d)
	case "partition":
		var groups [][]string
		var cur []string
		for _, a := range f[1:] {
			if a == "|" {
				groups, cur = append(groups, cur), nil
				continue
			}
			cur = append(cur, a)
		}
		s.partition(append(groups, cur)...)
	case "heal":
		s.heal()
	case "crash":
		s.crash(arg(1))
	case "restart":
		s.restart(arg(1))
	case "write":
		s.logf("%s write w%d", arg(1), s.nextWrite+1)
		s.write(arg(1))
	case "attr":
		// attr AT NODE NAME VALUE LIFETIME [DAMPEN]
		var damp time.Duration
		if len(f) > 6 {
			damp, _ = time.ParseDuration(f[6])
		}
		if err := s.nodes[arg(1)].SetAttr(s.now, Attr{Node: arg(2), Name: arg(3), Value: arg(4), Lifetime: Lifetime(arg(5)), Dampen: damp}); err != nil {
			return []string{"error: " + err.Error()}
		}
		s.drain(arg(1))
	case "get":
		// get AT NODE NAME LIFETIME
		v, ok := s.nodes[arg(1)].GetAttr(arg(2), arg(3), Lifetime(arg(4)))
		if !ok {
			return []string{"(unset)"}
		}
		return []string{v}
	case "status":
		var out []string
		for _, name := range s.names {
			n := s.nodes[name]
			if n == nil {
				out = append(out, name+" down")
				continue
			}
			role := ""
			if n.Active() {
				role = " (DC)"
			}
			out = append(out, fmt.Sprintf("%s view=%d members=%s quorum=%v dc=%q cib=%s%s", name, n.view.Number, strings.Join(n.view.Members, ","), n.view.Quorum, n.dc, n.Version(), role))
		}
		return out
	case "lost":
		var out []string
		for _, l := range s.lost {
			var ch []string
			for _, c := range l.Patch.Changes {
				what := c.Path
				if c.Element != nil {
					what += "/" + c.Element.Tag + "[" + c.Element.SelectAttrValue("id", "") + "]"
				}
				ch = append(ch, string(c.Op)+" "+what)
			}
			out = append(out, fmt.Sprintf("%s@%s lost to %s@%s: %s", l.Node, l.Version, l.Winner, l.WinnerVersion, strings.Join(ch, "; ")))
		}
		return out
	case "stabilize":
		s.stabilize()
		s.checkFinal()
		return []string{"converged"}
	default:
		t.Fatalf("unknown command %q", line)
	}
	return nil
}
