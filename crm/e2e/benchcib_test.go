package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/systole/systole/cib"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// TestBenchCIB is make bench-cib (root, SYSTOLE_BENCH=1): three real
// nodes (messagingd, membershipd, crmd) in network namespaces, and three
// measurements, printed last as
//
//		cib_writes_per_s=X replication_ms_p50=Y dc_failover_ms=Z
//
//	  - X: CIB_WRITES (default 1000) sequential creates, each one run of the
//	    real cibadmin binary (a new process per write, as a user or a script
//	    does) against a replica's crmd; each returns only when the DC and
//	    both replicas persisted it (fsync).
//	  - Y: the median time from a client starting a write on replica A
//	    (gRPC, as cibadmin does without the process start) to the new
//	    version arriving on replica B's CIB Watch stream (A -> DC -> B), over
//	    the same number of writes.
//	  - Z: DC_KILLS (default 5) times, the DC's whole stack is killed
//	    (SIGKILL of messagingd, membershipd and crmd): the time from the
//	    kill until both survivors' CIBs name the same new DC (dc-uuid, which
//	    the new DC writes when its join is done, so it then takes writes),
//	    averaged. It is dominated by the membership deadtime (500 ms here).
//	    The killed node is restarted and synced before the next kill.
//
// All three nodes share the machine's disk and its 2 cores.
func TestBenchCIB(t *testing.T) {
	if os.Getenv("SYSTOLE_BENCH") == "" {
		t.Skip("benchmark; run with SYSTOLE_BENCH=1 (make bench-cib)")
	}
	writes := envInt(t, "CIB_WRITES", 1000)
	kills := envInt(t, "DC_KILLS", 5)
	ms := startCluster(t, 3)
	dc := waitDC(t, ms, 30*time.Second)
	var reps []*member
	for _, m := range ms {
		if m.name != dc {
			reps = append(reps, m)
		}
	}
	a, b := reps[0], reps[1]
	t.Logf("DC %s; writing on %s, watching %s", dc, a.name, b.name)

	// the floor of X: starting the cibadmin process alone (--help)
	start := time.Now()
	for range 50 {
		if out, err := exec.Command(cibadminBin, "--help").CombinedOutput(); err != nil {
			t.Fatalf("cibadmin --help: %v\n%s", err, out)
		}
	}
	floor := time.Since(start) / 50
	t.Logf("cibadmin --help (process start, no CIB access): %.2f ms each, so at most %.0f writes/s with one process per write", ms3(floor), 1/floor.Seconds())

	// X: sequential cibadmin processes
	start = time.Now()
	for i := range writes {
		x := fmt.Sprintf(`<primitive id="c%d" class="ocf" provider="heartbeat" type="Dummy"/>`, i)
		cmd := exec.Command(cibadminBin, "-C", "-o", "resources", "-X", x)
		cmd.Env = append(os.Environ(), "CIB_socket="+a.socket(), "CIB_file=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cibadmin -C #%d on %s: %v\n%s", i, a.name, err, out)
		}
	}
	el := time.Since(start)
	perS := float64(writes) / el.Seconds()
	t.Logf("cibadmin: %d sequential writes on %s in %v: %.0f writes/s, %.2f ms each", writes, a.name, el.Round(time.Millisecond), perS,
		float64(el.Microseconds())/1000/float64(writes))

	// Y: write on a, seen on b's watch stream
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[[3]int64]time.Time{}
	arrived := make(chan struct{}, 1)
	ready := make(chan struct{})
	go func() {
		first := true
		_ = b.cib.Watch(ctx, true, func(ev *cibv1.WatchEvent) error {
			now := time.Now()
			if first {
				first = false
				close(ready)
			}
			v := ev.GetVersion()
			mu.Lock()
			seen[[3]int64{v.GetAdminEpoch(), v.GetEpoch(), v.GetNumUpdates()}] = now
			mu.Unlock()
			select {
			case arrived <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("no watch stream on %s", b.name)
	}
	repl := make([]time.Duration, 0, writes)
	ack := make([]time.Duration, 0, writes)
	start = time.Now()
	for i := range writes {
		x := fmt.Sprintf(`<primitive id="r%d" class="ocf" provider="heartbeat" type="Dummy"/>`, i)
		t0 := time.Now()
		res, err := a.cib.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(x)})
		if err != nil {
			t.Fatalf("write #%d on %s: %v", i, a.name, err)
		}
		ack = append(ack, time.Since(t0))
		key := [3]int64{res.Version.AdminEpoch, res.Version.Epoch, res.Version.NumUpdates}
		deadline := time.After(10 * time.Second)
		for {
			mu.Lock()
			at, ok := seen[key]
			mu.Unlock()
			if ok {
				repl = append(repl, at.Sub(t0))
				break
			}
			select {
			case <-arrived:
			case <-deadline:
				t.Fatalf("version %s of write #%d never arrived on %s's watch stream", res.Version, i, b.name)
			}
		}
	}
	el = time.Since(start)
	cancel()
	slices.Sort(repl)
	slices.Sort(ack)
	p50 := ms3(repl[len(repl)/2])
	t.Logf("gRPC: %d sequential writes on %s: %.0f writes/s; acknowledged p50 %.2f ms p99 %.2f ms; visible on %s p50 %.2f ms p99 %.2f ms",
		writes, a.name, float64(writes)/el.Seconds(), ms3(ack[len(ack)/2]), ms3(ack[len(ack)*99/100]), b.name, p50, ms3(repl[len(repl)*99/100]))

	// Z: DC failover
	var fails []time.Duration
	for k := range kills {
		dc := waitDC(t, ms, 30*time.Second)
		var old *member
		var rest []*member
		for _, m := range ms {
			if m.name == dc {
				old = m
			} else {
				rest = append(rest, m)
			}
		}
		wctx, wcancel := context.WithCancel(context.Background())
		poke := make(chan struct{}, 1)
		var wg sync.WaitGroup
		for _, m := range rest {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = m.cib.Watch(wctx, false, func(*cibv1.WatchEvent) error {
					select {
					case poke <- struct{}{}:
					default:
					}
					return nil
				})
			}()
		}
		time.Sleep(200 * time.Millisecond) // let the streams open
		t0 := time.Now()
		old.killStack()
		var dc2 string
		deadline := time.After(30 * time.Second)
		for dc2 == "" {
			if d := agreedDC(rest); d != "" && d != dc {
				dc2 = d
				break
			}
			select {
			case <-poke:
			case <-time.After(20 * time.Millisecond):
			case <-deadline:
				t.Fatalf("kill %d: no new DC among %s and %s within 30 s", k+1, rest[0].name, rest[1].name)
			}
		}
		d := time.Since(t0)
		wcancel()
		wg.Wait()
		fails = append(fails, d)
		t.Logf("kill %d: DC %s killed; %s is DC on both survivors after %.0f ms", k+1, dc, dc2, ms3(d))
		old.startStack()
		waitFor(t, 60*time.Second, "the killed node to rejoin and sync", func() bool {
			if agreedDC(ms) == "" {
				return false
			}
			v := version(old)
			return v != (cib.Version{}) && v == version(rest[0]) && v == version(rest[1])
		})
	}
	var sum time.Duration
	for _, d := range fails {
		sum += d
	}
	avg := 0.0
	if len(fails) > 0 {
		avg = ms3(sum / time.Duration(len(fails)))
	}
	fmt.Printf("cib_writes_per_s=%.0f replication_ms_p50=%.2f dc_failover_ms=%.0f\n", perS, p50, avg)
}

func ms3(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func version(m *member) cib.Version {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, v, err := m.cib.Query(ctx, cib.Request{Op: cib.OpQuery, XPath: "/cib/configuration/crm_config"})
	if err != nil {
		return cib.Version{}
	}
	return v
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}
