package messaging

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Method is an authentication method of the authkeys file.
type Method uint8

// Authentication methods. SHA-256 is the default and the recommendation;
// sha1 and md5 exist only for compatibility with old authkeys files.
const (
	MethodSHA256 Method = iota + 1
	MethodSHA1
	MethodMD5
)

// String returns the authkeys spelling of the method.
func (m Method) String() string {
	switch m {
	case MethodSHA256:
		return "sha256"
	case MethodSHA1:
		return "sha1"
	case MethodMD5:
		return "md5"
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// Key is one numbered key of the authkeys file.
type Key struct {
	// ID is the key number (1..255), carried in every packet.
	ID uint8
	// Method is the HMAC hash.
	Method Method
	// Secret is the shared secret.
	Secret []byte
}

// Keys is a parsed authkeys file: every key verifies incoming packets (so
// keys can be rolled over one node at a time) and Active signs outgoing
// ones.
type Keys struct {
	// Active is the id named by the `auth` line.
	Active uint8
	// ByID maps key ids to keys.
	ByID map[uint8]Key
}

// ParseAuthkeys parses an authkeys file named name with contents data and
// file mode mode. The format is Heartbeat's:
//
//	auth 1
//	1 sha256 some-long-secret
//
// '#' starts a comment. The file must not be accessible by group or
// others (mode 0600 or stricter), or it is refused with ErrAuthkeysMode.
// Every error names name:line.
func ParseAuthkeys(name string, data []byte, mode fs.FileMode) (*Keys, error) {
	if mode.Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %w (is %04o)", name, ErrAuthkeysMode, mode.Perm())
	}
	k := &Keys{ByID: map[uint8]Key{}}
	authLine := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		errf := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %w: %s", name, line, ErrConfig, fmt.Sprintf(format, a...))
		}
		if f[0] == "auth" {
			if len(f) != 2 {
				return nil, errf("auth takes one key id")
			}
			id, err := parseKeyID(f[1])
			if err != nil {
				return nil, errf("%v", err)
			}
			if authLine != 0 {
				return nil, errf("second auth line (first on line %d)", authLine)
			}
			k.Active, authLine = id, line
			continue
		}
		id, err := parseKeyID(f[0])
		if err != nil {
			return nil, errf("%v", err)
		}
		if len(f) < 2 {
			return nil, errf("key %d: missing method", id)
		}
		var m Method
		switch strings.ToLower(f[1]) {
		case "sha256":
			m = MethodSHA256
		case "sha1":
			m = MethodSHA1
		case "md5":
			m = MethodMD5
		case "crc":
			return nil, errf("key %d: crc is not authentication; use sha256", id)
		default:
			return nil, errf("key %d: unknown method %q (sha256, sha1 or md5)", id, f[1])
		}
		if len(f) != 3 {
			return nil, errf("key %d: want `%d %s SECRET` with a secret without spaces", id, id, f[1])
		}
		if _, dup := k.ByID[id]; dup {
			return nil, errf("key %d defined twice", id)
		}
		k.ByID[id] = Key{ID: id, Method: m, Secret: []byte(f[2])}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if authLine == 0 {
		return nil, fmt.Errorf("%s:%d: %w: missing `auth N` line", name, line, ErrConfig)
	}
	if _, ok := k.ByID[k.Active]; !ok {
		return nil, fmt.Errorf("%s:%d: %w: auth %d names no key", name, authLine, ErrConfig, k.Active)
	}
	return k, nil
}

func parseKeyID(s string) (uint8, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 255 {
		return 0, fmt.Errorf("key id %q must be a number in 1..255", s)
	}
	return uint8(n), nil
}
