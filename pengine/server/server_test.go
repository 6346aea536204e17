package server

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/pengine"
	penginev1 "github.com/systole/systole/proto/pengine/v1"
)

// serve starts a Server on a real unix socket and returns a client.
func serve(t testing.TB, cfg Config) penginev1.PEngineServiceClient {
	t.Helper()
	dir, err := os.MkdirTemp("", "pe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "pengine.sock")
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(1 << 30))
	Register(g, srv)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30), grpc.MaxCallSendMsgSize(1<<30)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return penginev1.NewPEngineServiceClient(conn)
}

func fixedClock() Config {
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Unix(1700000000, 0) }
	return cfg
}

func readCase(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name, "cib.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestComputeMatchesLibrary checks every response field against the
// library on the golden scenarios.
func TestComputeMatchesLibrary(t *testing.T) {
	c := serve(t, fixedClock())
	for _, name := range []string{"start-basic", "group-move", "failed-monitor-recover", "location-date-in-range", "node-lost-fenced", "clone-basic", "digest-unchanged"} {
		t.Run(name, func(t *testing.T) {
			data := readCase(t, name)
			resp, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data, NowUnix: 1700000000, TransitionId: 42, ShowScores: true})
			if err != nil {
				t.Fatal(err)
			}
			in, err := pengine.ParseInput(bytes.Clone(data))
			if err != nil {
				t.Fatal(err)
			}
			want, err := pengine.ComputeInput(in, pengine.Config{Now: 1700000000, TransitionID: 42, ShowScores: true})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.GraphXml, want.Graph.XML()) {
				t.Errorf("graph differs:\n%s\nwant\n%s", resp.GraphXml, want.Graph.XML())
			}
			if !bytes.Contains(resp.GraphXml, []byte(`transition_id="42"`)) {
				t.Errorf("transition id not in graph")
			}
			eq := func(what string, got, want []string) {
				if len(got) != len(want) {
					t.Errorf("%s: %d lines, want %d", what, len(got), len(want))
					return
				}
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("%s[%d] = %q, want %q", what, i, got[i], want[i])
					}
				}
			}
			eq("summary", resp.Summary, want.Summary)
			eq("warnings", resp.Warnings, want.Warnings)
			eq("scores", resp.Scores, want.Scores)
			eq("current status", resp.CurrentStatus, want.CurrentStatus)
			var n int64
			for _, s := range want.Graph.Synapses {
				if s.Action.Element != "pseudo_event" {
					n++
				}
			}
			if resp.Actions != n {
				t.Errorf("actions = %d, want %d", resp.Actions, n)
			}
			if resp.RecheckByUnix != want.Graph.RecheckBy {
				t.Errorf("recheck_by = %d, want %d", resp.RecheckByUnix, want.Graph.RecheckBy)
			}
			if resp.ComputeUs <= 0 {
				t.Errorf("compute_us = %d", resp.ComputeUs)
			}
		})
	}
}

// TestNowFromClock: now_unix 0 takes the server's clock, and no scores
// are sent unless asked for.
func TestNowFromClock(t *testing.T) {
	c := serve(t, fixedClock())
	data := readCase(t, "location-date-in-range")
	a, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data, NowUnix: 1700000000})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.GraphXml, b.GraphXml) {
		t.Errorf("now 0 did not use the server clock")
	}
	if len(a.Scores) != 0 {
		t.Errorf("scores sent without show_scores")
	}
}

func TestBadInput(t *testing.T) {
	c := serve(t, fixedClock())
	for _, tc := range []struct {
		name string
		req  *penginev1.ComputeRequest
		code codes.Code
	}{
		{"empty", &penginev1.ComputeRequest{}, codes.InvalidArgument},
		{"malformed", &penginev1.ComputeRequest{CibXml: []byte("<cib><configuration>")}, codes.InvalidArgument},
		{"not xml", &penginev1.ComputeRequest{CibXml: []byte("hello")}, codes.InvalidArgument},
		{"wrong root", &penginev1.ComputeRequest{CibXml: []byte("<foo/>")}, codes.InvalidArgument},
		{"negative id", &penginev1.ComputeRequest{CibXml: []byte("<cib/>"), TransitionId: -1}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Compute(context.Background(), tc.req)
			if status.Code(err) != tc.code {
				t.Fatalf("err = %v, want %v", err, tc.code)
			}
			if st, _ := status.FromError(err); st.Message() == "" {
				t.Errorf("no reason")
			}
		})
	}
	// An empty but well-formed CIB computes an empty graph.
	resp, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: []byte("<cib/>")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Actions != 0 {
		t.Errorf("actions = %d", resp.Actions)
	}
}

// TestConcurrent runs more calls than MaxConcurrent at once.
func TestConcurrent(t *testing.T) {
	c := serve(t, fixedClock())
	data := readCase(t, "group-move")
	want, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data, NowUnix: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Compute(context.Background(), &penginev1.ComputeRequest{CibXml: data, NowUnix: 1})
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(got.GraphXml, want.GraphXml) {
				t.Error("concurrent computation differs")
			}
		}()
	}
	wg.Wait()
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.MaxConcurrent = 0
	if cfg.Validate() == nil {
		t.Error("MaxConcurrent 0 accepted")
	}
	cfg = DefaultConfig()
	cfg.Now = nil
	if _, err := New(cfg); err == nil {
		t.Error("nil clock accepted")
	}
}
