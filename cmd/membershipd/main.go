// Command membershipd is Systole's membership daemon (Heartbeat's CCM): over the local
// messagingd it agrees with the other nodes on the largest fully connected set of nodes
// (the view) and its quorum, and serves both over a gRPC API on a unix socket.
//
//	membershipd --config /etc/systole/ha.cf
//	membershipd status        # view, quorum and peers of the running daemon
//	membershipd check         # parse ha.cf and print the membership configuration
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "membershipd:", err)
		os.Exit(1)
	}
}
