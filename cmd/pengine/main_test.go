package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	penginev1 "github.com/systole/systole/proto/pengine/v1"
)

// TestDaemon runs the daemon's main loop in-process on a real socket.
func TestDaemon(t *testing.T) {
	dir, err := os.MkdirTemp("", "pe")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	var log bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--run-dir", dir, "--log-level", "debug"}, &log) }()
	sock := filepath.Join(dir, "pengine.sock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	data, err := os.ReadFile("../../pengine/testdata/start-basic/cib.xml")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := penginev1.NewPEngineServiceClient(conn).Compute(ctx, &penginev1.ComputeRequest{CibXml: data, TransitionId: 3})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Actions == 0 || !bytes.Contains(resp.GraphXml, []byte(`transition_id="3"`)) {
		t.Errorf("unexpected response: %d actions\n%s", resp.Actions, resp.GraphXml)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind")
	}
	if !bytes.Contains(log.Bytes(), []byte("computed")) {
		t.Errorf("no debug line:\n%s", log.String())
	}
}

func TestBadFlags(t *testing.T) {
	var log bytes.Buffer
	for _, args := range [][]string{{"--log-level", "loud"}, {"extra"}, {"--nope"}} {
		if err := run(context.Background(), args, &log); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
