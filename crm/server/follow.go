package server

import (
	"context"
	"slices"
	"time"

	"github.com/systole/systole/crm"
	memclient "github.com/systole/systole/membership/client"
	msgclient "github.com/systole/systole/messaging/client"
)

// retryDelay is how long the followers wait before reconnecting to a
// daemon that went away.
const retryDelay = 200 * time.Millisecond

// Messaging is the Transport over the local messagingd (channel "crmd").
type Messaging struct {
	C *msgclient.Client
}

// Send implements Transport.
func (m Messaging) Send(ctx context.Context, to string, data []byte) error {
	return m.C.Send(ctx, to, Channel, data)
}

// FollowMessaging subscribes to channels "crmd" and "crmd-exec" on the
// local messagingd and delivers every message to s until ctx ends or Run stops, resubscribing
// when messagingd goes away (the core retries what was lost meanwhile).
// ready, when not nil, is closed after the first subscription is in place.
func FollowMessaging(ctx context.Context, s *Server, c *msgclient.Client, ready chan<- struct{}) {
	ctx, cancel := stopWith(ctx, s)
	defer cancel()
	for ctx.Err() == nil {
		sub, err := c.Subscribe(ctx, Channel, ExecChannel)
		if err != nil {
			s.log.Debug("messaging subscribe failed; retrying", "err", err)
			sleep(ctx, retryDelay)
			continue
		}
		if ready != nil {
			close(ready)
			ready = nil
		}
		for {
			m, err := sub.Recv()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("messaging subscription ended; resubscribing", "err", err)
				}
				break
			}
			if m.GetChannel() == ExecChannel {
				if err := s.DeliverExec(ctx, m.GetFrom(), m.GetPayload()); err != nil {
					return
				}
				continue
			}
			if err := s.Deliver(ctx, m.GetFrom(), m.GetPayload()); err != nil {
				return
			}
		}
		sleep(ctx, retryDelay)
	}
}

// FollowMembership watches the local membershipd's views and hands every
// installed view to s until ctx ends or Run stops, re-watching when
// membershipd goes away.
func FollowMembership(ctx context.Context, s *Server, c *memclient.Client) {
	ctx, cancel := stopWith(ctx, s)
	defer cancel()
	for ctx.Err() == nil {
		w, err := c.Watch(ctx)
		if err != nil {
			s.log.Debug("membership watch failed; retrying", "err", err)
			sleep(ctx, retryDelay)
			continue
		}
		for {
			ev, err := w.Recv()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("membership watch ended; watching again", "err", err)
				}
				break
			}
			v := ev.GetView()
			if v == nil || v.GetNumber() == 0 {
				continue // a left-out notice, or no view installed yet
			}
			if err := s.SetView(ctx, crm.View{Number: v.GetNumber(), Members: sortedCopy(v.GetMembers()), Quorum: v.GetQuorum()}); err != nil {
				return
			}
		}
		sleep(ctx, retryDelay)
	}
}

func sortedCopy(ms []string) []string {
	out := slices.Clone(ms)
	slices.Sort(out)
	return out
}

// stopWith returns a context that also ends when s's loop stops.
func stopWith(ctx context.Context, s *Server) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
			cancel()
		}
	}()
	return ctx, cancel
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
