// Package e2e holds Systole's whole-cluster end-to-end tests and the
// failover benchmark: three real nodes (systoled, messagingd, membershipd,
// lrmd, pengine, tengine, crmd) in network namespaces on a private bridge
// (internal/lab), driven only through the CLIs (cibadmin, crm_attribute,
// crm_standby, crm_resource, crm_mon) and fault injection, and checked
// against ground truth: a Dummy resource runs on a node when its state file
// exists in that node's HA_RSCTMP, a virtual IP runs where the address is on
// eth0, and it "answers" when ICMP echoes sent from a watcher namespace on the
// same bridge get replies.
//
// Tests (root; skipped otherwise; about 2-4 minutes with the one-time build):
//
//   - TestFailover: a group of ocf:systole:IPaddr (192.0.2.100/24) and Dummy.
//     The node running it is powered off (bridge port down, every process
//     SIGKILLed): the group runs on a survivor and the VIP answers the watcher.
//     Then, with the group placed away from the DC, the DC is powered off: a
//     new DC is elected and the group keeps running where it was, not
//     restarted.
//   - TestPolicies: one cluster, resource-stickiness 100, four checks in
//     order: crm_resource --move/--ban/--clear live; location, colocation
//     (and anti-colocation) and order constraints live, order checked with
//     the agents' completion times (state files' mtimes and lrmd's op-result
//     log times, with op_sleep making a violation visible); a monitor failure
//     restarts in place with fail-count 1, the second failure with
//     migration-threshold=2 moves the resource; crm_standby on moves a node's
//     resources away, off leaves them where they are (stickiness).
//   - TestClones (clone_test.go): a promotable clone of ocf:systole:Stateful
//     promoted on exactly one node, and on another when that node is
//     killed; an anonymous Dummy clone on every node; notify=true delivers
//     the OCF_RESKEY_CRM_meta_notify_* variables to a recording agent
//     (post-start, pre- and post-stop).
//
// Invariants the tests keep: every namespace, veth and bridge they make is
// removed in t.Cleanup (lab.NewCluster, Watcher.Remove); addresses are in
// 192.0.2.0/24 on the lab's own bridge; no traffic leaves the test's
// namespaces; no assertion is on wall-clock figures (durations are logged).
//
// Benchmarks (SYSTOLE_BENCH=1, make bench-failover): TestBenchFailover
// powers off, KILLS times (default 10) per case, the node running the
// resources (not the DC) and the DC running them, and prints
// failover_ms p50/p95 (power-off to the first echo reply from the VIP seen by
// the watcher, probing every 10 ms) and view_to_vip_ms p50 (the first
// survivor's membershipd installing the view without the node, from its
// GetView installed_unix_ms, to the VIP answering), with a per-kill
// breakdown from the survivors' daemon logs, and the pengine Compute latency
// on the DC's CIB. TestBenchMonitorFailure prints the time from a Dummy's
// state file removal to its restart (1 s monitor). The make target also runs
// internal/lab's TestBenchStart in namespace mode (systoled start of 3 nodes
// to resources running, a node's idle RSS). TestBenchIdleSoak (make
// soak-idle, SOAK=10m) counts views installed, DC elections and resource
// starts/stops on three idle nodes while spinning goroutines (nice 19) keep
// every CPU busy.
package e2e
