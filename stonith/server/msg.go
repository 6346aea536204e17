package server

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	stonithv1 "github.com/systole/systole/proto/stonith/v1"
	"github.com/systole/systole/stonith"
)

// Channel is the messaging channel stonithds talk on: results broadcast
// to every node, history exchange at join, forwarded fencing requests,
// history cleanups.
const Channel = "stonithd"

// msgMagic starts every stonithd message; its last byte is the format
// version, so a later format is refused, never misread.
var msgMagic = []byte("stn1")

// maxMessage bounds a stonithd message: a whole history (500 entries of a
// few hundred bytes, reasons bounded by MaxOutput) fits with room.
const maxMessage = 4 << 20

// msgKind is the type of a stonithd message.
type msgKind uint64

const (
	kindResult     msgKind = 1 // an operation ended (broadcast); body Entry
	kindHistoryReq msgKind = 2 // send me your history (at join); no body
	kindHistory    msgKind = 3 // a history; body HistoryResponse
	kindFence      msgKind = 4 // run this fencing for me; body FenceRequest
	kindFenceReply msgKind = 5 // its outcome; body FenceResponse, or Err
	kindCleanup    msgKind = 6 // forget ended operations; body HistoryRequest
)

// Field numbers of the envelope (protobuf wire format, every field at most
// once, unknown fields refused).
const (
	mKind protowire.Number = 1
	mSeq  protowire.Number = 2 // the forwarder's request number (fence, fence-reply)
	mBody protowire.Number = 3
	mErr  protowire.Number = 4 // fence-reply: why the request could not run
)

// message is one stonithd message.
type message struct {
	Kind    msgKind
	Seq     uint64
	Entry   *stonithv1.Entry           // result
	History *stonithv1.HistoryResponse // history
	Fence   *stonithv1.FenceRequest    // fence
	Reply   *stonithv1.FenceResponse   // fence-reply without Err
	Cleanup *stonithv1.HistoryRequest  // cleanup
	Err     string                     // fence-reply: the request was refused or could not run
}

// errBadMessage reports a stonithd message that failed validation.
var errBadMessage = errors.New("stonithd: malformed message")

func (m message) body() proto.Message {
	switch m.Kind {
	case kindResult:
		return m.Entry
	case kindHistory:
		return m.History
	case kindFence:
		return m.Fence
	case kindFenceReply:
		if m.Err != "" {
			return nil
		}
		return m.Reply
	case kindCleanup:
		return m.Cleanup
	}
	return nil
}

// encodeMsg renders m.
func encodeMsg(m message) []byte {
	b := append([]byte(nil), msgMagic...)
	b = protowire.AppendTag(b, mKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.Kind))
	if m.Seq != 0 {
		b = protowire.AppendTag(b, mSeq, protowire.VarintType)
		b = protowire.AppendVarint(b, m.Seq)
	}
	if body := m.body(); body != nil {
		data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(body)
		b = protowire.AppendTag(b, mBody, protowire.BytesType)
		b = protowire.AppendBytes(b, data)
	}
	if m.Kind == kindFenceReply && m.Err != "" {
		b = protowire.AppendTag(b, mErr, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte(m.Err))
	}
	return b
}

// decodeMsg parses and validates a stonithd message. It never panics and
// accepts only what encodeMsg produces for a valid message.
func decodeMsg(data []byte) (message, error) {
	var m message
	bad := func(format string, a ...any) (message, error) {
		return message{}, fmt.Errorf("%w: %s", errBadMessage, fmt.Sprintf(format, a...))
	}
	if len(data) > maxMessage {
		return bad("%d bytes", len(data))
	}
	if len(data) < len(msgMagic) || string(data[:len(msgMagic)]) != string(msgMagic) {
		return bad("bad magic or version")
	}
	b := data[len(msgMagic):]
	seen := map[protowire.Number]bool{}
	var body []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return bad("bad tag")
		}
		b = b[n:]
		if seen[num] {
			return bad("field %d repeated", num)
		}
		seen[num] = true
		switch num {
		case mKind, mSeq:
			if typ != protowire.VarintType {
				return bad("field %d has wire type %d", num, typ)
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return bad("bad varint")
			}
			b = b[n:]
			if num == mKind {
				m.Kind = msgKind(v)
			} else {
				m.Seq = v
			}
		case mBody, mErr:
			if typ != protowire.BytesType {
				return bad("field %d has wire type %d", num, typ)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return bad("bad bytes")
			}
			b = b[n:]
			if num == mBody {
				body = v
			} else {
				if len(v) == 0 || !utf8.Valid(v) {
					return bad("bad error text")
				}
				m.Err = string(v)
			}
		default:
			return bad("unknown field %d", num)
		}
	}
	if !seen[mKind] {
		return bad("no kind")
	}
	needSeq := m.Kind == kindFence || m.Kind == kindFenceReply
	if needSeq != (m.Seq != 0) {
		return bad("kind %d with seq %d", m.Kind, m.Seq)
	}
	if seen[mErr] && m.Kind != kindFenceReply {
		return bad("error text on kind %d", m.Kind)
	}
	wantBody := m.Kind != kindHistoryReq && !(m.Kind == kindFenceReply && m.Err != "")
	if seen[mBody] != wantBody {
		return bad("kind %d: body present=%v", m.Kind, seen[mBody])
	}
	strict := proto.UnmarshalOptions{DiscardUnknown: false}
	var err error
	switch m.Kind {
	case kindResult:
		m.Entry = &stonithv1.Entry{}
		if err = strict.Unmarshal(body, m.Entry); err == nil {
			err = checkEntry(m.Entry, true)
		}
	case kindHistoryReq:
	case kindHistory:
		m.History = &stonithv1.HistoryResponse{}
		if err = strict.Unmarshal(body, m.History); err == nil {
			for _, e := range m.History.Entries {
				if err = checkEntry(e, true); err != nil {
					break
				}
			}
		}
	case kindFence:
		m.Fence = &stonithv1.FenceRequest{}
		if err = strict.Unmarshal(body, m.Fence); err == nil {
			err = validate(RequestFromPB(m.Fence, "x"))
			if err == nil && (m.Fence.Origin == "" || m.Fence.TimeoutMs < 0 || m.Fence.ToleranceMs < 0) {
				err = errors.New("fence request without origin, or negative timeout")
			}
		}
	case kindFenceReply:
		if m.Err == "" {
			m.Reply = &stonithv1.FenceResponse{}
			if err = strict.Unmarshal(body, m.Reply); err == nil {
				if m.Reply.Entry == nil {
					err = errors.New("reply without entry")
				} else {
					err = checkEntry(m.Reply.Entry, false)
				}
			}
		}
	case kindCleanup:
		m.Cleanup = &stonithv1.HistoryRequest{}
		err = strict.Unmarshal(body, m.Cleanup)
	default:
		return bad("unknown kind %d", m.Kind)
	}
	if err != nil {
		return bad("kind %d: %v", m.Kind, err)
	}
	if len(m.unknownFields()) > 0 {
		return bad("kind %d: unknown fields in the body", m.Kind)
	}
	return m, nil
}

// unknownFields returns the unknown fields of the body (a newer peer's
// fields are refused: the format byte must change with the schema).
func (m message) unknownFields() []byte {
	var out []byte
	add := func(p proto.Message) {
		if p != nil {
			out = append(out, p.ProtoReflect().GetUnknown()...)
		}
	}
	add(m.Entry)
	add(m.Fence)
	add(m.Reply)
	add(m.Cleanup)
	if m.Reply != nil && m.Reply.Entry != nil {
		add(m.Reply.Entry)
	}
	if m.History != nil {
		add(m.History)
		for _, e := range m.History.Entries {
			add(e)
		}
	}
	return out
}

// checkEntry validates an entry from a peer: an id, a target, a fencing
// action, and (for broadcast results and histories) an ended state.
func checkEntry(e *stonithv1.Entry, ended bool) error {
	if e == nil {
		return errors.New("nil entry")
	}
	switch stonith.Action(e.Action) {
	case stonith.ActionOff, stonith.ActionOn, stonith.ActionReboot:
	default:
		return fmt.Errorf("entry action %q", e.Action)
	}
	if e.Target == "" {
		return errors.New("entry without target")
	}
	switch e.State {
	case stonithv1.State_STATE_DONE, stonithv1.State_STATE_FAILED:
		if e.Id == 0 {
			return errors.New("ended entry without id")
		}
	case stonithv1.State_STATE_PENDING:
		if ended {
			return errors.New("pending entry in a result")
		}
	default:
		return fmt.Errorf("entry state %d", e.State)
	}
	return nil
}
