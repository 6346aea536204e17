package cts

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/systole/systole/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// knownDefects are the kinds of violation the short run tolerates because
// they are defects of other layers, reported and not fixed yet (see
// docs/cts.md, "Defects found"). Remove a kind when its defect is fixed:
//
//   - left-active: a clean stop of a node (SIGTERM to systoled) leaves its
//     resources running (crmd exits at once; no shutdown protocol);
//   - outside-quorum: a partition without quorum elects no DC, so nobody
//     applies no-quorum-policy=stop and its resources keep running;
//   - stack-restart: a crash of lrmd, crmd, membershipd or messagingd
//     restarts the node's whole stack; the node leaves the membership with
//     its resources running and, without fencing, the DC starts them
//     elsewhere.
var knownDefects = []string{"left-active", "outside-quorum", "stack-restart"}

// TestShortCTS is the CI version of `make cts`: about 20 tests on 3 nodes
// in network namespaces (root). CTS_SEED, CTS_ITERATIONS and CTS_STRICT=1
// (known defects fail too) adjust it.
func TestShortCTS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if testing.Short() {
		t.Skip("cluster test suite")
	}
	cfg := DefaultConfig()
	cfg.Iterations = 20
	cfg.Seed = time.Now().UnixNano() % 1_000_000
	if s := os.Getenv("CTS_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Seed = v
	}
	if s := os.Getenv("CTS_ITERATIONS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Iterations = v
	}
	if os.Getenv("CTS_STRICT") == "" {
		cfg.Tolerate = knownDefects
	}
	cfg.BinDir = lab.Binaries(t)
	cfg.Dir = t.TempDir()
	cfg.Out = &logWriter{t: t}
	t.Logf("seed %d (replay: CTS_SEED=%d CTS_ITERATIONS=%d go test -run TestShortCTS ./internal/cts/)", cfg.Seed, cfg.Seed, cfg.Iterations)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Log("\n" + table.String())
	if rep.Failed() {
		t.Errorf("cts failed: %s (logs of the failed steps were in %s/failures)", rep.Replay(), cfg.Dir)
	}
}

// logWriter sends every line written to it to t.Log as it comes (progress
// of a long test in -v output).
type logWriter struct {
	t   *testing.T
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		w.t.Log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}
