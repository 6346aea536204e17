package messaging

import (
	"bytes"
	"io/fs"
	"os"
	"reflect"
	"testing"
	"time"
)

func fuzzCodec() *codec {
	c, err := newCodec("sim", testKeys(), false)
	if err != nil {
		panic(err)
	}
	return c
}

func seedPackets() []*packet {
	return []*packet{
		{Type: typeHeartbeat, Src: "n1", Gen: 3, Pktno: 1, NextSeq: 1, Acks: []ackEntry{{Node: "n2", Gen: 1, Seq: 9}}},
		{Type: typeAck, Src: "n2", Gen: 1, Pktno: 7, NextSeq: 4},
		{Type: typeData, Src: "n1", Gen: 3, Pktno: 2, NextSeq: 2, Seq: 1, FragIndex: 0, FragCount: 1, Total: 5, Channel: "crmd", Payload: []byte("hello")},
		{Type: typeData, Src: "n1", Gen: 3, Pktno: 3, NextSeq: 9, Seq: 8, FragIndex: 1, FragCount: 3, Total: 9000, Channel: "cib", Dest: "n2", Payload: []byte("part")},
		{Type: typeNack, Src: "n2", Gen: 1, Pktno: 8, NextSeq: 4, Target: "n1", TargetGen: 3, Ranges: []seqRange{{2, 5}, {9, 9}}},
		{Type: typeLost, Src: "n1", Gen: 3, Pktno: 4, NextSeq: 9, Target: "n2", Ranges: []seqRange{{1, 1}}},
	}
}

// FuzzDecode feeds arbitrary bytes to the packet decoder: it must never
// panic, and what it accepts must re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	c := fuzzCodec()
	for _, p := range seedPackets() {
		f.Add(c.encode(p))
	}
	f.Add([]byte("SY"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := c.decode(b)
		if err != nil {
			return
		}
		if again := c.encode(p); !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs:\n%x\n%x", b, again)
		}
	})
}

// FuzzBody fuzzes the body parser directly (behind the HMAC in
// FuzzDecode): accepted bodies round-trip.
func FuzzBody(f *testing.F) {
	for _, p := range seedPackets() {
		f.Add(uint8(p.Type), appendBody(nil, p))
	}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		if typ < uint8(typeHeartbeat) || typ > uint8(typeLost) {
			return
		}
		p := &packet{Type: ptype(typ)}
		if err := decodeBody(p, body); err != nil {
			return
		}
		if again := appendBody(nil, p); !bytes.Equal(again, body) {
			t.Fatalf("body re-encode differs:\n%x\n%x", body, again)
		}
		q := &packet{Type: ptype(typ)}
		if err := decodeBody(q, appendBody(nil, p)); err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("second decode: %v", err)
		}
	})
}

// FuzzStep feeds arbitrary bytes to a running Node: no panic, and no
// state change from packets that fail to decode.
func FuzzStep(f *testing.F) {
	c := fuzzCodec()
	for _, p := range seedPackets() {
		f.Add(c.encode(p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newSimNet(t, 1, 2, []Medium{{Name: "m"}})
		s.start(0)
		n := s.nodes[0].node
		n.Tick(simEpoch)
		_ = n.Step(b, 0, simEpoch)
		n.Tick(simEpoch.Add(time.Second))
	})
}

func FuzzParseHaCf(f *testing.F) {
	data, _ := os.ReadFile("testdata/ha.cf")
	f.Add(data)
	f.Add([]byte("node a\nbcast eth0\ndeadtime 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHaCf("f", b)
		if err != nil {
			return
		}
		if len(h.Nodes) == 0 || h.Deadtime < 2*h.Keepalive {
			t.Fatalf("accepted invalid config %+v", h)
		}
	})
}

func FuzzParseAuthkeys(f *testing.F) {
	f.Add([]byte("auth 1\n1 sha256 secret\n"))
	f.Add([]byte("auth 2\n1 md5 a\n2 sha1 b # c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseAuthkeys("authkeys", b, fs.FileMode(0o600))
		if err != nil {
			return
		}
		if _, ok := k.ByID[k.Active]; !ok {
			t.Fatal("active key missing")
		}
		if _, err := newCodec("x", k, true); err != nil {
			t.Fatal(err)
		}
	})
}
