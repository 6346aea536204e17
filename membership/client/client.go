// Package client is the Go client of membershipd's local API
// (proto/membership/v1, MembershipService on a unix socket). crmd uses it to follow the
// agreed membership view and quorum.
//
//	c, err := client.Dial("/run/systole/membership.sock")
//	defer c.Close()
//	v, err := c.View(ctx)                 // installed view
//	q, err := c.Quorum(ctx)               // quorum state
//	w, err := c.Watch(ctx)                // current view, then every change
//	for { ev, err := w.Recv(); ... }
//
// A Client is safe for concurrent use.
package client

import (
	"context"
	"fmt"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	membershipv1 "github.com/systole/systole/proto/membership/v1"
)

// DefaultSocket is membershipd's default API socket.
const DefaultSocket = "/run/systole/membership.sock"

// Client is a connection to the local membershipd.
type Client struct {
	conn *grpc.ClientConn
	api  membershipv1.MembershipServiceClient
}

// Dial connects to the membershipd API socket at path. The connection is made lazily;
// calls fail with codes.Unavailable while the daemon is down.
func Dial(path string) (*Client, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("membership client: dial %s: %w", path, err)
	}
	conn, err := grpc.NewClient("unix://"+abs, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("membership client: dial %s: %w", path, err)
	}
	return &Client{conn: conn, api: membershipv1.NewMembershipServiceClient(conn)}, nil
}

// API returns the raw generated client.
func (c *Client) API() membershipv1.MembershipServiceClient { return c.api }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// View returns the view installed on the node (number 0 before the first install) and
// the node's name.
func (c *Client) View(ctx context.Context) (*membershipv1.View, string, error) {
	r, err := c.api.GetView(ctx, &membershipv1.GetViewRequest{})
	if err != nil {
		return nil, "", err
	}
	return r.GetView(), r.GetNode(), nil
}

// Quorum returns the quorum state.
func (c *Client) Quorum(ctx context.Context) (*membershipv1.GetQuorumResponse, error) {
	return c.api.GetQuorum(ctx, &membershipv1.GetQuorumRequest{})
}

// Peers returns the core's view of the other configured nodes.
func (c *Client) Peers(ctx context.Context) (*membershipv1.GetPeersResponse, error) {
	return c.api.GetPeers(ctx, &membershipv1.GetPeersRequest{})
}

// Watch is a stream of views and left-out notices.
type Watch struct {
	s membershipv1.MembershipService_WatchViewsClient
}

// Watch starts watching views: the current view first (Initial), then every change.
// Cancel ctx to stop.
func (c *Client) Watch(ctx context.Context) (*Watch, error) {
	s, err := c.api.WatchViews(ctx, &membershipv1.WatchViewsRequest{})
	if err != nil {
		return nil, err
	}
	return &Watch{s: s}, nil
}

// Recv blocks for the next event.
func (w *Watch) Recv() (*membershipv1.WatchViewsResponse, error) { return w.s.Recv() }
