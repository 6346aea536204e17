package messaging

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Scenario scripts (testdata/scenarios/*.txt) drive the simulator with
// plain-text commands; the trace of events they produce is compared with
// the .golden file beside them. Regenerate with GOLDEN_UPDATE=1 and review
// the diff.
//
//	nodes N [slow]           N nodes n1..nN, media "a" and "b" (b slow if given)
//	loss P | dup P           network faults from now on
//	start NODE...            start (or restart, with a new generation)
//	crash NODE...
//	run DURATION             advance virtual time
//	send FROM DEST TEXT...   DEST "*" for every node
//	partition A.. / B..      cut every pair across the groups
//	cut FROM TO              one-way cut
//	cut-medium M | heal      drop every packet of medium M | undo all cuts
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			got := runScript(t, f)
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if os.Getenv("GOLDEN_UPDATE") != "" {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with GOLDEN_UPDATE=1)", err)
			}
			if got != string(want) {
				t.Fatalf("trace differs from %s (GOLDEN_UPDATE=1 to regenerate):\n%s", golden, got)
			}
		})
	}
}

func runScript(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s *simNet
	var out strings.Builder
	idx := func(name string) int {
		i, ok := s.byName[name]
		if !ok {
			t.Fatalf("%s: unknown node %q", path, name)
		}
		return i
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		fmt.Fprintf(&out, "> %s\n", text)
		bad := func(err any) { t.Fatalf("%s:%d: %v", path, line, err) }
		switch f[0] {
		case "nodes":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				bad(err)
			}
			media := []Medium{{Name: "a"}, {Name: "b", Slow: len(f) > 2 && f[2] == "slow"}}
			s = newSimNet(t, 1, n, media)
			s.trace = &out
		case "loss", "dup":
			p, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				bad(err)
			}
			if f[0] == "loss" {
				s.loss = p
			} else {
				s.dup = p
			}
		case "start", "crash":
			for _, n := range f[1:] {
				if f[0] == "start" {
					s.start(idx(n))
				} else {
					s.crash(idx(n))
				}
			}
		case "run":
			d, err := time.ParseDuration(f[1])
			if err != nil {
				bad(err)
			}
			s.run(s.now.Add(d))
		case "send":
			dest := f[2]
			if dest == "*" {
				dest = ""
			}
			i := idx(f[1])
			if err := s.nodes[i].node.Send(dest, "script", []byte(strings.Join(f[3:], " ")), s.now); err != nil {
				bad(err)
			}
			s.drain(i)
		case "partition":
			var groups [][]int
			var g []int
			for _, n := range f[1:] {
				if n == "/" {
					groups, g = append(groups, g), nil
					continue
				}
				g = append(g, idx(n))
			}
			s.partition(append(groups, g)...)
		case "cut":
			s.cut[[2]int{idx(f[1]), idx(f[2])}] = true
		case "cut-medium":
			for i, m := range s.media {
				if m.Name == f[1] {
					s.cutMed = map[int]bool{i: true}
				}
			}
		case "heal":
			s.heal()
			s.cutMed = nil
		default:
			bad("unknown command " + f[0])
		}
	}
	return out.String()
}

// traceReady writes a node's status events and script deliveries.
func (s *simNet) traceReady(sn *simNode, rd Ready) {
	if s.trace == nil {
		return
	}
	at := s.now.Sub(simEpoch)
	w := func(format string, a ...any) {
		fmt.Fprintf(s.trace, "%8.3fs %s: %s\n", at.Seconds(), sn.name, fmt.Sprintf(format, a...))
	}
	for _, e := range rd.Peers {
		extra := ""
		if e.Late {
			extra = " late"
		}
		if e.Restarted {
			extra = " restarted"
		}
		w("peer %s %s gen=%d%s", e.Node, e.State, e.Generation, extra)
	}
	for _, e := range rd.Links {
		state := "down"
		if e.Up {
			state = "up"
		}
		w("link %s/%s %s", e.Node, s.media[e.Medium].Name, state)
	}
	for _, m := range rd.Messages {
		if m.Channel == "script" && m.From != sn.name {
			w("deliver from %s: %s", m.From, m.Payload)
		}
	}
	for _, l := range rd.Lost {
		w("lost from %s seqs %d-%d", l.From, l.First, l.Last)
	}
}
