//go:build !linux

package main

import "os"

// readFile reads the whole file.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
