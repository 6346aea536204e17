// Package client is the Go client of messagingd's local API
// (proto/messaging/v1, MessagingService on a unix socket). The membership
// and CRM daemons use it to send cluster messages, receive them, and
// follow peer liveness.
//
//	c, err := client.Dial("/run/systole/messaging.sock")
//	defer c.Close()
//	err = c.Send(ctx, "", "crmd", payload)        // to every node
//	sub, err := c.Subscribe(ctx, "crmd")
//	for { m, err := sub.Recv(); ... }             // in order per sender
//	w, err := c.WatchPeers(ctx)                   // snapshot, then changes
//
// A Client is safe for concurrent use.
package client

import (
	"context"
	"fmt"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	messagingv1 "github.com/systole/systole/proto/messaging/v1"
)

// DefaultSocket is messagingd's default API socket.
const DefaultSocket = "/run/systole/messaging.sock"

// maxMessage matches the server's limit so 32 MiB messages pass.
const maxMessage = 64 << 20

// Client is a connection to the local messagingd.
type Client struct {
	conn *grpc.ClientConn
	api  messagingv1.MessagingServiceClient
}

// Dial connects to the messagingd API socket at path. The connection is
// made lazily; calls fail with codes.Unavailable while the daemon is down.
func Dial(path string) (*Client, error) {
	abs, err := filepath.Abs(path) // a relative unix:// target would parse as an authority
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", path, err)
	}
	conn, err := grpc.NewClient("unix://"+abs,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", path, err)
	}
	return &Client{conn: conn, api: messagingv1.NewMessagingServiceClient(conn)}, nil
}

// API returns the raw generated client.
func (c *Client) API() messagingv1.MessagingServiceClient { return c.api }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Send queues payload for dest ("" = every node, this one included) on
// channel. It returns when the daemon has queued the message.
func (c *Client) Send(ctx context.Context, dest, channel string, payload []byte) error {
	_, err := c.api.Send(ctx, &messagingv1.SendRequest{Dest: dest, Channel: channel, Payload: payload})
	return err
}

// Subscription is a stream of delivered messages.
type Subscription struct {
	s messagingv1.MessagingService_SubscribeClient
}

// Subscribe starts receiving messages on channels (all if none). It
// returns once the daemon has registered the subscription, so every
// message delivered afterwards is received. Cancel ctx to stop.
func (c *Client) Subscribe(ctx context.Context, channels ...string) (*Subscription, error) {
	s, err := c.api.Subscribe(ctx, &messagingv1.SubscribeRequest{Channels: channels})
	if err != nil {
		return nil, err
	}
	if _, err := s.Header(); err != nil {
		return nil, err
	}
	return &Subscription{s: s}, nil
}

// Recv blocks for the next message.
func (s *Subscription) Recv() (*messagingv1.Message, error) {
	r, err := s.s.Recv()
	if err != nil {
		return nil, err
	}
	return r.GetMessage(), nil
}

// PeerWatch is a stream of peer, link and lost-message events.
type PeerWatch struct {
	s messagingv1.MessagingService_WatchPeersClient
}

// WatchPeers starts watching: a snapshot event per peer first, then
// changes. Cancel ctx to stop.
func (c *Client) WatchPeers(ctx context.Context) (*PeerWatch, error) {
	s, err := c.api.WatchPeers(ctx, &messagingv1.WatchPeersRequest{})
	if err != nil {
		return nil, err
	}
	return &PeerWatch{s: s}, nil
}

// Recv blocks for the next event.
func (w *PeerWatch) Recv() (*messagingv1.WatchPeersResponse, error) { return w.s.Recv() }

// Status returns this node's identity and peer table.
func (c *Client) Status(ctx context.Context) (*messagingv1.GetStatusResponse, error) {
	return c.api.GetStatus(ctx, &messagingv1.GetStatusRequest{})
}

// Stats returns the daemon's protocol counters.
func (c *Client) Stats(ctx context.Context) (*messagingv1.GetStatsResponse, error) {
	return c.api.GetStats(ctx, &messagingv1.GetStatsRequest{})
}
