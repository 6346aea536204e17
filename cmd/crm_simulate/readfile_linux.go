package main

import (
	"io"
	"os"
	"syscall"
)

// readFile reads a regular file into memory mapped outside the Go heap
// with transparent huge pages requested, which makes the first touch of a
// large CIB far cheaper than os.ReadFile's 4 KiB page faults. The memory
// is never unmapped: the parsed document's strings point into it for the
// life of the process. Anything unusual falls back to os.ReadFile.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < 4<<20 || st.Size() > 1<<34 {
		return os.ReadFile(path)
	}
	size := int(st.Size())
	buf, err := syscall.Mmap(-1, 0, size+1, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return os.ReadFile(path)
	}
	_ = syscall.Madvise(buf, syscall.MADV_HUGEPAGE) // advice only
	n, err := io.ReadFull(f, buf)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return buf[:n], nil // the file shrank (or is exactly size bytes)
	case err != nil:
		_ = syscall.Munmap(buf)
		return nil, err
	}
	// the file grew past its stat size: read it the ordinary way
	_ = syscall.Munmap(buf)
	return os.ReadFile(path)
}
