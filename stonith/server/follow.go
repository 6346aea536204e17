package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	cibclient "github.com/systole/systole/cib/client"
	msgclient "github.com/systole/systole/messaging/client"
	cibv1 "github.com/systole/systole/proto/cib/v1"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
	"github.com/systole/systole/stonith"
)

// retryDelay is how long the followers wait before reconnecting to a
// daemon that went away.
const retryDelay = 200 * time.Millisecond

// Messaging is the Transport over the local messagingd (channel stonithd).
type Messaging struct {
	C *msgclient.Client
}

// Send implements Transport.
func (m Messaging) Send(ctx context.Context, to string, data []byte) error {
	return m.C.Send(ctx, to, Channel, data)
}

// FollowMessaging subscribes to channel stonithd on the local messagingd
// and delivers every message to s until ctx ends, resubscribing when
// messagingd goes away. After each (re)subscription it asks every node for
// its history. ready, when not nil, is closed after the first
// subscription is in place.
func FollowMessaging(ctx context.Context, s *Server, c *msgclient.Client, ready chan<- struct{}) {
	for ctx.Err() == nil {
		sub, err := c.Subscribe(ctx, Channel)
		if err != nil {
			s.log.Debug("messaging subscribe failed; retrying", "err", err)
			sleep(ctx, retryDelay)
			continue
		}
		if ready != nil {
			close(ready)
			ready = nil
		}
		s.AskHistory("")
		for {
			m, err := sub.Recv()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("messaging subscription ended; resubscribing", "err", err)
				}
				break
			}
			if err := s.Deliver(ctx, m.GetFrom(), m.GetPayload()); err != nil {
				return
			}
		}
		sleep(ctx, retryDelay)
	}
}

// FollowPeers watches messagingd's peer table and hands every peer's
// liveness to s (SetPeer) until ctx ends, re-watching when messagingd goes
// away.
func FollowPeers(ctx context.Context, s *Server, c *msgclient.Client) {
	for ctx.Err() == nil {
		w, err := c.WatchPeers(ctx)
		if err != nil {
			s.log.Debug("peer watch failed; retrying", "err", err)
			sleep(ctx, retryDelay)
			continue
		}
		for {
			ev, err := w.Recv()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("peer watch ended; watching again", "err", err)
				}
				break
			}
			pe := ev.GetPeer()
			if pe == nil || pe.GetPeer() == nil {
				continue
			}
			p := pe.GetPeer()
			s.SetPeer(p.GetNode(), p.GetState() == messagingv1.PeerState_PEER_STATE_UP, pe.GetRestarted())
		}
		sleep(ctx, retryDelay)
	}
}

// CIBSource is what the CIB watch needs of the CIB service (a
// *cibclient.GRPC).
type CIBSource interface {
	Watch(ctx context.Context, fullCopy bool, fn func(*cibv1.WatchEvent) error) error
	Query(ctx context.Context, req cib.Request) ([]*etree.Element, cib.Version, error)
}

var _ CIBSource = (*cibclient.GRPC)(nil)

// WatchCIB follows the CIB (crmd's CIBService.Watch) until ctx ends,
// reconnecting when crmd goes away: the first event is a full copy; after
// it, every change outside the status section makes it read the whole
// CIB again. Each configuration read is parsed (stonith.ParseCIB) and
// applied with SetTopology; a bad configuration is logged and the
// previous one kept. ready, when not nil, is closed after the first
// configuration was applied (or refused).
func WatchCIB(ctx context.Context, s *Server, c CIBSource, ready chan<- struct{}) {
	var last string
	apply := func(doc *etree.Document, version string) {
		t, err := stonith.FromDocument(doc)
		if ready != nil {
			defer func() { close(ready); ready = nil }()
		}
		if err != nil {
			s.log.Error("bad fencing configuration; keeping the previous one", "version", version, "err", err)
			return
		}
		if err := s.SetTopology(ctx, t); err != nil {
			return
		}
		sum := summary(t)
		if sum != last {
			last = sum
			s.log.Info("fencing configuration", "version", version, "devices", strings.Join(t.DeviceIDs(), ","), "levels", len(t.Levels),
				"stonith_timeout", t.Options.Timeout, "watchdog_timeout", t.Options.WatchdogTimeout)
			for _, w := range t.Warnings {
				s.log.Warn("fencing option ignored", "why", w)
			}
		}
	}
	reread := func() error {
		els, v, err := c.Query(ctx, cib.Request{Op: cib.OpQuery})
		if err != nil {
			return err
		}
		if len(els) != 1 {
			return fmt.Errorf("stonithd: CIB query returned %d elements", len(els))
		}
		doc := etree.NewDocument()
		doc.SetRoot(els[0])
		apply(doc, v.String())
		return nil
	}
	for ctx.Err() == nil {
		err := c.Watch(ctx, true, func(ev *cibv1.WatchEvent) error {
			if ev.GetFull() {
				doc := etree.NewDocument()
				if err := doc.ReadFromBytes(ev.GetCib()); err != nil {
					s.log.Error("unreadable CIB from the watch", "err", err)
					return nil
				}
				apply(doc, versionString(ev.GetVersion()))
				return nil
			}
			if touchesConfiguration(ev.GetPatch()) {
				return reread()
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		s.log.Debug("CIB watch ended; watching again", "err", err)
		sleep(ctx, retryDelay)
	}
}

func versionString(v *cibv1.Version) string {
	return fmt.Sprintf("%d.%d.%d", v.GetAdminEpoch(), v.GetEpoch(), v.GetNumUpdates())
}

// touchesConfiguration reports whether a patch changes anything outside
// the status section (an unreadable patch counts as a change).
func touchesConfiguration(patch []byte) bool {
	if len(patch) == 0 {
		return false
	}
	p, err := cib.ParsePatch(patch)
	if err != nil {
		return true
	}
	for _, c := range p.Changes {
		if c.Path != "/cib/status" && !strings.HasPrefix(c.Path, "/cib/status/") && !strings.HasPrefix(c.Path, "/cib/status[") {
			return true
		}
	}
	return false
}

// summary is a short fingerprint of what is logged about a topology.
func summary(t *stonith.Topology) string {
	var b strings.Builder
	for _, id := range t.DeviceIDs() {
		d := t.Devices[id]
		fmt.Fprintf(&b, "%s/%s/%v/%s;", id, d.Agent, d.Disabled, strings.Join(d.HostList, ","))
	}
	for _, l := range t.Levels {
		fmt.Fprintf(&b, "%s:%d:%s:%s;", l.Target+l.TargetPattern, l.Index, l.ID, strings.Join(l.Devices, ","))
	}
	fmt.Fprintf(&b, "%v/%v/%s", t.Options.Timeout, t.Options.WatchdogTimeout, strings.Join(slices.Clone(t.Warnings), ";"))
	return b.String()
}
