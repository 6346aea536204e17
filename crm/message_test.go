package crm

import (
	"errors"
	"reflect"
	"testing"

	"github.com/systole/systole/cib"
)

func sampleMessages() []Message {
	req := cib.Request{Op: cib.OpCreate, Scope: "resources", XML: []byte(`<primitive id="d1" class="ocf" provider="heartbeat" type="Dummy"/>`)}
	return []Message{
		{Type: MsgVote, View: 7, Members: []string{"a", "b"}, WasDC: true, Version: cib.Version{Epoch: 3}},
		{Type: MsgJoinOffer, To: "b", View: 7, Version: cib.Version{Epoch: 3, NumUpdates: 1}, Digest: 42},
		{Type: MsgJoinRequest, To: "a", View: 7, LRM: []byte(`<lrm id="b"/>`), CIB: []byte(`<cib/>`), History: []HistEntry{{0, 3, 99}}},
		{Type: MsgPatch, View: 7, Patch: []byte(`<diff format="2"/>`)},
		{Type: MsgWrite, To: "a", Origin: "b", ID: 9, Req: &req},
		{Type: MsgWriteResult, To: "b", Origin: "b", ID: 9, Err: "no such object", ErrCode: "notfound"},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		got, err := Decode(Encode(m))
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", m.Type, got, m)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no header":      `{"t":"vote"}`,
		"unknown type":   `crm1{"t":"boom"}`,
		"unknown field":  `crm1{"t":"vote","zz":1}`,
		"trailing":       `crm1{"t":"vote"}{}`,
		"bad member":     `crm1{"t":"vote","m":["a b"]}`,
		"write no req":   `crm1{"t":"write","o":"a"}`,
		"query as write": `crm1{"t":"write","o":"a","req":{"Op":"query"}}`,
		"empty patch":    `crm1{"t":"patch"}`,
		"not json":       "crm1\x00\xff",
	} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecode: any byte string either decodes into a message that
// re-encodes to an equivalent message, or is refused with ErrMalformed;
// stepping a decoded message never panics.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(Encode(m))
	}
	f.Add([]byte("crm1{}"))
	f.Add([]byte(`crm1{"t":"full","cib":"PGNpYi8+"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		m2, err := Decode(Encode(m))
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encode: %v\n%+v\n%+v", err, m, m2)
		}
		n, _ := NewNode(DefaultConfig("a"), nil)
		n.SetView(epoch, View{Number: m.View, Members: []string{"a", "b"}, Quorum: true})
		m.From = "b"
		_ = n.Step(epoch, m)
		n.Tick(epoch.Add(time1s))
		n.Ready()
	})
}
