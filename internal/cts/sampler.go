package cts

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/systole/systole/internal/lab"
)

// overlap is one period during which a resource was active on more than
// one node (or a clone had two instances on one node).
type overlap struct {
	rsc        string
	nodes      []string
	start, end time.Time
	// cross: the nodes were in different partitions (a split the suite
	// made); tolerated: cross while the step allowed it (no fencing).
	cross, tolerated bool
}

func (o overlap) String() string {
	return fmt.Sprintf("%s active on %s for %v from %s", o.rsc, strings.Join(o.nodes, "+"),
		o.end.Sub(o.start).Round(time.Millisecond), o.start.Format("15:04:05.000"))
}

// sampler looks every period at where the resources are active (Dummy
// state files on every running node, ARP answers for every virtual IP
// seen from the watcher) and records every double activity. It runs for
// the whole run, beside the tests.
type sampler struct {
	e     *env
	arp   *lab.ARPProber
	every time.Duration
	stop  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	samples int
	open    map[string]*overlap
	closed  []overlap
}

func newSampler(e *env, arp *lab.ARPProber, every time.Duration) *sampler {
	s := &sampler{e: e, arp: arp, every: every, stop: make(chan struct{}), done: make(chan struct{}), open: map[string]*overlap{}}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.done)
	tk := time.NewTicker(s.every)
	defer tk.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tk.C:
		}
		s.sample()
	}
}

// sample takes one look.
func (s *sampler) sample() {
	e := s.e
	alive := e.aliveSnapshot()
	holders := map[string][]int{}
	for i, up := range alive {
		if !up {
			continue
		}
		ents, _ := os.ReadDir(e.c.Nodes[i].RscTmp())
		perNode := map[string]int{}
		for _, ent := range ents {
			inst, ok := strings.CutPrefix(ent.Name(), "Dummy-")
			if !ok {
				continue
			}
			inst, ok = strings.CutSuffix(inst, ".state")
			if !ok {
				continue
			}
			if id, ok := instanceOf(inst); ok {
				perNode[id]++
				if !slices.Contains(holders[id], i) {
					holders[id] = append(holders[id], i)
				}
			}
		}
		for id, k := range perNode {
			if k > 1 {
				holders[id+"@"+e.name(i)] = []int{i, i}
			}
		}
	}
	if s.arp != nil {
		if got, err := s.arp.Probe(vipTargets(), s.every/2); err == nil {
			for _, pr := range primitives {
				if pr.Kind != kindVIP {
					continue
				}
				for _, mac := range got[pr.VIP] {
					i, ok := e.macs[mac]
					if !ok {
						i = -1
					}
					holders[pr.ID] = append(holders[pr.ID], i)
				}
			}
		}
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	seen := map[string]bool{}
	for id, hs := range holders {
		if isClone(id) || len(hs) < 2 {
			continue
		}
		seen[id] = true
		names := make([]string, 0, len(hs))
		parts := map[int]bool{}
		for _, i := range hs {
			if i < 0 {
				names = append(names, "unknown-mac")
				continue
			}
			names = append(names, e.name(i))
			parts[e.partitionOf(i)] = true
		}
		sort.Strings(names)
		names = slices.Compact(names)
		o := s.open[id]
		if o == nil {
			o = &overlap{rsc: id, start: now, cross: len(parts) > 1}
			o.tolerated = o.cross && e.splitAllowed()
			s.open[id] = o
		}
		o.end = now
		for _, n := range names {
			if !slices.Contains(o.nodes, n) {
				o.nodes = append(o.nodes, n)
			}
		}
	}
	for id, o := range s.open {
		if !seen[id] {
			if o.end.Equal(o.start) {
				o.end = o.start.Add(s.every) // seen once: at least one period
			}
			s.closeOverlap(*o)
			delete(s.open, id)
		}
	}
}

// closeOverlap records o, merged with the previous overlap of the same
// resource when they are less than a second apart (a VIP whose ARP
// answers alternate is one double activity, not many).
func (s *sampler) closeOverlap(o overlap) {
	for k := len(s.closed) - 1; k >= 0; k-- {
		p := &s.closed[k]
		if p.rsc == o.rsc && o.start.Sub(p.end) < time.Second {
			p.end = o.end
			p.cross = p.cross || o.cross
			p.tolerated = p.tolerated && o.tolerated
			for _, n := range o.nodes {
				if !slices.Contains(p.nodes, n) {
					p.nodes = append(p.nodes, n)
				}
			}
			return
		}
	}
	s.closed = append(s.closed, o)
}

// isClone reports whether id is a clone's primitive (active on many
// nodes by design); "c@node2" keys (two instances on one node) are not.
func isClone(id string) bool {
	for _, p := range primitives {
		if p.ID == id {
			return p.Clone
		}
	}
	return false
}

// take returns the overlaps closed since the last call, and those still
// open when final.
func (s *sampler) take(final bool) (out []overlap, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, s.closed = s.closed, nil
	if final {
		for id, o := range s.open {
			out = append(out, *o)
			delete(s.open, id)
		}
	}
	return out, s.samples
}

func (s *sampler) close() {
	close(s.stop)
	<-s.done
}
