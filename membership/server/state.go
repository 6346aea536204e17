package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/systole/systole/membership"
)

// StateFile is the name of the hard state file in the state directory.
const StateFile = "membership.state"

// stateJSON is the on-disk form of membership.HardState.
type stateJSON struct {
	Incarnation uint64 `json:"incarnation"`
	MaxView     uint64 `json:"max_view"`
}

// Store keeps the core's HardState in a state directory. It holds an exclusive lock on
// the directory's lock file so two daemons never share one state.
type Store struct {
	dir  string
	lock *os.File
}

// OpenStore creates dir if needed, locks it and returns the store.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: state dir: %w", ErrState, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "membership.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is in use by another membershipd: %w", ErrState, dir, err)
	}
	return &Store{dir: dir, lock: f}, nil
}

// Close releases the lock.
func (s *Store) Close() error { return s.lock.Close() }

// Path returns the hard state file's path.
func (s *Store) Path() string { return filepath.Join(s.dir, StateFile) }

// Load returns the stored hard state, or the zero state if there is none yet. A file
// that does not parse is an error: starting over could reuse view numbers.
func (s *Store) Load() (membership.HardState, error) {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return membership.HardState{}, nil
	}
	if err != nil {
		return membership.HardState{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return membership.HardState{}, fmt.Errorf("%w: %s: %w (remove the file only if no view number may be reused)", ErrState, s.Path(), err)
	}
	return membership.HardState{Incarnation: j.Incarnation, MaxView: j.MaxView}, nil
}

// Save writes hs durably: temporary file, fsync, rename, fsync of the directory.
func (s *Store) Save(hs membership.HardState) error {
	b, err := json.Marshal(stateJSON{Incarnation: hs.Incarnation, MaxView: hs.MaxView})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	b = append(b, '\n')
	tmp := s.Path() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	_, err = f.Write(b)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, s.Path())
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(s.dir); err == nil {
			err = errors.Join(d.Sync(), d.Close())
		}
	}
	if err != nil {
		return fmt.Errorf("%w: store: %w", ErrState, err)
	}
	return nil
}
