package crm

import (
	"fmt"
	"log/slog"
	"time"
)

// NoQuorumPolicy says what a partition without quorum does about a DC.
type NoQuorumPolicy string

// The policies. Only Ignore lets a partition without quorum elect a DC;
// Stop and Freeze differ only for resources (the policy engine's business).
const (
	NoQuorumStop   NoQuorumPolicy = "stop"
	NoQuorumFreeze NoQuorumPolicy = "freeze"
	NoQuorumIgnore NoQuorumPolicy = "ignore"
)

// Config configures a Node.
type Config struct {
	// Name is this node's name (uname), as in the membership view.
	Name string
	// Retry is how often an unanswered vote, join offer, join confirm or
	// lagging replica is retried.
	Retry time.Duration
	// WriteTimeout bounds how long a client write waits (for a DC, for the
	// DC's answer and for replication) before ErrTimeout/ErrNoDC.
	WriteTimeout time.Duration
	// NoQuorumPolicy: without quorum, elect a DC only when "ignore". The
	// daemon takes it from crm_config's no-quorum-policy.
	NoQuorumPolicy NoQuorumPolicy
	// Window is how many epochs the DC's CIB may run ahead of the version
	// every member has persisted; writes beyond it wait. Every join bumps
	// the epoch by Window+1 and then by 1, each once every member has
	// persisted what precedes it, so that a stale DC (one that has not
	// yet heard it lost its partition) can never out-version the CIB of a
	// later quorate partition (see doc.go).
	Window int
	// HistoryLen is how many configuration versions (admin_epoch, epoch ->
	// digest) every node remembers to tell a stale copy from a divergent
	// one at a merge.
	HistoryLen int
	// Incarnation identifies this run of crmd; it must grow across
	// restarts of the node's crmd (the daemon may leave it 0: the core
	// then takes the UnixNano of the first SetView's now). Votes carry it
	// so that a crmd restarted within an unchanged membership view makes
	// the others elect again instead of mixing its old and new votes.
	Incarnation uint64
	// SendAhead puts the DC's patches in Ready.Ahead, which the caller
	// sends before (or while) saving Ready.Persist, so that the replicas'
	// fsync overlaps the DC's. Acknowledgements still wait for the DC's
	// own save and every member's (see doc.go). Off by default so that a
	// caller that does not handle Ready.Ahead loses nothing.
	SendAhead bool
	// Logger receives debug and info logs; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for node name.
func DefaultConfig(name string) Config {
	return Config{
		Name:           name,
		Retry:          500 * time.Millisecond, // a few round trips on a LAN; cheap to repeat
		WriteTimeout:   30 * time.Second,       // a client waits through one re-election (deadtime) and a join
		NoQuorumPolicy: NoQuorumStop,           // Pacemaker's default
		Window:         8,                      // pipelines concurrent writers; costs Window+2 = 10 epochs per join
		HistoryLen:     1024,                   // ~1000 configuration changes of lineage, a few tens of KiB
	}
}

// Validate reports a configuration the node cannot run with.
func (c Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("crm: config: %w: empty node name", ErrBadRequest)
	}
	if !validName(c.Name) {
		return fmt.Errorf("crm: config: %w: node name %q has quotes or spaces", ErrBadRequest, c.Name)
	}
	if c.Retry <= 0 || c.WriteTimeout <= 0 {
		return fmt.Errorf("crm: config: %w: Retry and WriteTimeout must be positive", ErrBadRequest)
	}
	switch c.NoQuorumPolicy {
	case NoQuorumStop, NoQuorumFreeze, NoQuorumIgnore:
	default:
		return fmt.Errorf("crm: config: %w: no-quorum-policy %q", ErrBadRequest, c.NoQuorumPolicy)
	}
	if c.Window < 1 || c.Window > 1<<20 {
		return fmt.Errorf("crm: config: %w: Window must be in [1, 2^20]", ErrBadRequest)
	}
	if c.HistoryLen < 1 {
		return fmt.Errorf("crm: config: %w: HistoryLen must be at least 1", ErrBadRequest)
	}
	return nil
}

// validName accepts names that can sit inside an XPath literal and an XML id.
func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == '\'' || r == '"' || r == '<' || r == '>' || r == '&' || r == 0x7f {
			return false
		}
	}
	return true
}
