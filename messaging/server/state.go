package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/systole/systole/messaging"
)

// NextGeneration reads the generation stored in dir, computes the next one
// and stores it durably (write, fsync, rename, fsync dir) before returning
// it. The next generation is the larger of stored+1 and the current Unix
// time in seconds, so it keeps growing even if the state file is lost
// (as Heartbeat's hbgenmethod time), and never repeats a value used
// before, which also keeps AES-GCM nonces unique.
func NextGeneration(dir string, now time.Time) (uint64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("server: state dir: %w", err)
	}
	path := filepath.Join(dir, "generation")
	var old uint64
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		old, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("server: %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return 0, fmt.Errorf("server: %w", err)
	}
	gen := max(old+1, uint64(now.Unix()))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("server: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", gen)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		if d, derr := os.Open(dir); derr == nil {
			err = errors.Join(d.Sync(), d.Close())
		}
	}
	if err != nil {
		return 0, fmt.Errorf("server: store generation: %w", err)
	}
	return gen, nil
}

// LoadAuthkeys reads and parses an authkeys file, refusing it unless its
// mode is 0600 or stricter.
func LoadAuthkeys(path string) (*messaging.Keys, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return messaging.ParseAuthkeys(path, b, st.Mode())
}

// LoadHaCf reads and parses an ha.cf file.
func LoadHaCf(path string) (*messaging.HaCf, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return messaging.ParseHaCf(path, b)
}
