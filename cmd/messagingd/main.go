// Command messagingd is Systole's messaging daemon: heartbeats and
// reliable cluster messages over the media of ha.cf, authenticated with
// authkeys, with a gRPC API on a unix socket for the node's other daemons.
//
//	messagingd --config /etc/systole/ha.cf --authkeys /etc/systole/authkeys
//	messagingd status        # peer and link table of the running daemon
//	messagingd check         # parse ha.cf and authkeys, print the media
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "messagingd:", err)
		os.Exit(1)
	}
}
