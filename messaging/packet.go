package messaging

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// Wire format (all integers big-endian):
//
//	header:  'S' 'Y' version:1 type:1 flags:1 keyid:1 gen:8 pktno:8 nextseq:8
//	         len:1 cluster  len:1 src
//	body:    type-specific (below), AES-256-GCM sealed when flagEncrypted
//	trailer: HMAC(key, header||body), 32 (sha256), 20 (sha1) or 16 (md5) bytes
//
// Bodies:
//
//	heartbeat, ack: n:1 n*(len:1 node gen:8 seq:8)
//	data:           seq:8 fragidx:4 fragcount:4 total:4 len:1 channel len:1 dest payload...
//	nack:           len:1 target gen:8 n:2 n*(first:8 last:8)
//	lost:           len:1 target n:2 n*(first:8 last:8)
const (
	wireVersion = 1
	headerFixed = 2 + 1 + 1 + 1 + 1 + 8 + 8 + 8
	maxRanges   = 512
)

type ptype uint8

const (
	typeHeartbeat ptype = 1 // liveness + cumulative acks
	typeAck       ptype = 2 // same body as heartbeat, sent when acks are due
	typeData      ptype = 3 // one fragment of a reliable message
	typeNack      ptype = 4 // receiver asks a sender for missing seqs
	typeLost      ptype = 5 // sender answers: these seqs are gone
)

const (
	flagEncrypted = 1 << 0
	flagRexmit    = 1 << 1
)

func (t ptype) String() string {
	switch t {
	case typeHeartbeat:
		return "heartbeat"
	case typeAck:
		return "ack"
	case typeData:
		return "data"
	case typeNack:
		return "nack"
	case typeLost:
		return "lost"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

type ackEntry struct {
	Node string
	Gen  uint64
	Seq  uint64 // highest seq received in order
}

type seqRange struct{ First, Last uint64 }

// packet is a decoded packet; only the fields of its type are meaningful.
type packet struct {
	Type    ptype
	Flags   uint8
	KeyID   uint8
	Gen     uint64
	Pktno   uint64
	Cluster string
	Src     string

	NextSeq uint64     // every type: the sender's next new data seq
	Acks    []ackEntry // heartbeat, ack

	Seq       uint64 // data
	FragIndex uint32 // data
	FragCount uint32 // data
	Total     uint32 // data: total message length
	Channel   string // data
	Dest      string // data ("" = every node)
	Payload   []byte // data

	Target    string     // nack: sender asked; lost: requester
	TargetGen uint64     // nack
	Ranges    []seqRange // nack, lost
}

type keyState struct {
	key  Key
	mac  hash.Hash
	aead cipher.AEAD
}

// codec signs, encrypts and decodes packets for one cluster and key set.
// Not safe for concurrent use (it reuses hash states).
type codec struct {
	cluster string
	encrypt bool
	active  uint8
	keys    map[uint8]*keyState
}

func newCodec(cluster string, keys *Keys, encrypt bool) (*codec, error) {
	if keys == nil || len(keys.ByID) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrConfig)
	}
	if _, ok := keys.ByID[keys.Active]; !ok {
		return nil, fmt.Errorf("%w: active key %d missing", ErrConfig, keys.Active)
	}
	c := &codec{cluster: cluster, encrypt: encrypt, active: keys.Active, keys: map[uint8]*keyState{}}
	for id, k := range keys.ByID {
		ks := &keyState{key: k}
		switch k.Method {
		case MethodSHA256:
			ks.mac = hmac.New(sha256.New, k.Secret)
		case MethodSHA1:
			ks.mac = hmac.New(sha1.New, k.Secret)
		case MethodMD5:
			ks.mac = hmac.New(md5.New, k.Secret)
		default:
			return nil, fmt.Errorf("%w: key %d: unknown method %v", ErrConfig, id, k.Method)
		}
		// The cipher key is derived from the secret with a distinct label so
		// that the HMAC key and the AES key are never the same bytes.
		ek := sha256.Sum256(append([]byte("systole aes-256-gcm key\x00"), k.Secret...))
		blk, err := aes.NewCipher(ek[:])
		if err != nil {
			return nil, fmt.Errorf("messaging: key %d: %w", id, err)
		}
		ks.aead, err = cipher.NewGCM(blk)
		if err != nil {
			return nil, fmt.Errorf("messaging: key %d: %w", id, err)
		}
		c.keys[id] = ks
	}
	return c, nil
}

// overhead returns the bytes an encoded packet adds around a data payload
// with the given channel and dest, for src.
func (c *codec) overhead(src, channel, dest string) int {
	n := headerFixed + 2 + len(c.cluster) + len(src) + 8 + 4 + 4 + 4 + 2 + len(channel) + len(dest)
	n += c.keys[c.active].mac.Size()
	if c.encrypt {
		n += c.keys[c.active].aead.Overhead()
	}
	return n
}

func nonce(src string, gen, pktno uint64) []byte {
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], gen)
	binary.BigEndian.PutUint64(b[8:], pktno)
	h.Write([]byte(src))
	h.Write([]byte{0})
	h.Write(b[:])
	return h.Sum(nil)[:12]
}

func putStr(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// encode fills Cluster, KeyID and the encrypted flag from the codec and
// returns the signed wire bytes.
func (c *codec) encode(p *packet) []byte {
	ks := c.keys[c.active]
	p.Cluster, p.KeyID = c.cluster, c.active
	p.Flags &^= flagEncrypted
	if c.encrypt {
		p.Flags |= flagEncrypted
	}
	b := make([]byte, 0, headerFixed+2+len(p.Cluster)+len(p.Src)+64+len(p.Payload)+48)
	b = append(b, 'S', 'Y', wireVersion, byte(p.Type), p.Flags, p.KeyID)
	b = binary.BigEndian.AppendUint64(b, p.Gen)
	b = binary.BigEndian.AppendUint64(b, p.Pktno)
	b = binary.BigEndian.AppendUint64(b, p.NextSeq)
	b = putStr(b, p.Cluster)
	b = putStr(b, p.Src)
	hdrLen := len(b)
	b = appendBody(b, p)
	if c.encrypt {
		body := append([]byte(nil), b[hdrLen:]...)
		b = ks.aead.Seal(b[:hdrLen], nonce(p.Src, p.Gen, p.Pktno), body, b[:hdrLen])
	}
	ks.mac.Reset()
	ks.mac.Write(b)
	return ks.mac.Sum(b)
}

func appendBody(b []byte, p *packet) []byte {
	switch p.Type {
	case typeHeartbeat, typeAck:
		b = append(b, byte(len(p.Acks)))
		for _, a := range p.Acks {
			b = putStr(b, a.Node)
			b = binary.BigEndian.AppendUint64(b, a.Gen)
			b = binary.BigEndian.AppendUint64(b, a.Seq)
		}
	case typeData:
		b = binary.BigEndian.AppendUint64(b, p.Seq)
		b = binary.BigEndian.AppendUint32(b, p.FragIndex)
		b = binary.BigEndian.AppendUint32(b, p.FragCount)
		b = binary.BigEndian.AppendUint32(b, p.Total)
		b = putStr(b, p.Channel)
		b = putStr(b, p.Dest)
		b = append(b, p.Payload...)
	case typeNack, typeLost:
		b = putStr(b, p.Target)
		if p.Type == typeNack {
			b = binary.BigEndian.AppendUint64(b, p.TargetGen)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Ranges)))
		for _, r := range p.Ranges {
			b = binary.BigEndian.AppendUint64(b, r.First)
			b = binary.BigEndian.AppendUint64(b, r.Last)
		}
	}
	return b
}

// reader is a bounds-checked cursor; the first short read sets err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = ErrTruncated
		}
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}
func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
func (r *reader) str() string { return string(r.take(int(r.u8()))) }

// errOwn reports a packet that names this node as its source: our own
// broadcast looped back (or a forgery, dropped just the same). It is
// detected before the HMAC so that echoes cost nothing.
var errOwn = errors.New("messaging: own packet")

// decode verifies and parses wire bytes. It never panics on any input and
// returns an error wrapping one of ErrTruncated, ErrMalformed,
// ErrForeignCluster, ErrUnknownKey or ErrBadAuth, or errOwn when the
// source is self (if self is not empty).
func (c *codec) decode(b []byte) (*packet, error) { return c.decodeFrom(b, "") }

func (c *codec) decodeFrom(b []byte, self string) (*packet, error) {
	r := &reader{b: b}
	magic := r.take(2)
	ver := r.u8()
	if r.err != nil {
		return nil, r.err
	}
	if magic[0] != 'S' || magic[1] != 'Y' || ver != wireVersion {
		return nil, fmt.Errorf("%w: bad magic or version", ErrMalformed)
	}
	typ, flags, keyID := ptype(r.u8()), r.u8(), r.u8()
	p := &packet{Type: typ, Flags: flags, KeyID: keyID, Gen: r.u64(), Pktno: r.u64(), NextSeq: r.u64()}
	p.Cluster = r.str()
	p.Src = r.str()
	if r.err != nil {
		return nil, r.err
	}
	if p.NextSeq == 0 {
		return nil, fmt.Errorf("%w: zero next seq", ErrMalformed)
	}
	if typ < typeHeartbeat || typ > typeLost || flags&^(flagEncrypted|flagRexmit) != 0 {
		return nil, fmt.Errorf("%w: bad type %d or flags %#x", ErrMalformed, typ, flags)
	}
	if p.Cluster != c.cluster {
		return nil, fmt.Errorf("%w: %q", ErrForeignCluster, p.Cluster)
	}
	if self != "" && p.Src == self {
		return nil, errOwn
	}
	ks, ok := c.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownKey, keyID)
	}
	hdrLen := len(b) - len(r.b)
	macLen := ks.mac.Size()
	if len(b) < hdrLen+macLen {
		return nil, ErrTruncated
	}
	signed, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	ks.mac.Reset()
	ks.mac.Write(signed)
	var tmp [64]byte
	if !hmac.Equal(ks.mac.Sum(tmp[:0]), sum) {
		return nil, ErrBadAuth
	}
	body := signed[hdrLen:]
	if flags&flagEncrypted != 0 {
		pt, err := ks.aead.Open(nil, nonce(p.Src, p.Gen, p.Pktno), body, signed[:hdrLen])
		if err != nil {
			return nil, fmt.Errorf("%w: decrypt", ErrBadAuth)
		}
		body = pt
	} else if c.encrypt {
		// A cluster that encrypts refuses clear bodies: a node whose ha.cf
		// lacks `encrypt on` would otherwise leak payloads.
		return nil, fmt.Errorf("%w: clear packet in an encrypted cluster", ErrBadAuth)
	}
	if err := decodeBody(p, body); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeBody parses the type-specific body into p; trailing bytes are an
// error except for data, whose payload is the rest.
func decodeBody(p *packet, body []byte) error {
	r := &reader{b: body}
	switch p.Type {
	case typeHeartbeat, typeAck:
		n := int(r.u8())
		for i := 0; i < n && r.err == nil; i++ {
			a := ackEntry{Node: r.str(), Gen: r.u64(), Seq: r.u64()}
			p.Acks = append(p.Acks, a)
		}
	case typeData:
		p.Seq = r.u64()
		p.FragIndex, p.FragCount, p.Total = r.u32(), r.u32(), r.u32()
		p.Channel = r.str()
		p.Dest = r.str()
		if r.err == nil {
			p.Payload = append([]byte(nil), r.b...) // the caller may reuse its buffer
			r.b = nil
			if p.Seq == 0 || p.FragCount == 0 || p.FragIndex >= p.FragCount || len(p.Payload) > int(p.Total) {
				return fmt.Errorf("%w: bad data fragment", ErrMalformed)
			}
		}
	case typeNack, typeLost:
		p.Target = r.str()
		if p.Type == typeNack {
			p.TargetGen = r.u64()
		}
		n := int(r.u16())
		if n > maxRanges {
			return fmt.Errorf("%w: %d ranges", ErrMalformed, n)
		}
		for i := 0; i < n && r.err == nil; i++ {
			rg := seqRange{First: r.u64(), Last: r.u64()}
			if r.err == nil && (rg.First == 0 || rg.First > rg.Last) {
				return fmt.Errorf("%w: bad range %d-%d", ErrMalformed, rg.First, rg.Last)
			}
			p.Ranges = append(p.Ranges, rg)
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	return nil
}
