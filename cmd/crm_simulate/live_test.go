package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/cib/server"
)

const liveCase = "../../pengine/testdata/group-move/cib.xml"

// TestLiveFromFile: -L with CIB_file reads that file, like -x.
func TestLiveFromFile(t *testing.T) {
	want, err := run(t, "-x", liveCase, "-S")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(liveCase)
	t.Setenv("CIB_file", abs)
	got, err := run(t, "-L", "-S")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("-L differs from -x:\n%s\nwant\n%s", got, want)
	}
}

// TestLiveFromSocket: -L with CIB_socket queries the CIB service (the
// same service crmd serves) over a real unix socket.
func TestLiveFromSocket(t *testing.T) {
	data, err := os.ReadFile(liveCase)
	if err != nil {
		t.Fatal(err)
	}
	want, err := run(t, "-x", liveCase, "-S")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sim")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "cib.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cib.NewMemStore(10), server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis) }()
	defer func() { cancel(); <-done }()
	if _, err := s.Apply(cib.Request{Op: cib.OpReplace, XML: data, Force: true}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CIB_file", "")
	t.Setenv("CIB_socket", sock)
	got, err := run(t, "-L", "-S")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("-L differs from -x:\n%s\nwant\n%s", got, want)
	}
	// No service: a clear error, no output.
	t.Setenv("CIB_socket", filepath.Join(dir, "none.sock"))
	if _, err := run(t, "-L", "-S"); err == nil || !strings.Contains(err.Error(), "live CIB") {
		t.Errorf("missing socket: %v", err)
	}
}
