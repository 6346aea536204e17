package server

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	memclient "github.com/systole/systole/membership/client"
	msgclient "github.com/systole/systole/messaging/client"
	membershipv1 "github.com/systole/systole/proto/membership/v1"
	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// fakeDaemons serves the messaging and membership APIs; the first stream
// of each ends with an error, so the followers must reconnect.
type fakeDaemons struct {
	messagingv1.UnimplementedMessagingServiceServer
	membershipv1.UnimplementedMembershipServiceServer

	mu         sync.Mutex
	subs       int
	watches    int
	sent       []*messagingv1.SendRequest
	deliver    []*messagingv1.Message // sent on the second subscription
	views      []*membershipv1.View   // sent on the second watch
	firstViews []*membershipv1.View   // sent on the first watch before it fails
}

func (f *fakeDaemons) Send(_ context.Context, r *messagingv1.SendRequest) (*messagingv1.SendResponse, error) {
	f.mu.Lock()
	f.sent = append(f.sent, r)
	f.mu.Unlock()
	return &messagingv1.SendResponse{}, nil
}

func (f *fakeDaemons) Subscribe(_ *messagingv1.SubscribeRequest, s grpc.ServerStreamingServer[messagingv1.SubscribeResponse]) error {
	if err := s.SendHeader(nil); err != nil {
		return err
	}
	f.mu.Lock()
	f.subs++
	n := f.subs
	f.mu.Unlock()
	if n == 1 {
		return status.Error(codes.Unavailable, "restarting")
	}
	for _, m := range f.deliver {
		if err := s.Send(&messagingv1.SubscribeResponse{Message: m}); err != nil {
			return err
		}
	}
	<-s.Context().Done()
	return nil
}

func (f *fakeDaemons) WatchViews(_ *membershipv1.WatchViewsRequest, s grpc.ServerStreamingServer[membershipv1.WatchViewsResponse]) error {
	f.mu.Lock()
	f.watches++
	n := f.watches
	f.mu.Unlock()
	vs := f.views
	if n == 1 {
		vs = f.firstViews
	}
	for i, v := range vs {
		if err := s.Send(&membershipv1.WatchViewsResponse{Event: &membershipv1.WatchViewsResponse_View{View: v}, Initial: i == 0}); err != nil {
			return err
		}
	}
	if n == 1 {
		return status.Error(codes.Unavailable, "restarting")
	}
	<-s.Context().Done()
	return nil
}

func TestFollowersReconnectAndFeedTheLoop(t *testing.T) {
	// n2's vote knows n1's incarnation (crm.Config.Incarnation below)
	vote := crm.Message{Type: crm.MsgVote, View: 2, Members: []string{"n1", "n2"}, Incs: []uint64{5, 7}}
	f := &fakeDaemons{
		firstViews: []*membershipv1.View{{Number: 0}, {Number: 1, Members: []string{"n1"}, Quorum: false}},
		views:      []*membershipv1.View{{Number: 2, Members: []string{"n2", "n1"}, Quorum: true}},
		deliver: []*messagingv1.Message{
			{From: "n1", Channel: Channel, Payload: []byte("echo of our own broadcast: dropped, never decoded")},
			{From: "n2", Channel: Channel, Payload: crm.Encode(vote)},
		},
	}
	sock := filepath.Join(t.TempDir(), "d.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	messagingv1.RegisterMessagingServiceServer(gs, f)
	membershipv1.RegisterMembershipServiceServer(gs, f)
	go gs.Serve(lis)
	defer gs.Stop()

	mc, err := msgclient.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mem, err := memclient.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	core := crm.DefaultConfig("n1")
	core.Incarnation = 5
	s, err := New(core, cib.NewMemStore(10), Messaging{C: mc}, Config{Tick: 10 * time.Millisecond, Logger: testLogger("n1")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go s.Run(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); FollowMessaging(ctx, s, mc, nil) }()
	go func() { defer wg.Done(); FollowMembership(ctx, s, mem) }()

	// n1 sees view 2 (members sorted), gets n2's vote, and both votes
	// elect n1 (the name that sorts first)
	for {
		st := s.Status()
		if st.View.Number == 2 && st.IsDC {
			if st.View.Members[0] != "n1" || !st.View.Quorum {
				t.Errorf("view %+v: members not sorted or quorum lost", st.View)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("never became DC of view 2: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// the sender goroutine sends the vote asynchronously: wait for it
	var votes int
	for votes == 0 && ctx.Err() == nil {
		f.mu.Lock()
		for _, r := range f.sent {
			if r.Channel != Channel {
				t.Errorf("sent on channel %q", r.Channel)
			}
			if m, err := crm.Decode(r.Payload); err == nil && m.Type == crm.MsgVote && m.View == 2 {
				votes++
			}
		}
		f.mu.Unlock()
		if votes == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.mu.Lock()
	if f.subs < 2 || f.watches < 2 {
		t.Errorf("followers did not reconnect: %d subscriptions, %d watches", f.subs, f.watches)
	}
	f.mu.Unlock()
	if votes == 0 {
		t.Errorf("n1 never sent its vote for view 2 through messaging")
	}
	cancel()
	wg.Wait()
}
