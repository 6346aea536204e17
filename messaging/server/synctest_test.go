package server

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/systole/systole/messaging"
	"github.com/systole/systole/messaging/transport"
)

// TestDetectionVirtualTime runs three daemon shells over an in-memory
// medium inside a synctest bubble: time is virtual, so the detection
// bound deadtime + keepalive is checked exactly, without wall-clock
// flakiness.
func TestDetectionVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := messaging.ParseHaCf("ha.cf", []byte("node a b c\nbcast mem0\nkeepalive 100ms\ndeadtime 500ms\ninitdead 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		keys := &messaging.Keys{Active: 1, ByID: map[uint8]messaging.Key{1: {ID: 1, Method: messaging.MethodSHA256, Secret: []byte("k")}}}
		net := transport.NewMemNetwork("bcast mem0")
		servers := map[string]*Server{}
		cancels := map[string]context.CancelFunc{}
		done := map[string]chan struct{}{}
		for _, name := range []string{"a", "b", "c"} {
			s, err := New(Options{Config: h, Keys: keys, Node: name, Generation: 1, Media: []transport.Transport{net.Attach()}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			servers[name], cancels[name], done[name] = s, cancel, make(chan struct{})
			go func() { s.Run(ctx, ""); close(done[name]) }()
		}
		defer func() {
			for n, c := range cancels {
				c()
				<-done[n]
			}
		}()
		state := func(obs, peer string) messaging.PeerState {
			var st messaging.PeerState
			servers[obs].call(context.Background(), func() {
				for _, p := range servers[obs].node.Peers() {
					if p.Node == peer {
						st = p.State
					}
				}
			})
			return st
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for _, o := range []string{"a", "b", "c"} {
			for _, p := range []string{"a", "b", "c"} {
				if o != p && state(o, p) != messaging.PeerUp {
					t.Fatalf("%s sees %s %v", o, p, state(o, p))
				}
			}
		}
		time.Sleep(37 * time.Millisecond) // kill at an arbitrary heartbeat phase
		cancels["c"]()
		<-done["c"]
		delete(cancels, "c")
		killed := time.Now()
		for state("a", "c") == messaging.PeerUp || state("b", "c") == messaging.PeerUp {
			time.Sleep(time.Millisecond)
			if time.Since(killed) > 2*time.Second {
				t.Fatal("c never declared dead")
			}
		}
		if d := time.Since(killed); d > 600*time.Millisecond {
			t.Fatalf("c declared dead after %v > deadtime + keepalive", d)
		}
		t.Logf("dead after %v (virtual)", time.Since(killed))
	})
}
