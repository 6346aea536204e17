// Package e2e runs crmd with real messagingd and membershipd processes in
// network namespaces (internal/lab; root only, skipped otherwise and with
// -short): the election of one DC, and a cibadmin write on a replica
// reaching every node's CIB through the DC; and make bench-cib
// (TestBenchCIB with SYSTOLE_BENCH=1): cibadmin writes per second,
// replication latency and DC failover time.
package e2e
