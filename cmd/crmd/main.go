// Command crmd is Systole's Cluster Resource Manager daemon, one per node:
// DC election, join and CIB replication (crm.Node) over the local
// messagingd (channels "crmd" and "crmd-exec") and membershipd, the CIB
// persisted in a bbolt store, the node's lrmd history recorded in the CIB
// status, the DC pipeline (pengine computes, tengine executes, actions run
// through the target node's crmd and lrmd; docs/dc.md), and the CIB and
// CRM services (proto/cib/v1, proto/crm/v1) on a unix socket so that
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
