package executor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// groupFile tracks the process groups of running agents in a file:
// one "PGID STARTTIME" line per group, STARTTIME being field 22 of
// /proc/PGID/stat (clock ticks since boot), which tells a reused pid
// apart.
type groupFile struct {
	path   string
	mu     sync.Mutex
	groups map[int]uint64
}

func newGroupFile(path string) *groupFile {
	return &groupFile{path: path, groups: map[int]uint64{}}
}

func (g *groupFile) add(pgid int) {
	if g.path == "" {
		return
	}
	st, _ := procStartTime(pgid)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.groups[pgid] = st
	g.writeLocked()
}

func (g *groupFile) remove(pgid int) {
	if g.path == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.groups, pgid)
	g.writeLocked()
}

func (g *groupFile) writeLocked() {
	ids := make([]int, 0, len(g.groups))
	for id := range g.groups {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, "%d %d\n", id, g.groups[id])
	}
	tmp := g.path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err == nil {
		_ = os.Rename(tmp, g.path)
	}
}

// procStartTime returns field 22 of /proc/PID/stat.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStartTime(b)
}

func parseStartTime(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, errors.New("short stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// ReapOrphans kills the process groups a previous lrmd recorded in its
// state file and removes the file. A group whose leader pid now belongs to
// a different process (start time differs) is left alone. It returns the
// groups it signalled. A missing file is not an error.
func ReapOrphans(stateFile string) ([]int, error) {
	if stateFile == "" {
		return nil, nil
	}
	f, err := os.Open(stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("executor: reap orphans: %w", err)
	}
	defer f.Close()
	var killed []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var pgid int
		var start uint64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &pgid, &start); err != nil || pgid <= 1 {
			continue
		}
		if now, err := procStartTime(pgid); err == nil && start != 0 && now != start {
			continue // the pid was reused by an unrelated process
		}
		// The leader may be dead (Pdeathsig) while its children still
		// hold the group: the pid cannot be reused while the group
		// exists, so the group is ours.
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err == nil {
			killed = append(killed, pgid)
		}
	}
	if err := os.Remove(stateFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return killed, fmt.Errorf("executor: reap orphans: %w", err)
	}
	return killed, nil
}
