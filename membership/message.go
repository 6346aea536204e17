package membership

import (
	"encoding/binary"
	"fmt"
)

// MessageType identifies a membership protocol message.
type MessageType uint8

// Membership protocol message types.
const (
	// MsgState carries the sender's table of who-hears-whom reports (its own and the
	// newest it holds from every other node); it is broadcast every ReportInterval and
	// whenever the sender's own report changes. Relaying other nodes' reports lets a node
	// learn the links of a peer it cannot hear itself (asymmetric links).
	MsgState MessageType = 1
	// MsgPropose asks every member of a candidate view to acknowledge it.
	MsgPropose MessageType = 2
	// MsgAck answers a proposal: accepted, or refused with the reason and the highest view
	// number the member has seen.
	MsgAck MessageType = 3
	// MsgInstall tells the members that every member acknowledged: install the view.
	MsgInstall MessageType = 4
	// MsgLeave tells a node of the coordinator's previous view that it was left out of
	// the new view; it is sent only when the new view has quorum.
	MsgLeave MessageType = 5
)

// String returns the message type name used in logs.
func (t MessageType) String() string {
	switch t {
	case MsgState:
		return "state"
	case MsgPropose:
		return "propose"
	case MsgAck:
		return "ack"
	case MsgInstall:
		return "install"
	case MsgLeave:
		return "leave"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// AckResult is the answer of a member to a proposal.
type AckResult uint8

// Acknowledgement results.
const (
	// AckOK accepts the proposal: the member promises not to accept a lower number.
	AckOK AckResult = 0
	// AckStale refuses a proposal whose number is not above the member's highest seen
	// view number (carried in MaxSeen).
	AckStale AckResult = 1
	// AckMismatch refuses a proposal whose member set or coordinator differs from what the
	// member computes from its own reports.
	AckMismatch AckResult = 2
)

// Report is one node's who-hears-whom report.
type Report struct {
	// Origin is the index of the reporting node.
	Origin uint8
	// Incarnation grows at every restart of the origin; Seq grows at every change within
	// an incarnation. (Incarnation, Seq) orders reports from one origin.
	Incarnation uint64
	Seq         uint64
	// Hears is the set of node indices the origin hears (after hold-down), itself included.
	Hears uint64
	// View and ViewCoord identify the view the origin has installed (0 and NoNode if none).
	View      uint64
	ViewCoord uint8
}

// NoNode is the node index meaning "none" on the wire.
const NoNode uint8 = 0xff

// Message is a decoded membership protocol message. Which fields are used depends on Type.
type Message struct {
	Type        MessageType
	Fingerprint uint64
	From        uint8
	// Reports is set for MsgState.
	Reports []Report
	// Number is the view number of MsgPropose, MsgAck, MsgInstall and MsgLeave.
	Number uint64
	// Members is the member set of MsgPropose and MsgInstall.
	Members uint64
	// Coord is the coordinator a MsgAck answers.
	Coord uint8
	// Result and MaxSeen are set for MsgAck.
	Result  AckResult
	MaxSeen uint64
}

const (
	magic0, magic1 = 'S', 'M'
	wireVersion    = 1
	headerLen      = 2 + 1 + 1 + 8 + 1
)

// Encode appends the wire form of m to b.
func (m *Message) Encode(b []byte) []byte {
	b = append(b, magic0, magic1, wireVersion, byte(m.Type))
	b = binary.BigEndian.AppendUint64(b, m.Fingerprint)
	b = append(b, m.From)
	switch m.Type {
	case MsgState:
		b = binary.AppendUvarint(b, uint64(len(m.Reports)))
		for _, r := range m.Reports {
			b = append(b, r.Origin)
			b = binary.AppendUvarint(b, r.Incarnation)
			b = binary.AppendUvarint(b, r.Seq)
			b = binary.BigEndian.AppendUint64(b, r.Hears)
			b = binary.AppendUvarint(b, r.View)
			b = append(b, r.ViewCoord)
		}
	case MsgPropose, MsgInstall:
		b = binary.AppendUvarint(b, m.Number)
		b = binary.BigEndian.AppendUint64(b, m.Members)
	case MsgAck:
		b = binary.AppendUvarint(b, m.Number)
		b = append(b, m.Coord, byte(m.Result))
		b = binary.AppendUvarint(b, m.MaxSeen)
	case MsgLeave:
		b = binary.AppendUvarint(b, m.Number)
	}
	return b
}

// decoder reads fields and remembers the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (d *decoder) byte(what string) uint8 {
	if d.err != nil || len(d.b) < 1 {
		d.fail("truncated " + what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u64(what string) uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail("truncated " + what)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) index(what string) uint8 {
	v := d.byte(what)
	if d.err == nil && v >= MaxNodes {
		d.fail(fmt.Sprintf("%s index %d out of range", what, v))
	}
	return v
}

// DecodeMessage parses a membership message. It accepts any byte string without panicking
// and returns an error wrapping ErrMalformed for anything that is not exactly one
// well-formed message. It checks structure only: whether indices name configured nodes is
// checked by Node.Step.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := decodeInto(b, &m); err != nil {
		return Message{}, err
	}
	return m, nil
}

// decodeInto is DecodeMessage reusing m's Reports slice, so that a node decoding a stream
// of state messages does not allocate for each.
func decodeInto(b []byte, m *Message) error {
	reports := m.Reports[:0]
	*m = Message{}
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, shorter than the header", ErrMalformed, len(b))
	}
	if b[0] != magic0 || b[1] != magic1 {
		return fmt.Errorf("%w: bad magic", ErrMalformed)
	}
	if b[2] != wireVersion {
		return fmt.Errorf("%w: unsupported version %d", ErrMalformed, b[2])
	}
	m.Type = MessageType(b[3])
	d := decoder{b: b[4:]}
	m.Fingerprint = d.u64("fingerprint")
	m.From = d.index("sender")
	switch m.Type {
	case MsgState:
		n := d.uvarint("report count")
		if d.err == nil && n > MaxNodes {
			d.fail(fmt.Sprintf("%d reports", n))
		}
		if d.err == nil && n > 0 {
			m.Reports = reports
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			var r Report
			r.Origin = d.index("report origin")
			r.Incarnation = d.uvarint("incarnation")
			r.Seq = d.uvarint("seq")
			r.Hears = d.u64("hears")
			r.View = d.uvarint("view")
			r.ViewCoord = d.byte("view coordinator")
			if d.err == nil && r.ViewCoord != NoNode && r.ViewCoord >= MaxNodes {
				d.fail("view coordinator out of range")
			}
			m.Reports = append(m.Reports, r)
		}
	case MsgPropose, MsgInstall:
		m.Number = d.uvarint("number")
		m.Members = d.u64("members")
	case MsgAck:
		m.Number = d.uvarint("number")
		m.Coord = d.index("coordinator")
		m.Result = AckResult(d.byte("result"))
		if d.err == nil && m.Result > AckMismatch {
			d.fail(fmt.Sprintf("unknown ack result %d", m.Result))
		}
		m.MaxSeen = d.uvarint("max seen")
	case MsgLeave:
		m.Number = d.uvarint("number")
	default:
		return fmt.Errorf("%w: unknown message type %d", ErrMalformed, b[3])
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return fmt.Errorf("decode %v: %w", m.Type, d.err)
	}
	return nil
}
