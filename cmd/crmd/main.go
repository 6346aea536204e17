// Command crmd is Systole's Cluster Resource Manager daemon, one per node:
// DC election, join and CIB replication (crm.Node) over the local
// messagingd (channel "crmd") and membershipd, the CIB persisted in a
// bbolt store, and the CIB service (proto/cib/v1) on a unix socket so that
// cibadmin and the other tools work live when CIB_file is unset.
//
//	crmd --node node1 --run-dir /run/systole --state-dir /var/lib/systole/crm
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "crmd:", err)
		os.Exit(1)
	}
}
