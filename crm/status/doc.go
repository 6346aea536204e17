// Package status is a model of a cluster's state read from one CIB: the
// nodes (online, offline, standby, maintenance, unclean, the DC), the
// resources (primitives, groups, clones) with where each is active and in
// which role, failed actions, fail counts, node attributes and the
// operation history. It is what crm_mon shows and what crm_resource -L/-W
// reads.
//
// The state is computed by the policy engine's own unpacking
// (pengine.Unpack), so a resource is "active", "failed" or "blocked" here
// exactly when the scheduler thinks so; this package only reshapes the
// result into plain values and renders it in Pacemaker 2.1's crm_mon text
// and XML formats (Text, XML, ResourceLines).
//
// Invariants:
//   - Pure: New reads only its arguments (an explicit now, no clock, no
//     I/O) and never modifies the document it is given.
//   - Deterministic: nodes are in natural name order, resources in
//     configuration order (orphans last), history in status order, so the
//     renderings are byte-stable for a given CIB and options.
//   - Pointers inside a Cluster (Resource.Nodes, Node.Running, ...) point
//     into the same Cluster; a Cluster is read-only once built and may be
//     read from several goroutines.
//
// Nodes that have a node_state in the status section but no entry in the
// configuration's nodes section are shown too (Systole's crmd identifies
// members by name), as Pacemaker shows cluster members it knows.
package status
