package server

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// ExecChannel is the messaging channel transition actions travel on
// between crmds: a request from the node that dispatches (the DC) to the
// target node, and the target's answer back.
const ExecChannel = "crmd-exec"

// execMagic starts every crmd-exec message; its last byte is the format
// version, so a later format is refused, never misread.
var execMagic = []byte("crx1")

// maxExecMessage bounds a crmd-exec message (an action's attributes are a
// few KiB; anything near this is garbage).
const maxExecMessage = 1 << 20

// execKind is the type of a crmd-exec message.
type execKind uint64

const (
	execRequest execKind = 1 // run an action (dispatcher -> target)
	execResult  execKind = 2 // its outcome (target -> dispatcher)
)

// Field numbers of the envelope (protobuf wire format, every field at most
// once, unknown fields refused).
const (
	fKind    protowire.Number = 1
	fID      protowire.Number = 2
	fView    protowire.Number = 3
	fBody    protowire.Number = 4 // ExecuteActionRequest or ExecuteActionResponse
	fCode    protowire.Number = 5 // gRPC code of a failed action (result only)
	fErrText protowire.Number = 6
)

// execMsg is one crmd-exec message.
type execMsg struct {
	Kind execKind
	// ID is the dispatcher's call id, echoed by the result.
	ID uint64
	// View is the dispatcher's view number when it sent the request.
	View int64
	Req  *crmv1.ExecuteActionRequest  // request
	Resp *crmv1.ExecuteActionResponse // result, when Code is OK
	// Code and Err describe a result that is an error.
	Code codes.Code
	Err  string
}

// errBadExec reports a crmd-exec message that failed validation.
var errBadExec = errors.New("crmd: malformed crmd-exec message")

// encodeExec renders m.
func encodeExec(m execMsg) []byte {
	b := append([]byte(nil), execMagic...)
	b = protowire.AppendTag(b, fKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.Kind))
	b = protowire.AppendTag(b, fID, protowire.VarintType)
	b = protowire.AppendVarint(b, m.ID)
	b = protowire.AppendTag(b, fView, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.View))
	var body []byte
	switch m.Kind {
	case execRequest:
		body, _ = proto.MarshalOptions{Deterministic: true}.Marshal(m.Req)
	case execResult:
		if m.Code == codes.OK {
			body, _ = proto.MarshalOptions{Deterministic: true}.Marshal(m.Resp)
		}
	}
	if m.Kind == execRequest || m.Code == codes.OK {
		b = protowire.AppendTag(b, fBody, protowire.BytesType)
		b = protowire.AppendBytes(b, body)
	}
	if m.Kind == execResult && m.Code != codes.OK {
		b = protowire.AppendTag(b, fCode, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(m.Code))
		b = protowire.AppendTag(b, fErrText, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte(m.Err))
	}
	return b
}

// decodeExec parses and validates a crmd-exec message. It never panics and
// accepts only what encodeExec produces for a valid message.
func decodeExec(data []byte) (execMsg, error) {
	var m execMsg
	if len(data) > maxExecMessage {
		return m, fmt.Errorf("%w: %d bytes", errBadExec, len(data))
	}
	if len(data) < len(execMagic) || string(data[:len(execMagic)]) != string(execMagic) {
		return m, fmt.Errorf("%w: bad magic or version", errBadExec)
	}
	b := data[len(execMagic):]
	seen := map[protowire.Number]bool{}
	var body []byte
	hasBody, hasCode := false, false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, fmt.Errorf("%w: bad tag", errBadExec)
		}
		b = b[n:]
		if seen[num] {
			return m, fmt.Errorf("%w: field %d repeated", errBadExec, num)
		}
		seen[num] = true
		switch num {
		case fKind, fID, fView, fCode:
			if typ != protowire.VarintType {
				return m, fmt.Errorf("%w: field %d has wire type %d", errBadExec, num, typ)
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return m, fmt.Errorf("%w: bad varint", errBadExec)
			}
			b = b[n:]
			switch num {
			case fKind:
				m.Kind = execKind(v)
			case fID:
				m.ID = v
			case fView:
				if v > 1<<62 {
					return m, fmt.Errorf("%w: view out of range", errBadExec)
				}
				m.View = int64(v)
			case fCode:
				if v == 0 || v > uint64(codes.Unauthenticated) {
					return m, fmt.Errorf("%w: code %d", errBadExec, v)
				}
				m.Code = codes.Code(v)
				hasCode = true
			}
		case fBody, fErrText:
			if typ != protowire.BytesType {
				return m, fmt.Errorf("%w: field %d has wire type %d", errBadExec, num, typ)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return m, fmt.Errorf("%w: bad bytes", errBadExec)
			}
			b = b[n:]
			if num == fBody {
				body, hasBody = v, true
			} else {
				m.Err = string(v)
			}
		default:
			return m, fmt.Errorf("%w: unknown field %d", errBadExec, num)
		}
	}
	if !seen[fKind] || !seen[fID] || !seen[fView] {
		return m, fmt.Errorf("%w: missing kind, id or view", errBadExec)
	}
	switch m.Kind {
	case execRequest:
		if !hasBody || hasCode || seen[fErrText] {
			return m, fmt.Errorf("%w: request without body or with an error", errBadExec)
		}
		m.Req = &crmv1.ExecuteActionRequest{}
		if err := proto.Unmarshal(body, m.Req); err != nil {
			return m, fmt.Errorf("%w: request body: %v", errBadExec, err)
		}
		if err := checkAction(m.Req); err != nil {
			return m, fmt.Errorf("%w: %v", errBadExec, err)
		}
	case execResult:
		if hasBody == hasCode || hasCode != seen[fErrText] {
			return m, fmt.Errorf("%w: a result has either a body or an error", errBadExec)
		}
		if hasBody {
			m.Resp = &crmv1.ExecuteActionResponse{}
			if err := proto.Unmarshal(body, m.Resp); err != nil {
				return m, fmt.Errorf("%w: result body: %v", errBadExec, err)
			}
		}
		if len(m.Err) > 4096 {
			return m, fmt.Errorf("%w: error text too long", errBadExec)
		}
	default:
		return m, fmt.Errorf("%w: kind %d", errBadExec, m.Kind)
	}
	return m, nil
}

// checkAction validates an action request, wherever it comes from (the
// gRPC API or another node): names that go into XPath literals and XML
// ids, sizes, and the fields an operation needs.
func checkAction(r *crmv1.ExecuteActionRequest) error {
	if !nameOK(r.GetNode()) {
		return fmt.Errorf("bad node %q", r.GetNode())
	}
	if r.GetOperation() == "" || len(r.GetOperation()) > 64 || !nameOK(r.GetOperation()) {
		return fmt.Errorf("bad operation %q", r.GetOperation())
	}
	needsRsc := r.GetOperation() != "stonith" && r.GetOperation() != "do_shutdown"
	if needsRsc && !nameOK(r.GetRscId()) {
		return fmt.Errorf("bad resource id %q", r.GetRscId())
	}
	for _, s := range []string{r.GetOperationKey(), r.GetRscLongId(), r.GetRscClass(), r.GetRscProvider(), r.GetRscType(), r.GetTransitionKey()} {
		if len(s) > 255 || (s != "" && !nameOK(s)) {
			return fmt.Errorf("bad field %q", s)
		}
	}
	if len(r.GetAttributes()) > 1024 {
		return fmt.Errorf("too many attributes")
	}
	for k, v := range r.GetAttributes() {
		if k == "" || len(k) > 255 || len(v) > 64<<10 {
			return fmt.Errorf("bad attribute %q", k)
		}
	}
	return nil
}

// nameOK accepts names that can sit inside an XPath literal and an XML
// attribute (as crm's node names).
func nameOK(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == '\'' || r == '"' || r == '<' || r == '>' || r == '&' || r == 0x7f {
			return false
		}
	}
	return true
}
