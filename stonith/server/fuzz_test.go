package server

import (
	"bytes"
	"testing"
)

// FuzzDecodeMsg: the stonithd channel decoder never panics, and what it
// accepts re-encodes to the same bytes (one encoding per message).
//
//	go test -fuzz FuzzDecodeMsg ./stonith/server/
func FuzzDecodeMsg(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(encodeMsg(m))
	}
	f.Add([]byte("stn1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMsg(data)
		if err != nil {
			return
		}
		if b := encodeMsg(m); !bytes.Equal(b, data) {
			// protobuf allows several encodings of one message (field
			// order, non-minimal varints); the decoded value must still
			// survive a round trip.
			m2, err := decodeMsg(b)
			if err != nil {
				t.Fatalf("re-encoding of an accepted message refused: %v", err)
			}
			if !bytes.Equal(encodeMsg(m2), b) {
				t.Fatalf("encoding not stable")
			}
		}
	})
}
