package cts

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source"
	"github.com/systole/systole/internal/lab"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// env is a run's cluster and the suite's knowledge of it: which nodes it
// started, which links it cut, which writes were acknowledged. Its
// methods are called from the run's goroutine; the sampler reads the cut
// set under mu.
type env struct {
	cfg Config
	c   *lab.Cluster
	w   *lab.Watcher
	arp *lab.ARPProber
	log *slog.Logger
	// macs maps eth0 hardware addresses to node indices.
	macs map[string]int

	mu sync.Mutex
	// isolated are nodes whose network the suite cut (both ways, one way
	// or port down); each is a partition of its own.
	isolated map[int]bool
	// splitOK: double activity across partitions is tolerated (a split
	// without fencing; see sampler).
	splitOK bool

	// acked are the ids of the suite's acknowledged CIB writes.
	acked  []string
	writes int
	// restartsOK: nodes whose daemons the current step may restart.
	restartsOK map[int]bool
	// restarts is the last snapshot of each node's daemons' restarts.
	restarts []map[string]int
	// logOffsets remembers how far each log file was scanned.
	logOffsets map[string]int64
	// violations found by the current step's checks.
	violations []string
	// known are violations of the kinds cfg.Tolerate lists.
	known []string
	// notes are remarks of the current step (tolerated events).
	notes   []string
	sampler *sampler
	// alive and pids mirror which nodes run (systoled's pid), for the
	// sampler.
	alive []bool
	pids  []int
	// leftActive and stackRestarted are nodes that, in this step, left
	// resources active at a clean stop or restarted their whole stack.
	// outsideQuorum: nodes found running resources outside the quorate
	// partition in this step.
	leftActive, stackRestarted, outsideQuorum map[string]bool
	// tolerated lists double activities across splits (no fencing).
	tolerated []string
	// fenced are the nodes the cluster fenced (syncFenced) since the
	// last fencing check; fenceBase counts each node's successful
	// fencings in the history at that check.
	fenced    []string
	fenceBase map[string]int
	stepStart time.Time
	// fenceExpect are nodes that must show up in the fencing history.
	fenceExpect []fenceExpectation
}

// violate records a broken invariant of kind (see Kinds); a kind the
// configuration tolerates is recorded as known instead.
func (e *env) violate(kind, format string, args ...any) {
	v := fmt.Sprintf("[%s] %s", kind, fmt.Sprintf(format, args...))
	if slices.Contains(e.cfg.Tolerate, kind) {
		e.log.Info("known defect", "what", v)
		e.known = append(e.known, v)
		return
	}
	e.log.Warn("violation", "what", v)
	e.violations = append(e.violations, v)
}

func (e *env) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

// name returns node i's name.
func (e *env) name(i int) string { return e.c.Nodes[i].Name }

// running reports whether node i's systoled was started and not killed.
func (e *env) running(i int) bool { return e.c.Nodes[i].Pid != 0 }

func (e *env) runningNodes() []int {
	var r []int
	for i := range e.c.Nodes {
		if e.running(i) {
			r = append(r, i)
		}
	}
	return r
}

// partitions returns the connectivity components of the running nodes as
// the suite made them: each isolated node alone, the others together.
func (e *env) partitions() [][]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var main []int
	var parts [][]int
	for _, i := range e.runningNodes() {
		if e.isolated[i] {
			parts = append(parts, []int{i})
		} else {
			main = append(main, i)
		}
	}
	if len(main) > 0 {
		parts = append([][]int{main}, parts...)
	}
	return parts
}

// quorate reports whether a partition of k nodes has quorum (a majority
// of the configured nodes).
func (e *env) quorate(k int) bool { return 2*k > len(e.c.Nodes) }

func (e *env) setIsolated(i int, v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v {
		e.isolated[i] = true
	} else {
		delete(e.isolated, i)
	}
}

func (e *env) setSplitOK(v bool) {
	e.mu.Lock()
	e.splitOK = v
	e.mu.Unlock()
}

// partitionOf returns a label of node i's partition (for the sampler).
func (e *env) partitionOf(i int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isolated[i] {
		return i + 1
	}
	return 0
}

// startNode boots node i (PowerOn: extra addresses flushed, bridge port
// up, systoled started). Its logs are scanned first: a boot empties them.
func (e *env) startNode(i int) error {
	e.scanLogs(i)
	e.restartsOK[i] = true
	e.setIsolated(i, false)
	if err := e.c.Heal(i); err != nil {
		return err
	}
	if err := e.c.PowerOn(i); err != nil {
		return err
	}
	e.setAlive(i, true)
	return nil
}

// stopNode stops node i cleanly and checks that it left nothing active.
func (e *env) stopNode(i int) error {
	e.restartsOK[i] = true
	err := e.stopRaw(i)
	e.checkLeftNothing([]int{i})
	return err
}

// stopRaw stops node i cleanly (safe to call for many nodes at once,
// after marking them in restartsOK).
func (e *env) stopRaw(i int) error {
	err := e.c.StopNode(i, 60*time.Second)
	e.setAlive(i, false)
	return err
}

// killNode powers node i off (bridge port down, SIGKILL to everything).
func (e *env) killNode(i int) error {
	e.restartsOK[i] = true
	e.setAlive(i, false)
	return e.c.PowerOff(i)
}

// startAll boots every node that does not run, all at once.
func (e *env) startAll() error {
	for i := range e.c.Nodes {
		if !e.running(i) {
			if err := e.startNode(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// status asks node i's crmd for its view, quorum and DC.
func (e *env) status(i int) (*crmv1.GetStatusResponse, error) {
	src, err := source.Open(client.Config{Socket: e.c.Nodes[i].CIBSocket()})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return src.CRM.GetStatus(ctx, &crmv1.GetStatusRequest{})
}

// tool runs a CLI against node i; a quick failure (no DC yet, a DC
// change) is retried a few times, as an operator would.
func (e *env) tool(i int, name string, args ...string) (string, error) {
	var out string
	var err error
	for try := 0; try < 8; try++ {
		t0 := time.Now()
		if out, err = e.c.Tool(i, name, args...); err == nil || time.Since(t0) > 10*time.Second {
			return out, err
		}
		time.Sleep(time.Second)
	}
	return out, err
}

// quorateNode returns a running node of the quorate partition, or -1.
func (e *env) quorateNode() int {
	for _, p := range e.partitions() {
		if e.quorate(len(p)) {
			return p[0]
		}
	}
	return -1
}

// write makes one CIB write of the suite's own through node i and
// remembers it when acknowledged.
func (e *env) write(i int, tag string) {
	e.writes++
	id := fmt.Sprintf("cts-w%d", e.writes)
	x := fmt.Sprintf(`<cluster_property_set id="%s"><nvpair id="%s-v" name="%s" value="%s"/></cluster_property_set>`, id, id, id, tag)
	if _, err := e.c.Cibadmin(i, "-C", "-o", "crm_config", "-X", x); err != nil {
		e.log.Info("write not acknowledged", "id", id, "node", e.name(i), "err", err)
		return
	}
	e.acked = append(e.acked, id)
}

// scanLogs looks for panics in node i's logs (from where the last scan
// ended).
func (e *env) scanLogs(i int) {
	nd := e.c.Nodes[i]
	files, _ := filepath.Glob(filepath.Join(nd.RunDir(), "logs", "*.log"))
	files = append(files, filepath.Join(nd.Dir, "systoled.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		off := e.logOffsets[f]
		if off > int64(len(b)) { // a new file after a boot
			off = 0
		}
		e.logOffsets[f] = int64(len(b))
		for _, line := range strings.Split(string(b[off:]), "\n") {
			if strings.Contains(line, "panic:") || strings.Contains(line, "fatal error:") {
				e.violate("crash", "crash on %s in %s: %s", nd.Name, filepath.Base(f), strings.TrimSpace(line))
			}
		}
	}
}

// checkRestarts compares the daemons' restart counters with the last
// snapshot; an increase on a node the step did not touch is a crash.
func (e *env) checkRestarts() {
	for i := range e.c.Nodes {
		st, err := e.c.NodeStatus(i)
		now := map[string]int{}
		if err == nil && e.running(i) {
			for _, d := range st.Daemons {
				now[d.Name] = d.Restarts
			}
		}
		if !e.restartsOK[i] && e.running(i) {
			var names []string
			for n, k := range now {
				if k > e.restarts[i][n] {
					names = append(names, fmt.Sprintf("%s (%d->%d)", n, e.restarts[i][n], k))
				}
			}
			sort.Strings(names)
			if len(names) > 0 {
				e.violate("restart", "unexpected daemon restarts on %s: %s", e.name(i), strings.Join(names, ", "))
			}
		}
		e.restarts[i] = now
	}
}

// hasIn reports whether x is in s.
func hasIn(s []int, x int) bool { return slices.Contains(s, x) }
