package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/systole/systole/cib"
	cibclient "github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// net routes messages between in-process servers, as messagingd would
// (broadcasts come back to the sender too).
type fakeNet struct {
	mu      sync.Mutex
	servers map[string]*Server
	cut     map[string]bool // nodes whose messages are lost (both ways)
}

type fakeTransport struct {
	n    *fakeNet
	from string
}

func (t fakeTransport) Send(ctx context.Context, to string, data []byte) error {
	t.n.mu.Lock()
	var dst []*Server
	for name, s := range t.n.servers {
		if (to == "" || to == name) && !t.n.cut[name] && !t.n.cut[t.from] {
			dst = append(dst, s)
		}
	}
	t.n.mu.Unlock()
	for _, s := range dst {
		if err := s.Deliver(ctx, t.from, data); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
	}
	return nil
}

type failStore struct{ cib.Store }

func (failStore) SaveBatch([]cib.Entry) error { return errors.New("disk on fire") }

type testCluster struct {
	t       *testing.T
	names   []string
	servers map[string]*Server
	errs    map[string]chan error
}

func newTestCluster(t *testing.T, names ...string) *testCluster {
	t.Helper()
	fn := &fakeNet{servers: map[string]*Server{}}
	tc := &testCluster{t: t, names: names, servers: map[string]*Server{}, errs: map[string]chan error{}}
	ctx, cancel := context.WithCancel(context.Background())
	for _, name := range names {
		core := crm.DefaultConfig(name)
		core.Retry = 50 * time.Millisecond
		core.WriteTimeout = 10 * time.Second
		s, err := New(core, cib.NewMemStore(10), fakeTransport{n: fn, from: name}, Config{Tick: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		fn.servers[name] = s
		tc.servers[name] = s
		errc := make(chan error, 1)
		tc.errs[name] = errc
		go func() { errc <- s.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for name, s := range tc.servers {
			<-s.Done()
			if err := <-tc.errs[name]; err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
		}
	})
	v := crm.View{Number: 1, Members: names, Quorum: true}
	for _, s := range tc.servers {
		if err := s.SetView(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

// waitDC waits until every server follows the same DC and returns it.
func (tc *testCluster) waitDC() string {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		dc, agree, selves := "", true, 0
		for _, name := range tc.names {
			st := tc.servers[name].Status()
			if st.IsDC {
				selves++
			}
			if st.DC == "" || (dc != "" && st.DC != dc) {
				agree = false
			}
			dc = st.DC
		}
		if agree && selves == 1 {
			return dc
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.t.Fatal("no single DC agreed by every node")
	return ""
}

// serve starts the CIBService of s on a unix socket and returns a client.
func serve(t *testing.T, s *Server) *cibclient.GRPC {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	c, err := cibclient.DialUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return c
}

const primitive = `<primitive id="d1" class="ocf" provider="heartbeat" type="Dummy"/>`

func TestWriteOnReplicaReachesEveryNode(t *testing.T) {
	tc := newTestCluster(t, "n1", "n2", "n3")
	dc := tc.waitDC()
	var replica string
	for _, n := range tc.names {
		if n != dc {
			replica = n
			break
		}
	}
	c := serve(t, tc.servers[replica])
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	// a watcher on another replica sees the write committed
	other := tc.servers[dc]
	ch, stop, err := other.Subscribe(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if ev := <-ch; !ev.Full {
		t.Fatalf("first event is not a full copy: %v", ev)
	}

	res, err := c.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(primitive)})
	if err != nil {
		t.Fatalf("create on %s (DC %s): %v", replica, dc, err)
	}
	if res.Version == (cib.Version{}) {
		t.Errorf("create answered without a version")
	}
	// acknowledged means every member persisted it: every node has it now
	for _, n := range tc.names {
		out, _, err := tc.servers[n].Query(ctx, cib.Request{XPath: "//primitive[@id='d1']"})
		if err != nil || len(out) != 1 {
			t.Errorf("%s: query d1: %d elements, %v", n, len(out), err)
		}
	}
	sawD1 := false
	for !sawD1 {
		select {
		case ev := <-ch:
			sawD1 = strings.Contains(string(ev.Patch)+string(ev.Cib), `id="d1"`)
		case <-ctx.Done():
			t.Fatal("watcher never saw d1")
		}
	}

	// a cib error keeps its identity across the gRPC API and the DC hop
	_, err = c.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(primitive)})
	if !errors.Is(err, cib.ErrExists) {
		t.Errorf("second create: %v, want cib.ErrExists", err)
	}
	// reads go through gRPC too
	els, _, err := c.Query(ctx, cib.Request{Op: cib.OpQuery, Scope: "resources"})
	if err != nil || len(els) != 1 || len(els[0].ChildElements()) != 1 {
		t.Errorf("query resources: %v, %v", els, err)
	}
	// Watch over gRPC delivers the full copy first
	wctx, wcancel := context.WithCancel(ctx)
	err = c.Watch(wctx, true, func(ev *cibv1.WatchEvent) error {
		if !ev.Full || !strings.Contains(string(ev.Cib), `id="d1"`) {
			t.Errorf("watch: first event %v", ev)
		}
		wcancel()
		return nil
	})
	_ = err // ends with the cancellation
}

func TestManyWritesFromEveryNode(t *testing.T) {
	tc := newTestCluster(t, "a", "b", "c")
	tc.waitDC()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	const per = 10
	errs := make(chan error, per*len(tc.names))
	for _, n := range tc.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				x := fmt.Sprintf(`<primitive id="%s-%d" class="ocf" provider="heartbeat" type="Dummy"/>`, n, i)
				if _, err := tc.servers[n].Write(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(x)}); err != nil {
					errs <- fmt.Errorf("%s: write %d: %w", n, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := tc.servers["a"].Status().Version
	for _, n := range tc.names {
		out, v, err := tc.servers[n].Query(ctx, cib.Request{XPath: "//primitive"})
		if err != nil || len(out) != per*len(tc.names) {
			t.Errorf("%s: %d primitives, %v", n, len(out), err)
		}
		if v != want {
			t.Errorf("%s: version %s, a has %s", n, v, want)
		}
	}
}

func TestWriteWithoutQuorumFails(t *testing.T) {
	core := crm.DefaultConfig("solo")
	core.WriteTimeout = 200 * time.Millisecond
	s, err := New(core, cib.NewMemStore(10), fakeTransport{n: &fakeNet{servers: map[string]*Server{}}}, Config{Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	if err := s.SetView(ctx, crm.View{Number: 1, Members: []string{"other", "solo", "third"}, Quorum: false}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Write(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(primitive)})
	if !errors.Is(err, crm.ErrNoDC) {
		t.Errorf("write without quorum: %v, want crm.ErrNoDC", err)
	}
	if _, err := s.Write(ctx, cib.Request{Op: cib.OpQuery}); !errors.Is(err, crm.ErrBadRequest) {
		t.Errorf("query as a write: %v, want crm.ErrBadRequest", err)
	}
}

func TestPersistFailureStopsTheLoop(t *testing.T) {
	core := crm.DefaultConfig("solo")
	core.NoQuorumPolicy = crm.NoQuorumIgnore
	s, err := New(core, failStore{cib.NewMemStore(10)}, fakeTransport{n: &fakeNet{servers: map[string]*Server{}}}, Config{Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	if err := s.SetView(ctx, crm.View{Number: 1, Members: []string{"solo"}, Quorum: true}); err != nil {
		t.Fatal(err)
	}
	_, werr := s.Write(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(primitive)})
	if err := <-errc; !errors.Is(err, ErrPersist) {
		t.Fatalf("Run: %v, want ErrPersist", err)
	}
	if werr == nil {
		t.Errorf("write succeeded although nothing could be persisted")
	}
	if _, _, err := s.Query(ctx, cib.Request{}); !errors.Is(err, ErrClosed) {
		t.Errorf("query after stop: %v, want ErrClosed", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"no tick", Config{WatchBuffer: 1, OutboxLimit: 1}, false},
		{"no buffer", Config{Tick: time.Second, OutboxLimit: 1}, false},
		{"no outbox", Config{Tick: time.Second, WatchBuffer: 1}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
}

func TestWatcherFallingBehindGetsAFullCopy(t *testing.T) {
	core := crm.DefaultConfig("solo")
	s, err := New(core, cib.NewMemStore(10), fakeTransport{n: &fakeNet{servers: map[string]*Server{}}}, Config{Tick: 10 * time.Millisecond, WatchBuffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go s.Run(ctx)
	if err := s.SetView(ctx, crm.View{Number: 1, Members: []string{"solo"}, Quorum: true}); err != nil {
		t.Fatal(err)
	}
	ch, stop, err := s.Subscribe(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	const n = 5
	for i := range n {
		x := fmt.Sprintf(`<primitive id="p%d" class="ocf" provider="heartbeat" type="Dummy"/>`, i)
		if _, err := s.Write(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(x)}); err != nil {
			t.Fatal(err)
		}
	}
	want := s.Status().Version
	var last *cibv1.WatchEvent
	sawFull := false
	for last == nil || versionFromPB(last.Version) != want {
		select {
		case last = <-ch:
			sawFull = sawFull || last.Full
		case <-ctx.Done():
			t.Fatalf("never saw version %s", want)
		}
	}
	if !sawFull {
		t.Errorf("a watcher that fell behind did not get a full copy")
	}
	if last.Full && !strings.Contains(string(last.Cib), `id="p4"`) {
		t.Errorf("the last full copy (version %s) lacks the last write", want)
	}
}

func versionFromPB(v *cibv1.Version) cib.Version {
	return cib.Version{AdminEpoch: v.GetAdminEpoch(), Epoch: v.GetEpoch(), NumUpdates: v.GetNumUpdates()}
}
