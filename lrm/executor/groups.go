package executor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// groupFile tracks the process groups of running agents in a file, as an
// append-only log: "+ PGID STARTTIME" when an agent starts, "- PGID" when
// it ends; the file is truncated whenever no agent runs, so it stays
// small. STARTTIME is field 22 of /proc/PGID/stat (clock ticks since
// boot), which tells a reused pid apart. Appending one line costs one
// write(2), cheap enough for hundreds of actions per second.
type groupFile struct {
	path   string
	mu     sync.Mutex
	f      *os.File
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
	g.appendLocked(fmt.Sprintf("+ %d %d\n", pgid, st))
}

func (g *groupFile) remove(pgid int) {
	if g.path == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.groups, pgid)
	if len(g.groups) == 0 && g.f != nil {
		if err := g.f.Truncate(0); err == nil {
			return
		}
	}
	g.appendLocked(fmt.Sprintf("- %d\n", pgid))
}

func (g *groupFile) appendLocked(line string) {
	if g.f == nil {
		f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		g.f = f
	}
	_, _ = g.f.WriteString(line)
}

// readGroups replays a group log into the set of groups still running.
func readGroups(r io.Reader) map[int]uint64 {
	groups := map[int]uint64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(f[1])
		if err != nil || pgid <= 1 {
			continue
		}
		switch {
		case f[0] == "+" && len(f) == 3:
			st, _ := strconv.ParseUint(f[2], 10, 64)
			groups[pgid] = st
		case f[0] == "-":
			delete(groups, pgid)
		}
	}
	return groups
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
	groups := readGroups(f)
	ids := make([]int, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, pgid := range ids {
		start := groups[pgid]
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
