// Command systoled is Systole's node supervisor: it starts the node's
// daemons in order (messagingd, membershipd, lrmd, pengine, tengine,
// crmd, stonithd), each once the previous one's socket answers, restarts
// a crashed one with back-off, and stops them in reverse order. See
// docs/systoled.md.
//
//	systoled start [--config /etc/systole/systoled.conf] [flags]
//	systoled stop
//	systoled status
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "systoled:", err)
		os.Exit(exitCode(err))
	}
}
