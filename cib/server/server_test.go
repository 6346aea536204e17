package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/systole/systole/cib"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

// startServer serves s over bufconn and returns a connected client.
func startServer(t *testing.T, s *Server) cibv1.CIBServiceClient { return startServerB(t, s) }

func startServerB(t testing.TB, s *Server) cibv1.CIBServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cibv1.NewCIBServiceClient(conn)
}

func newMemServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cib.NewMemStore(10), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func create(xml string) *cibv1.ApplyRequest {
	return &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_CREATE, Xml: []byte(xml), Client: "test"}
}

func TestApplyAndQuery(t *testing.T) {
	c := startServer(t, newMemServer(t, Config{}))
	ctx := context.Background()
	resp, err := c.Apply(ctx, &cibv1.ApplyRequest{
		Operation: cibv1.Operation_OPERATION_CREATE, Scope: "resources",
		Xml: []byte(`<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := VersionFromPB(resp.Version); got != (cib.Version{Epoch: 1}) {
		t.Errorf("version after create = %s, want 0.1.0", got)
	}
	if len(resp.Patch) == 0 {
		t.Error("create returned no patch")
	}
	q, err := c.Query(ctx, &cibv1.QueryRequest{Xpath: "//primitive[@id='d1']"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Elements) != 1 || VersionFromPB(q.Version) != (cib.Version{Epoch: 1}) {
		t.Fatalf("query = %d elements at %v", len(q.Elements), q.Version)
	}
	// a no-op modify changes nothing and returns no patch
	resp, err = c.Apply(ctx, &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_MODIFY,
		Xml: []byte(`<primitive id="d1" type="Dummy"/>`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Patch) != 0 || VersionFromPB(resp.Version) != (cib.Version{Epoch: 1}) {
		t.Errorf("no-op modify: patch %q version %v", resp.Patch, resp.Version)
	}
	// query through Apply
	resp, err = c.Apply(ctx, &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_QUERY, Scope: "resources"})
	if err != nil || len(resp.Elements) != 1 {
		t.Fatalf("apply query: %v, %d elements", err, len(resp.Elements))
	}
}

func TestErrorCodes(t *testing.T) {
	c := startServer(t, newMemServer(t, Config{}))
	ctx := context.Background()
	if _, err := c.Apply(ctx, create(`<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		req      *cibv1.ApplyRequest
		code     codes.Code
		sentinel error
	}{
		{"exists", create(`<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`), codes.AlreadyExists, cib.ErrExists},
		{"malformed", create(`<primitive id="d2"`), codes.InvalidArgument, cib.ErrMalformed},
		{"bad scope", &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_CREATE, Scope: "nowhere", Xml: []byte(`<x id="a"/>`)}, codes.InvalidArgument, cib.ErrBadRequest},
		{"invalid", create(`<rsc_location id="l1" rsc="missing" node="n1" score="100"/>`), codes.InvalidArgument, cib.ErrInvalid},
		{"not found", &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_DELETE, Xml: []byte(`<primitive id="nope"/>`)}, codes.NotFound, cib.ErrNotFound},
		{"force", &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_ERASE}, codes.FailedPrecondition, cib.ErrForceRequired},
		{"version", &cibv1.ApplyRequest{Operation: cibv1.Operation_OPERATION_PATCH, Xml: []byte(
			`<diff format="2"><version><source admin_epoch="0" epoch="7" num_updates="0"/><target admin_epoch="0" epoch="8" num_updates="0"/></version></diff>`)},
			codes.Aborted, cib.ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Apply(ctx, tt.req)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.code)
			}
			back := FromStatus(err)
			if !errors.Is(back, tt.sentinel) {
				t.Errorf("FromStatus(%v) does not match %v", back, tt.sentinel)
			}
			if back.Error() != status.Convert(err).Message() {
				t.Errorf("message changed: %q", back.Error())
			}
		})
	}
	// the validation failure comes back with its element named
	_, err := c.Apply(ctx, create(`<rsc_location id="l1" rsc="missing" node="n1" score="100"/>`))
	var ves cib.ValidationErrors
	if !errors.As(FromStatus(err), &ves) || len(ves) == 0 || ves[0].ID == "" {
		t.Fatalf("validation details lost: %v (%#v)", err, ves)
	}
	if v, _ := c.Query(ctx, &cibv1.QueryRequest{}); VersionFromPB(v.Version) != (cib.Version{Epoch: 1}) {
		t.Errorf("failed writes changed the version to %v", v.Version)
	}
}

func TestErrorTableRoundTrip(t *testing.T) {
	for _, row := range errorTable {
		err := fmt.Errorf("cib: op: thing %w", row.sentinel)
		st := ToStatus(err)
		if status.Code(st) != row.code {
			t.Errorf("%v: code %v, want %v", row.sentinel, status.Code(st), row.code)
		}
		if back := FromStatus(st); !errors.Is(back, row.sentinel) || back.Error() != err.Error() {
			t.Errorf("%v: round trip gave %v", row.sentinel, back)
		}
	}
	if ToStatus(nil) != nil || FromStatus(nil) != nil || Code(nil) != codes.OK {
		t.Error("nil not preserved")
	}
	if Code(errors.New("other")) != codes.Unknown {
		t.Error("unknown error not mapped to Unknown")
	}
}

// TestConcurrentWritersAndWatcher runs writers in parallel and checks that
// a watcher sees every version in order and, replaying the patches on its
// own copy, ends with the server's configuration.
func TestConcurrentWritersAndWatcher(t *testing.T) {
	s := newMemServer(t, Config{WatchBuffer: 4096})
	c := startServer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.Watch(ctx, &cibv1.WatchRequest{FullCopy: true})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Full {
		t.Fatal("first event is not a full copy")
	}
	replica, err := cib.Parse(first.Cib)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("r%d-%d", w, i)
				_, err := c.Apply(ctx, create(fmt.Sprintf(`<primitive id=%q class="ocf" provider="systole" type="Dummy"/>`, id)))
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	prev := VersionFromPB(first.Version)
	for n := 0; n < writers*each; n++ {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		v := VersionFromPB(ev.Version)
		if want := (cib.Version{Epoch: prev.Epoch + 1}); v != want {
			t.Fatalf("event %d: version %s, want %s", n, v, want)
		}
		if ev.Full {
			t.Fatalf("event %d: unexpected full copy", n)
		}
		p, err := cib.ParsePatch(ev.Patch)
		if err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		if _, err := replica.ApplyPatch(p); err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		prev = v
	}
	if got, want := replica.Version(), s.Version(); got != want {
		t.Fatalf("replica at %s, server at %s", got, want)
	}
	rq, _ := replica.Query(cib.Request{Scope: "configuration"})
	sq, _, _ := s.Query(cib.Request{Scope: "configuration"})
	if a, b := string(ElementBytes(rq[0])), string(ElementBytes(sq[0])); a != b {
		t.Errorf("replica configuration differs from the server's:\n%s\n---\n%s", a, b)
	}
}

// TestSlowWatcherGetsFullCopy checks that a watcher that does not keep up
// is handed a full copy of the newest version instead of stale patches.
func TestSlowWatcherGetsFullCopy(t *testing.T) {
	s := newMemServer(t, Config{WatchBuffer: 2})
	ch, cancel := s.Subscribe(false)
	defer cancel()
	for i := 0; i < 10; i++ {
		if _, err := s.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(fmt.Sprintf(`<primitive id="p%d" class="ocf" provider="systole" type="Dummy"/>`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	// replaying what the watcher got must reach the newest version: the
	// full copy replaces the patches it missed, later patches follow it
	var replica *cib.CIB
	fulls := 0
	for len(ch) > 0 {
		ev := <-ch
		if ev.Full {
			fulls++
			c, err := cib.Parse(ev.Cib)
			if err != nil {
				t.Fatal(err)
			}
			replica = c
			continue
		}
		if replica == nil {
			continue // patches before the first full copy: the watcher started empty
		}
		p, err := cib.ParsePatch(ev.Patch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := replica.ApplyPatch(p); err != nil {
			t.Fatalf("patch after full copy: %v", err)
		}
	}
	if fulls == 0 || replica == nil || replica.Version() != s.Version() {
		t.Fatalf("%d full copies; replica %v, want version %s", fulls, replica, s.Version())
	}
}

// failStore fails every Save after the first n.
type failStore struct {
	*cib.MemStore
	n int
}

func (f *failStore) Save(c *cib.CIB, p *cib.Patch) error {
	if f.n <= 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.MemStore.Save(c, p)
}

func TestFailedSaveIsNotAcknowledged(t *testing.T) {
	s, err := New(&failStore{MemStore: cib.NewMemStore(10), n: 1}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch, cancel := s.Subscribe(false)
	defer cancel()
	if _, err := s.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(`<primitive id="a" class="ocf" provider="systole" type="Dummy"/>`)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(`<primitive id="b" class="ocf" provider="systole" type="Dummy"/>`)})
	if !errors.Is(err, ErrStore) || Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want ErrStore/Unavailable", err)
	}
	if v := s.Version(); v != (cib.Version{Epoch: 1}) {
		t.Errorf("version %s after a failed save, want 0.1.0", v)
	}
	if _, _, err := s.Query(cib.Request{XPath: "//primitive[@id='b']"}); !errors.Is(err, cib.ErrNotFound) {
		t.Errorf("unsaved primitive visible: %v", err)
	}
	if len(ch) != 1 {
		t.Errorf("watcher got %d events, want 1 (the failed write must not be published)", len(ch))
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cib.db")
	st, err := cib.OpenStore(path, cib.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := startServer(t, s)
	for i := 0; i < 3; i++ {
		if _, err := c.Apply(context.Background(), create(fmt.Sprintf(`<primitive id="p%d" class="ocf" provider="systole" type="Dummy"/>`, i))); err != nil {
			t.Fatal(err)
		}
	}
	want := s.Version()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := cib.OpenStore(path, cib.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2, err := New(st2, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Version(); got != want {
		t.Fatalf("reopened at %s, want %s", got, want)
	}
	if _, _, err := s2.Query(cib.Request{XPath: "//primitive[@id='p2']"}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
	if err := (Config{WatchBuffer: -1, MaxBatch: 1}).Validate(); err == nil {
		t.Error("negative WatchBuffer accepted")
	}
	if err := (Config{WatchBuffer: 1, MaxBatch: -1}).Validate(); err == nil {
		t.Error("negative MaxBatch accepted")
	}
}

// slowStore counts saves and makes each one slow, so that writers pile up
// and the commit loop groups them.
type slowStore struct {
	cib.Store
	mu    sync.Mutex
	saves int
}

func (s *slowStore) Save(c *cib.CIB, p *cib.Patch) error {
	s.mu.Lock()
	s.saves++
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return s.Store.Save(c, p)
}

// TestGroupCommit checks that concurrent writes share saves and that what
// the store holds after a group commit reopens as exactly the server's CIB.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cib.db")
	bs, err := cib.OpenStore(path, cib.StoreOptions{SnapshotEvery: 1000})
	if err != nil {
		t.Fatal(err)
	}
	st := &slowStore{Store: bs}
	s, err := New(st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe(false)
	defer cancel()
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				xml := fmt.Sprintf(`<primitive id="r%d-%d" class="ocf" provider="systole" type="Dummy"/>`, w, i)
				if i%5 == 4 { // a status update now and then: num_updates, not epoch
					xml = fmt.Sprintf(`<node_state id="n%d" uname="n%d" in_ccm="true"/>`, w, i)
				}
				if _, err := s.Apply(cib.Request{Op: cib.OpCreate, XML: []byte(xml)}); err != nil && !errors.Is(err, cib.ErrExists) {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	s.Close()
	if st.saves >= writers*each {
		t.Errorf("%d saves for %d writes: no grouping", st.saves, writers*each)
	}
	t.Logf("%d writes, %d saves", writers*each, st.saves)
	// every version was published, in order
	prev := cib.Version{}
	for len(ch) > 0 {
		ev := <-ch
		v := VersionFromPB(ev.Version)
		if v.Compare(prev) <= 0 {
			t.Fatalf("event %s after %s", v, prev)
		}
		prev = v
	}
	if prev != s.Version() {
		t.Errorf("last event %s, server at %s", prev, s.Version())
	}
	want := s.Snapshot().Bytes()
	bs.Close()
	bs2, err := cib.OpenStore(path, cib.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bs2.Close()
	c, err := bs2.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("reopened store differs from the server's CIB:\n%s\n---\n%s", got, want)
	}
	if _, err := s.Apply(cib.Request{Op: cib.OpBump}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}
