package crm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/systole/systole/cib"
)

// MsgType is the kind of a crm message.
type MsgType string

// The message types of the crm protocol (see docs/crm.md).
const (
	// MsgVote carries a node's election vote for a view.
	MsgVote MsgType = "vote"
	// MsgJoinOffer: the DC asks a member to join (DC -> member).
	MsgJoinOffer MsgType = "join-offer"
	// MsgJoinRequest: a member's CIB version, digest, history and resource
	// history, and its full CIB when it differs from the DC's (member -> DC).
	MsgJoinRequest MsgType = "join-request"
	// MsgJoinConfirm ends a member's join, with the CIB to adopt when its
	// copy differs (DC -> member).
	MsgJoinConfirm MsgType = "join-confirm"
	// MsgAck reports the CIB version a member has persisted (member -> DC).
	MsgAck MsgType = "ack"
	// MsgPatch is a CIB patch the DC committed (DC -> all).
	MsgPatch MsgType = "patch"
	// MsgFull is a full CIB copy for a lagging replica (DC -> member).
	MsgFull MsgType = "full"
	// MsgNeedFull asks the DC for a full copy after a gap (member -> DC).
	MsgNeedFull MsgType = "need-full"
	// MsgWrite forwards a client write to the DC (any node -> DC).
	MsgWrite MsgType = "write"
	// MsgWriteResult answers a forwarded write (DC -> origin).
	MsgWriteResult MsgType = "write-result"
)

var msgTypes = map[MsgType]bool{MsgVote: true, MsgJoinOffer: true, MsgJoinRequest: true, MsgJoinConfirm: true,
	MsgAck: true, MsgPatch: true, MsgFull: true, MsgNeedFull: true, MsgWrite: true, MsgWriteResult: true}

// HistEntry is one configuration version a node held: the digest of the
// configuration section at (AdminEpoch, Epoch).
type HistEntry struct {
	AdminEpoch int64  `json:"a"`
	Epoch      int64  `json:"e"`
	Digest     uint64 `json:"d"`
}

// Message is one crm protocol message. On the wire it is Encode's bytes,
// carried by the messaging layer on the "crmd" channel. From is not
// trusted from the bytes: the daemon sets it to the authenticated sender
// the messaging layer reports (StepBytes does).
type Message struct {
	Type MsgType `json:"t"`
	// From is the sender; To is the destination, "" for every node.
	From string `json:"-"`
	To   string `json:"to,omitempty"`
	// View is the sender's view number; every message but MsgWrite and
	// MsgWriteResult is ignored by a node in another view.
	View uint64 `json:"v"`
	// Members: MsgVote, the sender's view members (votes count only
	// between nodes that agree on the view).
	Members []string `json:"m,omitempty"`
	// Incs: MsgVote, the crmd incarnation of each member (aligned with
	// Members, 0 = not known yet) as the sender knew them when it cast the
	// vote. Votes count only between nodes that know the same
	// incarnations of every member, so a crmd that restarts within a view
	// makes everyone vote again (see doc.go).
	Incs []uint64 `json:"ic,omitempty"`
	// Key identifies the election a message belongs to: a hash of the
	// incarnations of the view's members. Messages of another election
	// of the same view (before a member's crmd restarted) are ignored.
	Key uint64 `json:"k,omitempty"`
	// WasDC: MsgVote, the sender was DC when the view changed (or, when a
	// member's restart starts a new election within the view, is DC).
	WasDC bool `json:"dc,omitempty"`
	// Reply: MsgVote sent in answer to a repeated vote (not answered again).
	Reply bool `json:"r,omitempty"`
	// Version is the sender's CIB version (vote, offer, join request, ack,
	// need-full, write result).
	Version cib.Version `json:"ver"`
	// Digest is the FNV-64a hash of the sender's CIB bytes (offer, join request).
	Digest uint64 `json:"dg,omitempty"`
	// LRM is the member's resource history, an <lrm> element (join request).
	LRM []byte `json:"lrm,omitempty"`
	// CIB is a full CIB (join request, join confirm, full).
	CIB []byte `json:"cib,omitempty"`
	// History travels with a full CIB.
	History []HistEntry `json:"h,omitempty"`
	// Patch is a format-2 diff (patch).
	Patch []byte `json:"p,omitempty"`
	// Origin, Inc and ID identify a client write (write, write result):
	// the origin node, its crmd's incarnation (IDs restart with it) and
	// the origin's id for the write.
	Origin string `json:"o,omitempty"`
	Inc    uint64 `json:"in,omitempty"`
	ID     uint64 `json:"id,omitempty"`
	// Req is the forwarded write.
	Req *cib.Request `json:"req,omitempty"`
	// Err and ErrCode report a refused write (write result).
	Err     string `json:"err,omitempty"`
	ErrCode string `json:"ec,omitempty"`
}

// wireMagic prefixes every encoded message so that a future encoding can
// be told apart.
var wireMagic = []byte("crm1")

// maxMessage bounds a decoded message (a full CIB of a large cluster fits).
const maxMessage = 64 << 20

// Encode serialises m (without From) as "crm1" followed by JSON.
func Encode(m Message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("crm: encode %s: %v", m.Type, err)) // plain data never fails
	}
	return append(append([]byte{}, wireMagic...), b...)
}

// Decode parses bytes from the wire. Any byte string either decodes into a
// well-formed Message or returns an error wrapping ErrMalformed.
func Decode(data []byte) (Message, error) {
	var m Message
	if len(data) > maxMessage {
		return m, fmt.Errorf("%w: %d bytes", ErrMalformed, len(data))
	}
	if !bytes.HasPrefix(data, wireMagic) {
		return m, fmt.Errorf("%w: no crm1 header", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data[len(wireMagic):]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Message{}, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	return m, nil
}

func (m *Message) check() error {
	// empty and absent are the same on the wire: keep one form
	for _, b := range []*[]byte{&m.LRM, &m.CIB, &m.Patch} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	if len(m.Members) == 0 {
		m.Members = nil
	}
	if len(m.History) == 0 {
		m.History = nil
	}
	if len(m.Incs) == 0 {
		m.Incs = nil
	}
	if m.Incs != nil && len(m.Incs) != len(m.Members) {
		return fmt.Errorf("%w: %d incarnations for %d members", ErrMalformed, len(m.Incs), len(m.Members))
	}
	if m.Req != nil && len(m.Req.XML) == 0 {
		m.Req.XML = nil
	}
	if !msgTypes[m.Type] {
		return fmt.Errorf("%w: unknown type %q", ErrMalformed, m.Type)
	}
	if m.To != "" && !validName(m.To) {
		return fmt.Errorf("%w: bad destination", ErrMalformed)
	}
	for _, n := range m.Members {
		if !validName(n) {
			return fmt.Errorf("%w: bad member name", ErrMalformed)
		}
	}
	switch m.Type {
	case MsgWrite:
		if m.Req == nil || m.Req.Op == cib.OpQuery {
			return fmt.Errorf("%w: write without a write request", ErrMalformed)
		}
		fallthrough
	case MsgWriteResult:
		if !validName(m.Origin) {
			return fmt.Errorf("%w: bad origin", ErrMalformed)
		}
	case MsgPatch:
		if len(m.Patch) == 0 {
			return fmt.Errorf("%w: empty patch", ErrMalformed)
		}
	case MsgFull:
		if len(m.CIB) == 0 {
			return fmt.Errorf("%w: empty full copy", ErrMalformed)
		}
	}
	return nil
}
