package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// world is a virtual-clock stand-in for the processes: spawns succeed and
// answer at once unless told otherwise, SIGTERM ends a process unless it
// is deaf, SIGKILL always does.
type world struct {
	t       *testing.T
	s       *Supervisor
	now     time.Time
	pid     int
	trace   []string
	silent  map[string]bool // socket never answers
	deaf    map[string]bool // ignores SIGTERM
	noexec  map[string]bool // spawn fails
	running map[string]int
	done    bool
	err     error
}

func newWorld(t *testing.T, cfg Config) *world {
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, s: s, now: time.Unix(1000, 0), silent: map[string]bool{}, deaf: map[string]bool{},
		noexec: map[string]bool{}, running: map[string]int{}}
}

func (w *world) at() string { return fmt.Sprintf("%dms", w.now.Sub(time.Unix(1000, 0)).Milliseconds()) }

// drain handles Ready until nothing is left.
func (w *world) drain() {
	for range 1000 {
		r := w.s.Ready()
		if r.Done {
			w.done, w.err = true, r.Err
		}
		if len(r.Actions) == 0 {
			return
		}
		for _, a := range r.Actions {
			w.trace = append(w.trace, w.at()+" "+a.Kind.String()+" "+a.Daemon)
			switch a.Kind {
			case Spawn:
				if w.noexec[a.Daemon] {
					w.s.SpawnFailed(w.now, a.Daemon, errors.New("no such file"))
					continue
				}
				w.pid++
				w.running[a.Daemon] = w.pid
				w.s.Spawned(w.now, a.Daemon, w.pid)
				if !w.silent[a.Daemon] {
					w.s.Answered(w.now, a.Daemon)
				}
			case Term:
				if !w.deaf[a.Daemon] {
					delete(w.running, a.Daemon)
					w.s.Exited(w.now, a.Daemon)
				}
			case Kill:
				delete(w.running, a.Daemon)
				w.s.Exited(w.now, a.Daemon)
			}
		}
	}
	w.t.Fatal("no quiescence")
}

// run advances the virtual clock by d in 10 ms ticks.
func (w *world) run(d time.Duration) {
	for end := w.now.Add(d); w.now.Before(end); {
		w.now = w.now.Add(10 * time.Millisecond)
		w.s.Tick(w.now)
		w.drain()
	}
}

func (w *world) crash(name string) {
	w.trace = append(w.trace, w.at()+" crash "+name)
	delete(w.running, name)
	w.s.Exited(w.now, name)
	w.drain()
}

func (w *world) check(want ...string) {
	w.t.Helper()
	got := strings.Join(w.trace, "\n")
	if exp := strings.Join(want, "\n"); got != exp {
		w.t.Fatalf("trace:\n%s\nwant:\n%s", got, exp)
	}
	w.trace = nil
}

func small() Config {
	c := DefaultConfig()
	c.Daemons = []Daemon{{"a", RestartStack}, {"b", RestartStack}, {"p", RestartAlone}, {"c", RestartStack}}
	c.Window = time.Minute
	c.MaxCrashes = 3
	c.StopGrace = time.Second
	c.StartTimeout = 2 * time.Second
	c.RejoinDelay = 500 * time.Millisecond
	return c
}

func start(t *testing.T) *world {
	w := newWorld(t, small())
	w.s.Start(w.now)
	w.drain()
	w.check("0ms spawn a", "0ms spawn b", "0ms spawn p", "0ms spawn c")
	if w.s.Phase() != PhaseRunning {
		t.Fatalf("phase %v", w.s.Phase())
	}
	return w
}

func TestStartInOrderWaitsForSockets(t *testing.T) {
	w := newWorld(t, small())
	w.silent["a"] = true
	w.s.Start(w.now)
	w.drain()
	w.run(100 * time.Millisecond)
	w.check("0ms spawn a") // b waits for a's socket
	w.s.Answered(w.now, "a")
	w.drain()
	w.check("100ms spawn b", "100ms spawn p", "100ms spawn c")
	if w.s.Phase() != PhaseRunning {
		t.Fatalf("phase %v", w.s.Phase())
	}
}

func TestStopInReverseWithGrace(t *testing.T) {
	w := start(t)
	w.deaf["p"] = true
	w.s.Stop(w.now)
	w.drain()
	w.run(1500 * time.Millisecond)
	w.check("0ms term c", "0ms term p", "1000ms kill p", "1000ms term b", "1000ms term a")
	if !w.done || w.err != nil || w.s.Phase() != PhaseStopped || len(w.running) != 0 {
		t.Fatalf("done %v err %v phase %v running %v", w.done, w.err, w.s.Phase(), w.running)
	}
}

func TestAloneCrashRestartsOnlyItWithBackoff(t *testing.T) {
	w := start(t)
	w.crash("p")
	w.run(300 * time.Millisecond)
	w.crash("p")
	w.run(300 * time.Millisecond)
	w.check("0ms crash p", "100ms spawn p", "300ms crash p", "500ms spawn p")
	st := w.s.Status()
	if st[2].Restarts != 2 || st[2].State != Up || st[0].Restarts != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestStackCrashRestartsEverythingInOrder(t *testing.T) {
	w := start(t)
	w.crash("b")
	w.run(700 * time.Millisecond)
	// c, p stop in reverse, a too; a is started again after RejoinDelay
	w.check("0ms crash b", "0ms term c", "0ms term p", "0ms term a",
		"500ms spawn a", "500ms spawn b", "500ms spawn p", "500ms spawn c")
	if w.s.Phase() != PhaseRunning {
		t.Fatalf("phase %v", w.s.Phase())
	}
}

// TestDefaultStack: Systole's own stack. stonithd starts after crmd (it
// reads crmd's CIB) and a stonithd crash restarts it alone; a crmd crash
// stops stonithd first and starts it last again.
func TestDefaultStack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RejoinDelay = 500 * time.Millisecond
	w := newWorld(t, cfg)
	w.s.Start(w.now)
	w.drain()
	w.check("0ms spawn messagingd", "0ms spawn membershipd", "0ms spawn lrmd", "0ms spawn pengine", "0ms spawn tengine",
		"0ms spawn crmd", "0ms spawn stonithd")
	w.crash("stonithd")
	w.run(200 * time.Millisecond)
	w.check("0ms crash stonithd", "100ms spawn stonithd")
	w.crash("crmd")
	w.run(700 * time.Millisecond)
	w.check("200ms crash crmd", "200ms term stonithd", "200ms term tengine", "200ms term pengine", "200ms term lrmd",
		"200ms term membershipd", "200ms term messagingd",
		"700ms spawn messagingd", "700ms spawn membershipd", "700ms spawn lrmd", "700ms spawn pengine", "700ms spawn tengine",
		"700ms spawn crmd", "700ms spawn stonithd")
}

func TestGiveUpAfterTooManyCrashes(t *testing.T) {
	w := start(t)
	var delays []string
	for range 4 {
		w.crash("p")
		w.run(2 * time.Second)
	}
	for _, l := range w.trace {
		if strings.Contains(l, "spawn p") {
			delays = append(delays, l)
		}
	}
	// back-off 100, 200, 400 ms after crashes at 0, 2000, 4000 ms; the
	// fourth crash within the window stops the node in reverse order
	want := []string{"100ms spawn p", "2200ms spawn p", "4400ms spawn p"}
	if strings.Join(delays, ",") != strings.Join(want, ",") {
		t.Fatalf("spawns %v, want %v", delays, want)
	}
	if !w.done || !errors.Is(w.err, ErrGaveUp) || w.s.Phase() != PhaseFailed || len(w.running) != 0 {
		t.Fatalf("done %v err %v phase %v running %v", w.done, w.err, w.s.Phase(), w.running)
	}
	if !strings.Contains(w.err.Error(), "p crashed 4 times") {
		t.Fatalf("err %v", w.err)
	}
	last := w.trace[len(w.trace)-3:]
	if strings.Join(last, ",") != "6000ms term c,6000ms term b,6000ms term a" {
		t.Fatalf("stop order %v", last)
	}
}

func TestCrashesOutsideWindowForgotten(t *testing.T) {
	w := start(t)
	for range 10 {
		w.crash("p")
		w.run(31 * time.Second) // two crashes per minute at most
	}
	if w.done {
		t.Fatalf("gave up: %v", w.err)
	}
}

func TestBackoffCapped(t *testing.T) {
	c := small()
	c.MaxCrashes = 100
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 7: 6400 * time.Millisecond, 8: 10 * time.Second, 60: 10 * time.Second} {
		if got := s.backoff(k); got != want {
			t.Errorf("backoff(%d) = %v, want %v", k, got, want)
		}
	}
}

func TestStartTimeoutCountsAsCrash(t *testing.T) {
	w := newWorld(t, small())
	w.silent["a"] = true
	w.s.Start(w.now)
	w.drain()
	w.run(2600 * time.Millisecond)
	w.check("0ms spawn a", "2000ms kill a", "2500ms spawn a")
}

func TestSpawnFailureCountsAsCrash(t *testing.T) {
	w := newWorld(t, small())
	w.noexec["c"] = true
	w.s.Start(w.now)
	w.drain()
	w.run(3 * time.Second)
	if !w.done || !errors.Is(w.err, ErrGaveUp) {
		t.Fatalf("done %v err %v", w.done, w.err)
	}
	if len(w.running) != 0 {
		t.Fatalf("left running: %v", w.running)
	}
}

func TestExitsDuringRestartNotCounted(t *testing.T) {
	w := start(t)
	w.deaf["c"] = true
	w.crash("a")
	w.crash("c") // c dies on its own while the stack goes down
	w.run(time.Second)
	if st := w.s.Status(); st[3].Restarts != 0 || st[0].Restarts != 1 {
		t.Fatalf("status %+v", st)
	}
	if w.s.Phase() != PhaseRunning {
		t.Fatalf("phase %v", w.s.Phase())
	}
}

func TestStopWhileWaiting(t *testing.T) {
	w := start(t)
	w.crash("p")
	w.s.Stop(w.now)
	w.drain()
	w.run(time.Second)
	w.check("0ms crash p", "0ms term c", "0ms term b", "0ms term a")
	if !w.done || w.err != nil {
		t.Fatalf("done %v err %v", w.done, w.err)
	}
}

func TestValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no daemons":  func(c *Config) { c.Daemons = nil },
		"repeated":    func(c *Config) { c.Daemons = append(c.Daemons, c.Daemons[0]) },
		"backoff":     func(c *Config) { c.BackoffMax = c.BackoffInitial / 2 },
		"max crashes": func(c *Config) { c.MaxCrashes = 0 },
		"grace":       func(c *Config) { c.StopGrace = 0 },
	} {
		c := DefaultConfig()
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
