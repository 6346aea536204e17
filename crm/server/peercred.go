package server

import "github.com/systole/systole/internal/peercred"

// PeerCred is what the kernel says about a client of crmd's socket.
type PeerCred = peercred.Cred

// AccessPolicy says who may use crmd's API (internal/peercred).
type AccessPolicy = peercred.Policy

// DefaultAccessPolicy reads crmd's uid and group haclient's gid.
func DefaultAccessPolicy() AccessPolicy { return peercred.DefaultPolicy("crmd") }
