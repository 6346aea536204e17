// Package client is how Systole's command-line tools reach the CIB. It has
// two backends behind one interface, chosen from the environment as
// Pacemaker's tools choose theirs:
//
//   - File, when CIB_file names a CIB XML file: every call reads the file,
//     applies the operation with the cib package, and writes the file back
//     atomically (temporary file, fsync, rename) only when the CIB changed.
//     A call that changes nothing, or fails, leaves the file byte-for-byte
//     as it was.
//   - GRPC otherwise: the CIBService on the unix socket named by CIB_socket,
//     or DefaultSocket.
//
// Errors match the cib package's sentinels with errors.Is whichever backend
// produced them, and each is one line.
package client
