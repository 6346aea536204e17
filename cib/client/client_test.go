package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
	cibv1 "github.com/systole/systole/proto/cib/v1"
)

const dummy = `<primitive id="d1" class="ocf" provider="systole" type="Dummy"/>`

func writeEmpty(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(p, cib.New().Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// backends returns each backend over a fresh, empty CIB.
func backends(t *testing.T) map[string]Client {
	t.Helper()
	f, err := NewFile(writeEmpty(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cib.NewMemStore(10), server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
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
	g := NewGRPC(conn, "bufconn")
	t.Cleanup(func() {
		g.Close()
		cancel()
		<-done
	})
	return map[string]Client{"file": f, "grpc": g}
}

func TestBackendsAgree(t *testing.T) {
	for name, c := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			res, err := c.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(dummy), Client: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != (cib.Version{Epoch: 1}) || res.Patch == nil {
				t.Fatalf("create: version %s patch %v", res.Version, res.Patch)
			}
			out, v, err := c.Query(ctx, cib.Request{Scope: "resources"})
			if err != nil || len(out) != 1 || v != res.Version {
				t.Fatalf("query: %v, %d elements at %s", err, len(out), v)
			}
			if out[0].FindElement("primitive[@id='d1']") == nil {
				t.Error("created primitive not returned")
			}
			_, err = c.Apply(ctx, cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(dummy)})
			if !errors.Is(err, cib.ErrExists) {
				t.Fatalf("second create: %v, want ErrExists", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			_, err = c.Apply(ctx, cib.Request{Op: cib.OpCreate, XML: []byte(`<rsc_location id="l1" rsc="ghost" node="n1" score="10"/>`)})
			var ves cib.ValidationErrors
			if !errors.Is(err, cib.ErrInvalid) || !errors.As(err, &ves) || ves[0].ID == "" {
				t.Fatalf("bad constraint: %v (%v)", err, ves)
			}
			res, err = c.Apply(ctx, cib.Request{Op: cib.OpQuery, XPath: "//primitive"})
			if err != nil || len(res.Output) != 1 {
				t.Fatalf("apply query: %v", err)
			}
			res, err = c.Apply(ctx, cib.Request{Op: cib.OpModify, XML: []byte(`<primitive id="d1" type="Dummy"/>`)})
			if err != nil || res.Patch != nil {
				t.Fatalf("no-op modify: %v, patch %v", err, res.Patch)
			}
		})
	}
}

func TestFileUnchangedOnFailureAndNoop(t *testing.T) {
	p := writeEmpty(t)
	f, err := NewFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.Apply(ctx, cib.Request{Op: cib.OpCreate, XML: []byte(dummy)}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	st0, _ := os.Stat(p)
	for _, req := range []cib.Request{
		{Op: cib.OpCreate, XML: []byte(dummy)},
		{Op: cib.OpCreate, XML: []byte(`<primitive id="x"`)},
		{Op: cib.OpModify, XML: []byte(`<primitive id="d1" type="Dummy"/>`)},
		{Op: cib.OpQuery},
		{Op: cib.OpErase},
	} {
		f.Apply(ctx, req)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Errorf("file changed:\n%s\n---\n%s", before, after)
	}
	st1, _ := os.Stat(p)
	if !os.SameFile(st0, st1) {
		t.Error("file was rewritten although nothing changed")
	}
	if st1.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st1.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("stray files left: %v", entries)
	}
}

func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.xml")
	_, err := Open(Config{File: p})
	if !errors.Is(err, ErrNoFile) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want ErrNoFile naming %s", err, p)
	}
}

func TestMalformedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(p, []byte("<cib><configuration>\n"), 0o644)
	f, err := NewFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Query(context.Background(), cib.Request{})
	if !errors.Is(err, cib.ErrMalformed) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %q", err)
	}
}

func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "cib.sock")
	c, err := Open(Config{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = c.Query(context.Background(), cib.Request{})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "cannot reach the CIB service at " + sock + ": is systoled running? (set CIB_file=FILE to work on a file)"
	if err.Error() != want {
		t.Errorf("message\n%q, want\n%q", err, want)
	}
}

func TestFromEnv(t *testing.T) {
	p := writeEmpty(t)
	t.Setenv("CIB_file", p)
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*File); !ok {
		t.Errorf("CIB_file set: got %T, want *File", c)
	}
	t.Setenv("CIB_file", "")
	t.Setenv("CIB_socket", filepath.Join(t.TempDir(), "s"))
	c, err = FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*GRPC); !ok {
		t.Errorf("CIB_file unset: got %T, want *GRPC", c)
	}
}

// TestRealSocket serves the CIB on a unix socket, as systoled will.
func TestRealSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cib.NewMemStore(10), server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	defer func() { cancel(); <-done }()
	c, err := Open(Config{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Apply(ctx, cib.Request{Op: cib.OpCreate, XML: []byte(dummy)}); err != nil {
		t.Fatal(err)
	}
	if s.Version() != (cib.Version{Epoch: 1}) {
		t.Errorf("server at %s", s.Version())
	}
	// a CIB above gRPC's 4 MiB default message size goes both ways
	blob := strings.Repeat("x", 6<<20)
	big := `<primitive id="big" class="ocf" provider="systole" type="Dummy"><instance_attributes id="big-ia"><nvpair id="big-v" name="blob" value="` + blob + `"/></instance_attributes></primitive>`
	if _, err := c.Apply(ctx, cib.Request{Op: cib.OpCreate, XML: []byte(big)}); err != nil {
		t.Fatalf("large create: %v", err)
	}
	out, _, err := c.Query(ctx, cib.Request{})
	if err != nil || len(out) != 1 || out[0].FindElement("//nvpair[@id='big-v']").SelectAttrValue("value", "") != blob {
		t.Fatalf("large query: %v", err)
	}
}

func TestWatch(t *testing.T) {
	g := backends(t)["grpc"].(*GRPC)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan cib.Version, 10)
	done := make(chan error, 1)
	go func() {
		done <- g.Watch(ctx, true, func(ev *cibv1.WatchEvent) error {
			got <- server.VersionFromPB(ev.Version)
			return nil
		})
	}()
	if v := <-got; v != (cib.Version{}) {
		t.Fatalf("first event at %s, want the full copy at 0.0.0", v)
	}
	if _, err := g.Apply(ctx, cib.Request{Op: cib.OpCreate, XML: []byte(dummy)}); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != (cib.Version{Epoch: 1}) {
		t.Fatalf("event at %s, want 0.1.0", v)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v", err)
	}
}
