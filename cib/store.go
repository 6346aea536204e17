package cib

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store persists CIB versions. Implementations are safe for use by one
// goroutine at a time; Save blocks until the version is durable (unless
// the store was opened with NoSync).
type Store interface {
	// Load returns the newest complete version, or a new empty CIB when
	// the store holds none.
	Load() (*CIB, error)
	// Save records the CIB after an operation. p is the patch that led to
	// c from the previously saved version; nil records a full copy.
	Save(c *CIB, p *Patch) error
	// SaveBatch records several consecutive versions in one transaction
	// (one fsync); entries are in version order.
	SaveBatch(entries []Entry) error
	// Versions lists the versions the store can still return, oldest first.
	Versions() ([]Version, error)
	// Close releases the store.
	Close() error
}

// Entry is one version to persist: the CIB and the patch from the previous
// saved version (nil for a full copy).
type Entry struct {
	CIB   *CIB
	Patch *Patch
}

// StoreOptions tunes a BoltStore.
type StoreOptions struct {
	// Keep is how many of the newest versions stay retrievable (default 100).
	Keep int
	// SnapshotEvery writes a full copy after this many patches. The
	// default (0) is adaptive: a full copy once the patches since the last
	// one add up to half its size, or after 4096 patches, which bounds
	// both the replay work at open and the copying cost per write.
	SnapshotEvery int
	// NoSync skips fsync (tests and benchmarks only: a crash may lose
	// acknowledged writes).
	NoSync bool
	// Timeout for acquiring the file lock (default 5 s).
	Timeout time.Duration
}

// DefaultStoreOptions returns the defaults described on StoreOptions.
func DefaultStoreOptions() StoreOptions {
	return StoreOptions{Keep: 100, Timeout: 5 * time.Second}
}

var (
	bucketLog  = []byte("cib-log")
	bucketMeta = []byte("meta")
	keyNext    = []byte("next")
)

const (
	recFull  byte = 1
	recPatch byte = 2
)

// BoltStore keeps CIB versions in a bbolt file as a log of records: full
// copies every SnapshotEvery versions and patches in between. Each Save is
// one bbolt transaction, so a crash at any moment leaves the newest
// committed version intact.
type BoltStore struct {
	db         *bolt.DB
	opts       StoreOptions
	sinceFull  int
	bytesSince int      // patch bytes since the last full copy
	fullSize   int      // size of the last full copy
	last       *Version // version of the newest record, when known
}

// OpenStore opens (creating if needed) the bbolt store at path.
func OpenStore(path string, opts StoreOptions) (*BoltStore, error) {
	def := DefaultStoreOptions()
	if opts.Keep <= 0 {
		opts.Keep = def.Keep
	}
	if opts.Timeout <= 0 {
		opts.Timeout = def.Timeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("cib: open store %s: %w", path, err)
	}
	s := &BoltStore{db: db, opts: opts}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketLog); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cib: init store %s: %w", path, err)
	}
	return s, nil
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// Load implements Store.
func (s *BoltStore) Load() (*CIB, error) {
	var c *CIB
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketLog).Cursor()
		// find the newest full record
		var fullKey []byte
		for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
			if len(v) > 0 && v[0] == recFull {
				fullKey = k
				break
			}
		}
		if fullKey == nil {
			c = New()
			return nil
		}
		since := 0
		for k, v := cur.Seek(fullKey); k != nil; k, v = cur.Next() {
			if len(v) == 0 {
				return fmt.Errorf("empty record %x", k)
			}
			switch v[0] {
			case recFull:
				nc, err := Parse(v[1:])
				if err != nil {
					return fmt.Errorf("record %x: %w", k, err)
				}
				c = nc
				since = 0
				s.fullSize, s.bytesSince = len(v), 0
			case recPatch:
				p, err := ParsePatch(v[1:])
				if err != nil {
					return fmt.Errorf("record %x: %w", k, err)
				}
				if _, err := c.ApplyPatch(p); err != nil {
					return fmt.Errorf("record %x: %w", k, err)
				}
				since++
				s.bytesSince += len(v)
			default:
				return fmt.Errorf("record %x: unknown type %d", k, v[0])
			}
		}
		s.sinceFull = since
		v := c.Version()
		s.last = &v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cib: load store: %w", err)
	}
	return c, nil
}

// Save implements Store.
func (s *BoltStore) Save(c *CIB, p *Patch) error {
	return s.SaveBatch([]Entry{{CIB: c, Patch: p}})
}

// SaveBatch implements Store.
func (s *BoltStore) SaveBatch(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	since := s.sinceFull
	last := s.last
	bytesSince, fullSize := s.bytesSince, s.fullSize
	snapshotDue := func() bool {
		if s.opts.SnapshotEvery > 0 {
			return since+1 >= s.opts.SnapshotEvery
		}
		return since+1 >= 4096 || (fullSize > 0 && bytesSince > fullSize/2) || fullSize == 0
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		meta := tx.Bucket(bucketMeta)
		next := uint64(1)
		if v := meta.Get(keyNext); len(v) == 8 {
			next = binary.BigEndian.Uint64(v)
		}
		for i, e := range entries {
			var rec []byte
			v := e.CIB.Version()
			chained := e.Patch != nil && last != nil && e.Patch.Source == *last
			// a full copy is only possible when the entry's CIB is still
			// at the entry's version (callers may batch one mutating CIB)
			fullOK := e.Patch == nil || v == e.Patch.Target
			switch {
			case fullOK && (!chained || snapshotDue() || next == 1):
				rec = append([]byte{recFull}, e.CIB.Bytes()...)
				since, bytesSince, fullSize = 0, 0, len(rec)
			case chained:
				rec = append([]byte{recPatch}, e.Patch.Bytes()...)
				v = e.Patch.Target
				since++
				bytesSince += len(rec)
			default:
				return fmt.Errorf("entry %d: patch %s->%s does not follow the stored version and its CIB is at %s", i, e.Patch.Source, e.Patch.Target, v)
			}
			if err := b.Put(u64(next), rec); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			last = &v
			next++
		}
		if err := meta.Put(keyNext, u64(next)); err != nil {
			return err
		}
		return s.prune(b, next)
	})
	if err != nil {
		return fmt.Errorf("cib: save %s: %w", entries[len(entries)-1].CIB.Version(), err)
	}
	s.sinceFull = since
	s.bytesSince, s.fullSize = bytesSince, fullSize
	s.last = last
	return nil
}

// prune drops records that are older than the Keep newest and not needed
// as a base for them.
func (s *BoltStore) prune(b *bolt.Bucket, next uint64) error {
	if next <= uint64(s.opts.Keep)+1 {
		return nil
	}
	oldest := next - uint64(s.opts.Keep)
	cur := b.Cursor()
	// the base: newest full record at or before oldest
	var base uint64
	for k, v := cur.Seek(u64(oldest)); ; k, v = cur.Prev() {
		if k == nil {
			return nil
		}
		if binary.BigEndian.Uint64(k) <= oldest && len(v) > 0 && v[0] == recFull {
			base = binary.BigEndian.Uint64(k)
			break
		}
	}
	var del [][]byte
	for k, _ := cur.First(); k != nil && binary.BigEndian.Uint64(k) < base; k, _ = cur.Next() {
		del = append(del, append([]byte(nil), k...))
	}
	for _, k := range del {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Versions implements Store: it replays the log, so it is meant for tools
// and tests, not hot paths.
func (s *BoltStore) Versions() ([]Version, error) {
	var out []Version
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketLog).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if len(v) == 0 {
				continue
			}
			switch v[0] {
			case recFull:
				c, err := Parse(v[1:])
				if err != nil {
					return err
				}
				out = append(out, c.Version())
			case recPatch:
				p, err := ParsePatch(v[1:])
				if err != nil {
					return err
				}
				out = append(out, p.Target)
			}
		}
		return nil
	})
	return out, err
}

// Close implements Store.
func (s *BoltStore) Close() error { return s.db.Close() }

// MemStore is an in-memory Store for tests and simulations.
type MemStore struct {
	versions []*CIB
	keep     int
}

// NewMemStore returns an empty in-memory store keeping keep versions.
func NewMemStore(keep int) *MemStore {
	if keep <= 0 {
		keep = 100
	}
	return &MemStore{keep: keep}
}

// Load implements Store.
func (m *MemStore) Load() (*CIB, error) {
	if len(m.versions) == 0 {
		return New(), nil
	}
	return m.versions[len(m.versions)-1].Clone(), nil
}

// Save implements Store.
func (m *MemStore) Save(c *CIB, _ *Patch) error {
	m.versions = append(m.versions, c.Clone())
	if len(m.versions) > m.keep {
		m.versions = m.versions[len(m.versions)-m.keep:]
	}
	return nil
}

// SaveBatch implements Store.
func (m *MemStore) SaveBatch(entries []Entry) error {
	for _, e := range entries {
		if err := m.Save(e.CIB, e.Patch); err != nil {
			return err
		}
	}
	return nil
}

// Versions implements Store.
func (m *MemStore) Versions() ([]Version, error) {
	out := make([]Version, len(m.versions))
	for i, c := range m.versions {
		out[i] = c.Version()
	}
	return out, nil
}

// Close implements Store.
func (m *MemStore) Close() error { return nil }
