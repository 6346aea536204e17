package client

import "errors"

// ErrUnreachable reports that the CIB service could not be contacted.
var ErrUnreachable = errors.New("cannot reach the CIB service")

// ErrNoFile reports that the file named by CIB_file does not exist.
var ErrNoFile = errors.New("no such CIB file")

// ErrWrite reports that the CIB file could not be written back; the file
// is unchanged.
var ErrWrite = errors.New("cannot write the CIB file")
