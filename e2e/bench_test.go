package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/systole/systole/internal/lab"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
)

func benchOnly(t *testing.T) {
	if os.Getenv("SYSTOLE_BENCH") == "" {
		t.Skip("benchmark: SYSTOLE_BENCH=1 (make bench-failover)")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// logEvent is the first line of a daemon log at or after t that contains
// every one of subs.
func logEvent(path string, t time.Time, subs ...string) (time.Time, string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
next:
	for sc.Scan() {
		line := sc.Text()
		ts, ok := logTime(line)
		if !ok || ts.Before(t) {
			continue
		}
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		return ts, line, true
	}
	return time.Time{}, "", false
}

func logPath(c *lab.Cluster, i int, daemon string) string {
	return filepath.Join(c.Nodes[i].RunDir(), "logs", daemon+".log")
}

// kill is one measured failover.
type kill struct {
	failover time.Duration // power off -> first echo reply from the VIP
	view     time.Duration // power off -> first survivor installs the view without the node
	viewVIP  time.Duration // that view -> VIP answers
	steps    string        // breakdown from the logs
}

// measureKill powers node k off (it runs the group; dc is the DC) and
// measures until the VIP answers, then reads the survivors' logs.
func measureKill(t *testing.T, c *lab.Cluster, p *lab.Pinger, k, dc int) kill {
	t.Helper()
	dead := c.Nodes[k].Name
	t0 := time.Now()
	if err := c.PowerOff(k); err != nil {
		t.Fatal(err)
	}
	r, ok := p.FirstReply(t0, 30*time.Second)
	if !ok {
		t.Fatalf("the VIP does not answer within 30 s after %s's power-off", dead)
	}
	m := groupOn(t, c, "gd", func(i int) bool { return i != k })
	var res kill
	res.failover = r.Received.Sub(t0)
	// the first survivor's membershipd to install a view without dead
	var view time.Time
	for _, s := range alive(c) {
		ts, line, ok := logEvent(logPath(c, s, "membershipd"), t0, `msg="view installed"`)
		for ok && strings.Contains(line, dead) {
			ts, line, ok = logEvent(logPath(c, s, "membershipd"), ts.Add(time.Nanosecond), `msg="view installed"`)
		}
		if ok && (view.IsZero() || ts.Before(view)) {
			view = ts
		}
	}
	if view.IsZero() {
		t.Errorf("no survivor logged a view without %s", dead)
		return res
	}
	res.view = view.Sub(t0)
	// the first survivor's messagingd to declare the node dead
	var deadAt time.Time
	for _, s := range alive(c) {
		if ts, _, ok := logEvent(logPath(c, s, "messagingd"), t0, `msg="peer status"`, "peer="+dead+" ", "state=dead"); ok && (deadAt.IsZero() || ts.Before(deadAt)) {
			deadAt = ts
		}
	}
	res.viewVIP = r.Received.Sub(view)
	// the new DC (the old one when it survived)
	d := dc
	if dc == k {
		waitFor(t, "a new DC", dcTimeout, func() (bool, string) {
			d = dcIndex(c)
			return d >= 0 && d != k, "no new DC"
		})
	}
	ms := func(ts time.Time, ok bool) string {
		if !ok {
			return "-"
		}
		return strconv.FormatInt(ts.Sub(view).Milliseconds(), 10)
	}
	crmdView, _, ok1 := logEvent(logPath(c, d, "crmd"), t0, "msg=view ")
	elected, _, ok2 := logEvent(logPath(c, d, "crmd"), t0, `msg=DC `, "self=true")
	trans, _, ok3 := logEvent(logPath(c, d, "crmd"), t0, `msg="transition started"`)
	dispatch, _, ok4 := logEvent(logPath(c, m, "crmd"), t0, `msg="executing action"`, "op=g-ip_start_0")
	ipDone, _, ok5 := logEvent(logPath(c, m, "lrmd"), t0, `msg="op result"`, "op=g-ip_start_0")
	dDone, _, ok6 := logEvent(logPath(c, m, "lrmd"), t0, `msg="op result"`, "op=gd_start_0")
	elect := ms(elected, ok2)
	deadMs := "-"
	if !deadAt.IsZero() {
		deadMs = strconv.FormatInt(deadAt.Sub(t0).Milliseconds(), 10)
	}
	res.steps = fmt.Sprintf("messaging_dead=%s view=%d ms after power-off; then (ms): crmd_view=%s dc_elected=%s transition_started=%s ip_start_dispatched=%s vip_answers=%d ip_start_done=%s dummy_start_done=%s",
		deadMs, res.view.Milliseconds(), ms(crmdView, ok1), elect, ms(trans, ok3), ms(dispatch, ok4), res.viewVIP.Milliseconds(), ms(ipDone, ok5), ms(dDone, ok6))
	if os.Getenv("BENCH_TRACE") != "" {
		trace(c, t0, r.Received.Add(200*time.Millisecond))
	}
	return res
}

// trace prints the survivors' daemon log lines between from and to, merged
// in time order (recurring monitor results left out).
func trace(c *lab.Cluster, from, to time.Time) {
	type ev struct {
		ts   time.Time
		line string
	}
	var evs []ev
	for _, i := range alive(c) {
		logs, _ := filepath.Glob(filepath.Join(c.Nodes[i].RunDir(), "logs", "*.log"))
		for _, f := range logs {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				ts, ok := logTime(line)
				if !ok || ts.Before(from) || ts.After(to) || strings.Contains(line, "_monitor_1000 call=") {
					continue
				}
				evs = append(evs, ev{ts, fmt.Sprintf("%s %-11s %s", c.Nodes[i].Name, strings.TrimSuffix(filepath.Base(f), ".log"), line)})
			}
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].ts.Before(evs[b].ts) })
	for _, e := range evs {
		fmt.Printf("trace +%4dms %s\n", e.ts.Sub(from).Milliseconds(), e.line)
	}
}

// placeGroup makes the group prefer node k and waits until it runs there
// and the cluster is idle.
func placeGroup(t *testing.T, c *lab.Cluster, p *lab.Pinger, k int) {
	t.Helper()
	tool(t, c, anyAlive(c), "cibadmin", "-M", "-c", "-o", "constraints", "-X",
		fmt.Sprintf(`<rsc_location id="g-loc" rsc="g" node="%s" score="1000"/>`, c.Nodes[k].Name))
	groupOn(t, c, "gd", func(i int) bool { return i == k })
	settle(t, c)
	if _, ok := p.FirstReply(time.Now(), 20*time.Second); !ok {
		t.Fatalf("the VIP on %s does not answer", c.Nodes[k].Name)
	}
}

// powerOn boots node k and waits until it is online in the DC's status.
func powerOn(t *testing.T, c *lab.Cluster, k int) {
	t.Helper()
	if err := c.PowerOn(k); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c.Nodes[k].Name+" online", dcTimeout, func() (bool, string) {
		d := dcIndex(c)
		if d < 0 {
			return false, "no agreed DC"
		}
		x, err := c.Query(d)
		if err != nil {
			return false, err.Error()
		}
		ns := nodeState(x, c.Nodes[k].Name)
		return ns != nil && ns.SelectAttrValue("crmd", "") == "online", "not online"
	})
	settle(t, c)
}

// TestBenchFailover (SYSTOLE_BENCH=1; make bench-failover): KILLS power-offs
// (default 10) of the node running a group of IPaddr + Dummy while another
// node is DC, and KILLS of the DC running it; the node is booted again
// between kills. Prints failover_ms and view_to_vip_ms per case and overall.
func TestBenchFailover(t *testing.T) {
	benchOnly(t)
	kills := envInt("KILLS", 10)
	c := newCluster(t)
	p := addWatcher(t, c)
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", groupXML("g", "gd"))
	groupOn(t, c, "gd", nil)
	var all []kill
	for _, cs := range []string{"rsc", "dc"} {
		var got []kill
		for n := range kills {
			d := -1
			waitFor(t, "an agreed DC", dcTimeout, func() (bool, string) { d = dcIndex(c); return d >= 0, "none" })
			k := d
			if cs == "rsc" {
				k = (d + 1 + n%2) % len(c.Nodes)
			}
			placeGroup(t, c, p, k)
			p.Reset()
			r := measureKill(t, c, p, k, d)
			fmt.Printf("kill case=%s n=%d node=%s failover_ms=%d %s\n", cs, n, c.Nodes[k].Name, r.failover.Milliseconds(), r.steps)
			got = append(got, r)
			powerOn(t, c, k)
		}
		report(cs, got)
		all = append(all, got...)
	}
	report("all", all)
	benchCompute(t, c)
}

// benchCompute times PEngineService.Compute on the DC's CIB through the
// DC's pengine socket (what crmd does at every computation).
func benchCompute(t *testing.T, c *lab.Cluster) {
	d := dcIndex(c)
	if d < 0 {
		t.Fatal("no DC")
	}
	x := query(t, c, d)
	doc := etree.NewDocument()
	doc.SetRoot(x.Copy())
	data, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("unix://"+filepath.Join(c.Nodes[d].RunDir(), "pengine.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pe := penginev1.NewPEngineServiceClient(conn)
	var ds []time.Duration
	for i := range 21 {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := pe.Compute(ctx, &penginev1.ComputeRequest{CibXml: data, NowUnix: time.Now().Unix(), TransitionId: int64(1000 + i)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 { // the first includes the connection
			ds = append(ds, time.Since(t0))
		}
	}
	fmt.Printf("pengine_compute_ms cib_bytes=%d p50=%.1f p95=%.1f n=%d\n", len(data),
		float64(pct(ds, 50).Microseconds())/1000, float64(pct(ds, 95).Microseconds())/1000, len(ds))
}

func report(cs string, ks []kill) {
	var f, v []time.Duration
	for _, k := range ks {
		f = append(f, k.failover)
		v = append(v, k.viewVIP)
	}
	fmt.Printf("failover_ms case=%s p50=%d p95=%d n=%d\n", cs, pct(f, 50).Milliseconds(), pct(f, 95).Milliseconds(), len(f))
	fmt.Printf("view_to_vip_ms case=%s p50=%d p95=%d n=%d\n", cs, pct(v, 50).Milliseconds(), pct(v, 95).Milliseconds(), len(v))
}

// TestBenchMonitorFailure (SYSTOLE_BENCH=1): a Dummy with a 1 s monitor
// loses its state file RUNS times (default 10); prints the time from the
// removal to the state file being back (the agent's start after the
// failed monitor, stop and the new transition).
func TestBenchMonitorFailure(t *testing.T) {
	benchOnly(t)
	runs := envInt("RUNS", 10)
	c := newCluster(t)
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", dummyXML("m1", nil, "", "1s"))
	n := runsOnOne(t, c, "m1", nil)
	var ds []time.Duration
	for r := range runs {
		settle(t, c)
		// a random phase against the monitor's period
		time.Sleep(time.Duration(r*97%1000) * time.Millisecond)
		t0 := time.Now()
		if err := c.FailResource(n, "m1"); err != nil {
			t.Fatal(err)
		}
		deadline := t0.Add(30 * time.Second)
		for {
			if st, err := os.Stat(statePath(c, n, "m1")); err == nil && st.ModTime().After(t0) {
				ds = append(ds, st.ModTime().Sub(t0))
				break
			}
			if len(running(c, "m1")) > 0 && !slices1(running(c, "m1"), n) {
				t.Fatalf("m1 moved to %v", names(c, running(c, "m1")))
			}
			if time.Now().After(deadline) {
				t.Fatalf("m1 not restarted within 30 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Printf("monitor_failure run=%d restarted_ms=%d\n", r, ds[len(ds)-1].Milliseconds())
	}
	fmt.Printf("monitor_failure_restart_ms p50=%d p95=%d n=%d\n", pct(ds, 50).Milliseconds(), pct(ds, 95).Milliseconds(), len(ds))
}

func slices1(s []int, v int) bool { return len(s) == 1 && s[0] == v }

// TestBenchIdleSoak (SYSTOLE_BENCH=1, SOAK=10m by default; make
// soak-idle): three idle nodes running the group while every CPU of the
// machine is kept busy by spinning goroutines of the test; prints the number
// of views installed, DC elections and resource operations other than
// recurring monitors during the soak (goal: 0 view changes).
func TestBenchIdleSoak(t *testing.T) {
	benchOnly(t)
	d := 10 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("SOAK")); err == nil && v > 0 {
		d = v
	}
	c := newCluster(t)
	tool(t, c, 0, "cibadmin", "-C", "-o", "resources", "-X", groupXML("g", "gd"))
	groupOn(t, c, "gd", nil)
	settle(t, c)
	time.Sleep(2 * time.Second)
	stop := make(chan struct{})
	var spin sync.WaitGroup
	spinners := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("SOAK_SPIN")); err == nil && v >= 0 {
		spinners = v // 0: rely on the machine's own load
	}
	load0 := loadavg()
	for range spinners {
		spin.Add(1)
		go func() {
			defer spin.Done()
			// nice 19: the load is there (the daemons compete with it)
			// without starving other work on a shared machine;
			// messagingd and membershipd run SCHED_RR above any nice level
			runtime.LockOSThread()
			_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 1e6; i++ {
					x += i
				}
			}
		}()
	}
	t0 := time.Now()
	time.Sleep(d)
	close(stop)
	_ = spinners
	spin.Wait()
	t1 := time.Now()
	count := func(daemon string, subs ...string) int {
		n := 0
		for i := range c.Nodes {
			from := t0
			for {
				ts, _, ok := logEvent(logPath(c, i, daemon), from, subs...)
				if !ok || ts.After(t1) {
					break
				}
				n++
				from = ts.Add(time.Nanosecond)
			}
		}
		return n
	}
	views := count("membershipd", `msg="view installed"`)
	elections := count("crmd", `msg="dc elected"`)
	late := count("messagingd", `msg="late heartbeat"`)
	starts := count("lrmd", `msg="op result"`, "_start_0")
	stops := count("lrmd", `msg="op result"`, "_stop_0")
	fmt.Printf("idle_soak duration=%v spinners=%d cpus=%d loadavg_start=%s loadavg_end=%s views_installed=%d dc_elections=%d late_heartbeats=%d starts=%d stops=%d (sums over the 3 nodes)\n",
		d, spinners, runtime.NumCPU(), load0, loadavg(), views, elections, late, starts, stops)
}

// loadavg is the 1-minute load average.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
