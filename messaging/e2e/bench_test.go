package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// TestBenchMessaging measures real messagingd processes in namespaces with
// the default timers: throughput and one-way latency between two nodes
// for small and 1 MiB messages, idle CPU with 16 peers, and failure
// detection time over repeated kills. It prints one line per figure,
// ending with `detect_ms p50=X p95=Y n=N`. Run by `make bench-messaging`.
func TestBenchMessaging(t *testing.T) {
	if os.Getenv("SYSTOLE_BENCH") == "" {
		t.Skip("set SYSTOLE_BENCH=1 (make bench-messaging)")
	}
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("SYSTOLE_BENCH_KILLS")); err == nil {
		kills = v
	}
	var lines []string
	out := func(format string, a ...any) {
		l := fmt.Sprintf(format, a...)
		lines = append(lines, l)
		t.Log(l)
	}
	t.Cleanup(func() {
		for _, l := range lines {
			fmt.Println(l)
		}
	})

	parts := os.Getenv("SYSTOLE_BENCH_PARTS") // comma list of tput,idle,detect; default all
	want := func(p string) bool { return parts == "" || strings.Contains(parts, p) }

	c := newCluster(t, 3)
	for i := range c.members {
		c.start(i)
	}
	c.waitUp([]int{0, 1, 2}, []int{0, 1, 2}, 10*time.Second)
	a, b := c.members[0], c.members[1]

	for _, size := range []int{64, 1 << 20} {
		if !want("tput") {
			break
		}
		count, lat := 20000, 2000
		if size > 1<<10 {
			count, lat = 200, 50
		}
		mps, mbps := throughput(t, a, b, size, count)
		label := fmt.Sprintf("%dB", size)
		if size == 1<<20 {
			label = "1MiB"
		}
		out("throughput size=%s msgs_per_s=%.0f mbytes_per_s=%.1f n=%d", label, mps, mbps, count)
		p50, p95 := latency(t, a, b, size, lat)
		out("latency size=%s p50_us=%d p95_us=%d n=%d", label, p50.Microseconds(), p95.Microseconds(), lat)
		for _, m := range []*member{a, b} {
			st, err := m.c.Stats(context.Background())
			must(t, err)
			t.Logf("%s stats: %v", m.name, st)
		}
	}

	if os.Getenv("SYSTOLE_E2E_CPUPROFILE_node0") != "" { // profiles are written at a clean exit
		must(t, a.proc.Stop(5*time.Second))
		must(t, b.proc.Stop(5*time.Second))
		return
	}
	if want("idle") {
		idle := idleCPU(t, 16, 10*time.Second)
		out("idle_cpu peers=16 per_daemon_pct=%.2f total_pct=%.1f over=10s", idle, idle*16)
	}
	if !want("detect") {
		kills = 0
	}

	var det []time.Duration
	for k := range kills {
		victim := 2
		d0 := watchDead(t, c.members[0], c.names[victim])
		d1 := watchDead(t, c.members[1], c.names[victim])
		time.Sleep(time.Duration(k%10) * keepalive / 10) // spread kills over the heartbeat phase
		killed := time.Now()
		c.members[victim].proc.Kill()
		for _, ch := range []<-chan time.Time{d0, d1} {
			select {
			case at := <-ch:
				det = append(det, at.Sub(killed))
			case <-time.After(5 * time.Second):
				t.Fatalf("kill %d: death never reported", k)
			}
		}
		c.start(victim)
		c.waitUp([]int{0, 1, 2}, []int{0, 1, 2}, 10*time.Second)
	}
	if kills == 0 {
		return
	}
	p50, p95 := percentiles(det)
	out("detect_ms p50=%d p95=%d n=%d", p50.Milliseconds(), p95.Milliseconds(), len(det))
}

// throughput sends count messages of size from a to b with 8 concurrent
// senders and returns messages and megabytes per second until b's
// subscriber has them all.
func throughput(t *testing.T, a, b *member, size, count int) (float64, float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ch := fmt.Sprintf("tput-%d", size)
	sub, err := b.c.Subscribe(ctx, ch)
	must(t, err)
	payload := bytes.Repeat([]byte{0x5a}, size)
	start := time.Now()
	var wg sync.WaitGroup
	senders := 8
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < count; i += senders {
				for {
					err := a.c.Send(ctx, b.name, ch, payload)
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						return
					}
					time.Sleep(time.Millisecond) // flow control: RESOURCE_EXHAUSTED
				}
			}
		}()
	}
	for range count {
		if _, err := sub.Recv(); err != nil {
			t.Fatalf("throughput: %v", err)
		}
	}
	el := time.Since(start).Seconds()
	wg.Wait()
	return float64(count) / el, float64(count*size) / el / 1e6
}

// latency measures one-way delivery time (client Send at a to subscriber
// Recv at b, same clock) for sequential messages.
func latency(t *testing.T, a, b *member, size, count int) (time.Duration, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ch := fmt.Sprintf("lat-%d", size)
	sub, err := b.c.Subscribe(ctx, ch)
	must(t, err)
	payload := make([]byte, max(size, 8))
	var ds []time.Duration
	for i := range count {
		binary.BigEndian.PutUint64(payload, uint64(i))
		start := time.Now()
		must(t, a.c.Send(ctx, b.name, ch, payload))
		m, err := sub.Recv()
		must(t, err)
		if binary.BigEndian.Uint64(m.GetPayload()) != uint64(i) {
			t.Fatalf("latency: out of order")
		}
		ds = append(ds, time.Since(start))
	}
	return percentiles(ds)
}

func percentiles(ds []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0
	}
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*95/100)]
}

// idleCPU starts n daemons, waits until all see each other, then returns
// the mean CPU percentage of one daemon over the window.
func idleCPU(t *testing.T, n int, window time.Duration) float64 {
	c := newCluster(t, n)
	for i := range c.members {
		c.start(i)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	c.waitUp(all, all, 20*time.Second)
	time.Sleep(time.Second)
	cpu := func() float64 {
		var sum float64
		for _, m := range c.members {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.proc.Cmd.Process.Pid))
			must(t, err)
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			ut, _ := strconv.ParseFloat(f[11], 64)
			st, _ := strconv.ParseFloat(f[12], 64)
			sum += ut + st
		}
		return sum / 100 // clock ticks (USER_HZ=100) to seconds
	}
	before := cpu()
	time.Sleep(window)
	used := cpu() - before

	for _, m := range c.members {
		for _, name := range c.names {
			if name != m.name && m.peer(name).GetState() != messagingv1.PeerState_PEER_STATE_UP {
				t.Fatalf("%s lost %s during the idle window", m.name, name)
			}
		}
	}
	return used / window.Seconds() / float64(n) * 100
}
