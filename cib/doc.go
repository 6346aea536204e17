// Package cib is the Cluster Information Base: Pacemaker's XML document
// (configuration and status) with its version counters, the operations
// cibadmin performs on it, validation of the supported schema subset, diffs
// and version-checked patches, and a bbolt store.
//
// Invariants:
//   - Every operation is atomic: Apply changes the CIB in place through an
//     undo log and, on any error, rolls back so that the CIB is
//     byte-identical to before. Use Clone for an independent snapshot.
//   - Versions compare as the tuple (admin_epoch, epoch, num_updates). A
//     configuration change bumps epoch and resets num_updates; a status-only
//     change bumps num_updates; admin_epoch changes only when the
//     administrator sets it.
//   - Unknown elements and attributes survive a parse/write round trip.
//
// Apart from the Store (bbolt), the package does no I/O and is not safe for
// concurrent mutation of one value; distinct values may be used concurrently.
package cib
