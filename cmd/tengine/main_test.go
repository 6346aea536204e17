package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	crmv1 "github.com/systole/systole/proto/crm/v1"
	tenginev1 "github.com/systole/systole/proto/tengine/v1"
)

type okCRM struct {
	crmv1.UnimplementedCRMServiceServer
	mu   sync.Mutex
	keys []string
}

func (c *okCRM) ExecuteAction(_ context.Context, r *crmv1.ExecuteActionRequest) (*crmv1.ExecuteActionResponse, error) {
	c.mu.Lock()
	c.keys = append(c.keys, r.TransitionKey)
	c.mu.Unlock()
	return &crmv1.ExecuteActionResponse{Rc: r.TargetRc}, nil
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestDaemon runs the daemon in-process against a fake crmd, both on real
// unix sockets in the run directory.
func TestDaemon(t *testing.T) {
	dir, err := os.MkdirTemp("", "te")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	crm := &okCRM{}
	lis, err := net.Listen("unix", filepath.Join(dir, "cib.sock"))
	if err != nil {
		t.Fatal(err)
	}
	cg := grpc.NewServer()
	crmv1.RegisterCRMServiceServer(cg, crm)
	go cg.Serve(lis)
	defer cg.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuf{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--run-dir", dir}, log) }()
	sock := filepath.Join(dir, "tengine.sock")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no socket")
		}
	}
	if st, _ := os.Stat(sock); st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", st.Mode().Perm())
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	graph, err := os.ReadFile("../../tengine/testdata/graphs/start-basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	stream, err := tenginev1.NewTransitionServiceClient(conn).Run(ctx, &tenginev1.RunRequest{GraphXml: graph})
	if err != nil {
		t.Fatal(err)
	}
	var fin *tenginev1.Finished
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f := ev.GetFinished(); f != nil {
			fin = f
		}
	}
	if fin == nil || fin.Outcome != tenginev1.Outcome_OUTCOME_COMPLETE || fin.Completed != 4 {
		t.Fatalf("finished %v", fin)
	}
	uuid := regexp.MustCompile(`^\d+:1:\d:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, k := range crm.keys {
		if !uuid.MatchString(k) {
			t.Errorf("transition key %q", k)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--log-level", "loud"}, {"extra"}, {"--nope"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
