package server

import "github.com/systole/systole/internal/peercred"

// PeerCred is what the kernel says about a client of stonithd's socket.
type PeerCred = peercred.Cred

// AccessPolicy says who may use stonithd's API (internal/peercred).
type AccessPolicy = peercred.Policy

// DefaultAccessPolicy reads stonithd's uid and group haclient's gid.
func DefaultAccessPolicy() AccessPolicy { return peercred.DefaultPolicy("stonithd") }
