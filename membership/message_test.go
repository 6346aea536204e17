package membership

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleMessages() []Message {
	return []Message{
		{Type: MsgState, Fingerprint: 42, From: 1, Reports: []Report{
			{Origin: 0, Incarnation: 3, Seq: 9, Hears: 0b111, View: 7, ViewCoord: 0},
			{Origin: 1, Incarnation: 1, Seq: 1, Hears: 0b10, ViewCoord: NoNode},
		}},
		{Type: MsgState, Fingerprint: 1, From: 0},
		{Type: MsgPropose, Fingerprint: 5, From: 0, Number: 300, Members: 0b1011},
		{Type: MsgAck, Fingerprint: 5, From: 3, Number: 300, Coord: 0, Result: AckMismatch, MaxSeen: 301},
		{Type: MsgInstall, Fingerprint: 5, From: 0, Number: 300, Members: 0b1011},
		{Type: MsgLeave, Fingerprint: 5, From: 63, Number: 1 << 40},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		t.Run(m.Type.String(), func(t *testing.T) {
			got, err := DecodeMessage(m.Encode(nil))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("got %+v want %+v", got, m)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := sampleMessages()[0].Encode(nil)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:5]},
		{"bad magic", append([]byte{'X'}, good[1:]...)},
		{"bad version", append([]byte{'S', 'M', 9}, good[3:]...)},
		{"unknown type", append([]byte{'S', 'M', 1, 99}, good[4:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(good[:len(good):len(good)], 0)},
		{"sender out of range", func() []byte { b := append([]byte(nil), good...); b[12] = 64; return b }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeMessage(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Encode(nil))
	}
	f.Add([]byte("SM\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		again, err := DecodeMessage(m.Encode(nil))
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed the message: %+v vs %+v", again, m)
		}
	})
}

// FuzzStep feeds a node well-formed messages with arbitrary contents from an authenticated
// configured sender (a buggy or hostile peer): the core must not panic and must keep its
// view numbers growing.
func FuzzStep(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Encode(nil), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		names := []string{"a", "b", "c", "d"}
		n, err := NewNode(DefaultConfig("a", names...), HardState{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.Fingerprint = n.fp
		m.From = 1 + m.From%3
		now := t0
		for _, p := range names[1:] {
			_ = n.PeerStatus(now, p, true)
		}
		last := uint64(0)
		for i := 0; i <= int(step%8); i++ {
			now = now.Add(time.Duration(step) * 100 * time.Millisecond)
			n.Tick(now)
			_ = n.Step(now, names[m.From], m.Encode(nil))
			rd := n.Ready()
			if rd.View != nil {
				if rd.View.Number <= last {
					t.Fatalf("view number %d after %d", rd.View.Number, last)
				}
				last = rd.View.Number
			}
		}
	})
}
