// Package server is the daemon shell around the cib core: it owns one
// *cib.CIB and a cib.Store, serves the CIBService gRPC API (query, apply,
// watch) on a listener, and fans committed changes out to watchers.
//
// Invariants:
//   - Writes are applied one at a time, in arrival order, by one commit
//     goroutine; writes that arrive together are made durable with one
//     Store.Save (group commit: their patches concatenated). Reads share
//     an RWMutex with the commit, so no reader sees an undurable version.
//   - A write is acknowledged only after Store.Save returned: nothing
//     acknowledged is lost. If Save fails, the in-memory CIB is reloaded
//     from the store, so memory never runs ahead of the disk.
//   - Every watcher sees every committed version in order, or, when it
//     falls more than Config.WatchBuffer events behind, a full copy of the
//     CIB (Full set) that replaces the events it missed.
//   - Errors of the cib package map to gRPC codes in one table (errors.go);
//     the client maps them back to the same sentinels.
package server
