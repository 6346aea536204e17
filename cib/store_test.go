package cib

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func counterCIB() *CIB {
	c := New()
	if _, err := c.Apply(Request{Op: OpCreate, Scope: "crm_config", XML: []byte(`<cluster_property_set id="opts"><nvpair id="opts-counter" name="counter" value="0"/></cluster_property_set>`)}); err != nil {
		panic(err)
	}
	return c
}

// step sets the counter to the next value; the counter always equals
// epoch-1, which lets a reader check that content and version agree.
func step(t testing.TB, c *CIB) *Result {
	n := c.Version().Epoch
	return mustApply(t, c, Request{Op: OpModify, XML: []byte(fmt.Sprintf(`<nvpair id="opts-counter" value="%d"/>`, n))})
}

func checkCounter(c *CIB) error {
	m, err := c.FindXPath("//nvpair[@id='opts-counter']")
	if err != nil || len(m) != 1 {
		return fmt.Errorf("counter missing (%v)", err)
	}
	v, _ := strconv.ParseInt(m[0].SelectAttrValue("value", ""), 10, 64)
	if v != c.Version().Epoch-1 {
		return fmt.Errorf("counter %d does not match version %s", v, c.Version())
	}
	return nil
}

func TestStoreSaveLoadPrune(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cib.db")
	s, err := OpenStore(path, StoreOptions{Keep: 10, SnapshotEvery: 4, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Load()
	if err != nil || c.Version() != (Version{}) {
		t.Fatalf("empty store: %v %v", c.Version(), err)
	}
	c = counterCIB()
	if err := s.Save(c, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		r := step(t, c)
		if err := s.Save(c, r.Patch); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.Versions()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 || len(vs) > 10+4 {
		t.Fatalf("kept %d versions, want 10..14: %v", len(vs), vs)
	}
	if vs[len(vs)-1] != c.Version() {
		t.Fatalf("newest kept %s, want %s", vs[len(vs)-1], c.Version())
	}
	s.Close()
	s, err = OpenStore(path, StoreOptions{Keep: 10, SnapshotEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), c.Bytes()) {
		t.Fatalf("reloaded CIB differs:\n%s\nwant\n%s", got.Bytes(), c.Bytes())
	}
	// continue after reopen, batched
	var batch []Entry
	for i := 0; i < 5; i++ {
		r := step(t, got)
		batch = append(batch, Entry{CIB: got.Clone(), Patch: r.Patch})
	}
	if err := s.SaveBatch(batch); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load()
	if err != nil || again.Version() != got.Version() {
		t.Fatalf("after batch: %v %v, want %s", again.Version(), err, got.Version())
	}
	if err := checkCounter(again); err != nil {
		t.Fatal(err)
	}
}

// TestStoreSurvivesKill9 runs a child process that writes versions to the
// store as fast as it can and reports each acknowledged one; the parent
// kills it with SIGKILL at random moments and reopens the store, which must
// return a complete version no older than the last acknowledged one.
func TestStoreSurvivesKill9(t *testing.T) {
	if os.Getenv("CIB_STORE_CHILD") != "" {
		storeChild(os.Getenv("CIB_STORE_CHILD"))
		return
	}
	kills := 25
	if testing.Short() {
		kills = 5
	}
	path := filepath.Join(t.TempDir(), "cib.db")
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	var lastAck Version
	for k := 0; k < kills; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreSurvivesKill9$")
		cmd.Env = append(os.Environ(), "CIB_STORE_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := make(chan Version, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var v Version
				if _, err := fmt.Sscanf(sc.Text(), "ack %d.%d.%d", &v.AdminEpoch, &v.Epoch, &v.NumUpdates); err == nil {
					acks <- v
				}
			}
			close(acks)
		}()
		time.Sleep(time.Duration(20+rng.Intn(150)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for v := range acks {
			lastAck = v
		}
		_ = cmd.Wait()
		s, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", k, err)
		}
		c, err := s.Load()
		s.Close()
		if err != nil {
			t.Fatalf("kill %d (seed %d): load: %v", k, seed, err)
		}
		if c.Version().Compare(lastAck) < 0 {
			t.Fatalf("kill %d (seed %d): store returned %s, older than acknowledged %s", k, seed, c.Version(), lastAck)
		}
		if c.Version().Epoch > 0 {
			if err := checkCounter(c); err != nil {
				t.Fatalf("kill %d (seed %d): %v", k, seed, err)
			}
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("kill %d: reopened CIB invalid: %v", k, err)
		}
	}
	if lastAck.Epoch == 0 {
		t.Fatal("the child never acknowledged a write")
	}
	t.Logf("%d kills, last acknowledged %s", kills, lastAck)
}

func storeChild(path string) {
	s, err := OpenStore(path, StoreOptions{Keep: 20, SnapshotEvery: 8})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	c, err := s.Load()
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(1)
	}
	if c.Version().Epoch == 0 {
		c = counterCIB()
		if err := s.Save(c, nil); err != nil {
			os.Exit(1)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		n := c.Version().Epoch
		r, err := c.Apply(Request{Op: OpModify, XML: []byte(fmt.Sprintf(`<nvpair id="opts-counter" value="%d"/>`, n))})
		if err != nil {
			fmt.Println("apply:", err)
			os.Exit(1)
		}
		if err := s.Save(c, r.Patch); err != nil {
			fmt.Println("save:", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "ack %s\n", c.Version())
		w.Flush()
	}
}

func TestMemStore(t *testing.T) {
	m := NewMemStore(3)
	c := counterCIB()
	for i := 0; i < 5; i++ {
		r := step(t, c)
		if err := m.Save(c, r.Patch); err != nil {
			t.Fatal(err)
		}
	}
	vs, _ := m.Versions()
	if len(vs) != 3 {
		t.Fatalf("kept %d", len(vs))
	}
	got, _ := m.Load()
	if got.Version() != c.Version() || !strings.Contains(string(got.Bytes()), `value="5"`) {
		t.Fatalf("load: %s", got.Version())
	}
}
