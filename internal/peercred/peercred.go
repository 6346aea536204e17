// Package peercred limits a daemon's unix-socket gRPC API to root, the daemon's own
// user and group haclient, from the kernel's SO_PEERCRED of each connection.
package peercred

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Cred is what the kernel says about the process at the other end of
// a unix socket (SO_PEERCRED), plus its supplementary groups.
type Cred struct {
	// Known is false when the connection is not a unix socket or the
	// kernel did not answer: such a peer is refused.
	Known    bool
	PID      int32
	UID, GID uint32
	// Groups are the supplementary group ids (from /proc/PID/status).
	Groups []uint32
}

// AuthType implements credentials.AuthInfo.
func (Cred) AuthType() string { return "peercred" }

// Policy says who may use a daemon's API (crmd's, stonithd's): root, the
// user the daemon runs as, and the members of group haclient (primary or
// supplementary).
type Policy struct {
	// Daemon names the daemon in refusals ("crmd: unknown peer").
	Daemon string
	// SelfUID is the daemon's own uid.
	SelfUID uint32
	// HAClientGID is the gid of group haclient; -1 when the group does
	// not exist.
	HAClientGID int64
}

// DefaultPolicy reads the daemon's uid and group haclient's gid.
func DefaultPolicy(daemon string) Policy {
	p := Policy{Daemon: daemon, SelfUID: uint32(os.Geteuid()), HAClientGID: -1}
	if g, err := user.LookupGroup("haclient"); err == nil {
		if gid, err := strconv.ParseInt(g.Gid, 10, 64); err == nil {
			p.HAClientGID = gid
		}
	}
	return p
}

// Allowed reports whether a peer may call the API.
func (p Policy) Allowed(c Cred) bool {
	if !c.Known {
		return false
	}
	if c.UID == 0 || c.UID == p.SelfUID {
		return true
	}
	if p.HAClientGID < 0 {
		return false
	}
	if int64(c.GID) == p.HAClientGID {
		return true
	}
	for _, g := range c.Groups {
		if int64(g) == p.HAClientGID {
			return true
		}
	}
	return false
}

// peerCreds is a server-side TransportCredentials that exchanges nothing
// on the wire: it only records the unix peer's credentials, for the
// access interceptors.
type peerCreds struct{}

func (peerCreds) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, Cred{}, nil
}

func (peerCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, readCred(c), nil
}

func (peerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

func (p peerCreds) Clone() credentials.TransportCredentials { return p }

func (peerCreds) OverrideServerName(string) error { return nil }

// readCred asks the kernel who is at the other end of c.
func readCred(c net.Conn) Cred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil || cred == nil {
		return Cred{}
	}
	return Cred{Known: true, PID: cred.Pid, UID: cred.Uid, GID: cred.Gid, Groups: procGroups(cred.Pid)}
}

// procGroups reads the supplementary groups of a process.
func procGroups(pid int32) []uint32 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Groups:"); ok {
			var out []uint32
			for _, f := range strings.Fields(rest) {
				if g, err := strconv.ParseUint(f, 10, 32); err == nil {
					out = append(out, uint32(g))
				}
			}
			return out
		}
	}
	return nil
}

// checkPeer refuses a caller the policy does not allow.
func (p Policy) CheckPeer(ctx context.Context) error {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied, p.Daemon+": unknown peer")
	}
	c, _ := pr.AuthInfo.(Cred)
	if !p.Allowed(c) {
		return status.Errorf(codes.PermissionDenied, "%s: access is for root and group haclient only (peer uid %d gid %d)", p.Daemon, c.UID, c.GID)
	}
	return nil
}

// serverOptions returns the gRPC options enforcing the policy.
func (p Policy) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(peerCreds{}),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := p.CheckPeer(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := p.CheckPeer(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}
