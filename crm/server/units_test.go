package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/beevik/etree"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

func viewOf(n uint64, members []string) crm.View {
	return crm.View{Number: n, Members: members, Quorum: true}
}

func statusCode(err error) codes.Code { return status.Code(err) }

func TestAccessPolicy(t *testing.T) {
	p := AccessPolicy{SelfUID: 1000, HAClientGID: 90}
	for _, tt := range []struct {
		name string
		c    PeerCred
		ok   bool
	}{
		{"unknown peer", PeerCred{}, false},
		{"root", PeerCred{Known: true, UID: 0, GID: 0}, true},
		{"crmd's own user", PeerCred{Known: true, UID: 1000, GID: 1000}, true},
		{"haclient primary", PeerCred{Known: true, UID: 2000, GID: 90}, true},
		{"haclient supplementary", PeerCred{Known: true, UID: 2000, GID: 2000, Groups: []uint32{5, 90}}, true},
		{"other user", PeerCred{Known: true, UID: 2000, GID: 2000, Groups: []uint32{5, 91}}, false},
	} {
		if got := p.Allowed(tt.c); got != tt.ok {
			t.Errorf("%s: Allowed = %v, want %v", tt.name, got, tt.ok)
		}
	}
	if (AccessPolicy{SelfUID: 1000, HAClientGID: -1}).Allowed(PeerCred{Known: true, UID: 2000, GID: 4294967295}) {
		t.Errorf("a peer was allowed through a missing haclient group")
	}
	ctx := peer.NewContext(context.Background(), &peer.Peer{AuthInfo: PeerCred{Known: true, UID: 2000, GID: 2000}})
	if err := p.CheckPeer(ctx); status.Code(err) != codes.PermissionDenied {
		t.Errorf("checkPeer of a non-haclient uid: %v, want PermissionDenied", err)
	}
	ctx = peer.NewContext(context.Background(), &peer.Peer{AuthInfo: PeerCred{Known: true, UID: 2000, GID: 90}})
	if err := p.CheckPeer(ctx); err != nil {
		t.Errorf("checkPeer of a haclient member: %v", err)
	}
	if err := p.CheckPeer(context.Background()); status.Code(err) != codes.PermissionDenied {
		t.Errorf("checkPeer without a peer: %v", err)
	}
}

func sampleExecMsgs() []execMsg {
	return []execMsg{
		{Kind: execRequest, ID: 7, View: 3, Req: &crmv1.ExecuteActionRequest{TransitionId: 2, ActionId: 5, Node: "n2", Operation: "start",
			OperationKey: "d1_start_0", RscId: "d1", RscClass: "ocf", RscProvider: "heartbeat", RscType: "Dummy",
			Attributes: map[string]string{"CRM_meta_timeout": "20000", "state": "/x"}, TransitionKey: "5:2:0:u", TargetRc: 0}},
		{Kind: execResult, ID: 7, View: 3, Resp: &crmv1.ExecuteActionResponse{Rc: 7, OpStatus: 0, ExitReason: "gone", CallId: 12}},
		{Kind: execResult, ID: 8, View: 3, Resp: &crmv1.ExecuteActionResponse{}},
		{Kind: execResult, ID: 9, View: 4, Code: codes.Unavailable, Err: "lrmd away"},
	}
}

func TestExecCodecRoundTrip(t *testing.T) {
	for i, m := range sampleExecMsgs() {
		b := encodeExec(m)
		got, err := decodeExec(b)
		if err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		if !bytes.Equal(encodeExec(got), b) {
			t.Errorf("%d: re-encoding differs", i)
		}
	}
	good := encodeExec(sampleExecMsgs()[0])
	for name, b := range map[string][]byte{
		"empty":        nil,
		"old version":  append([]byte("crx0"), good[4:]...),
		"truncated":    good[:len(good)-3],
		"trailing tag": append(append([]byte(nil), good...), 0x08),
		"repeated":     append(append([]byte(nil), good...), 0x08, 0x01),
		"unknown":      append(append([]byte(nil), good...), 0x78, 0x01),
		"no body":      encodeExec(execMsg{Kind: execRequest, ID: 1, Req: &crmv1.ExecuteActionRequest{}}),
		"bad node":     encodeExec(execMsg{Kind: execRequest, ID: 1, Req: &crmv1.ExecuteActionRequest{Node: "a'b", Operation: "start", RscId: "d1"}}),
		"bad kind":     encodeExec(execMsg{Kind: 9, ID: 1}),
		"huge":         append(append([]byte(nil), good...), make([]byte, maxExecMessage)...),
	} {
		if _, err := decodeExec(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeExec(f *testing.F) {
	for _, m := range sampleExecMsgs() {
		f.Add(encodeExec(m))
	}
	f.Add([]byte("crx1"))
	f.Add([]byte("crx1\x08\x01\x10\x01\x18\x01\x22\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeExec(data)
		if err != nil {
			return
		}
		// what decodes re-encodes to something that decodes the same
		b := encodeExec(m)
		m2, err := decodeExec(b)
		if err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
		if !bytes.Equal(encodeExec(m2), b) {
			t.Fatalf("encoding not stable")
		}
	})
}

func TestUnexpectedChanges(t *testing.T) {
	e := newExpectations()
	e.add(&crmv1.ExecuteActionRequest{Node: "n1", Operation: "start", RscId: "d1", TransitionKey: "1:2:0:u"}, 1)
	e.add(&crmv1.ExecuteActionRequest{Node: "n2", Operation: "cancel", RscId: "d1", TransitionKey: "2:2:0:u"}, 1)
	op := func(tk string) *etree.Element {
		el := etree.NewElement("lrm_rsc_op")
		el.CreateAttr("id", "d1_last_0")
		el.CreateAttr("transition-key", tk)
		return el
	}
	rsc := func(tk string) *etree.Element {
		r := etree.NewElement("lrm_resource")
		r.CreateAttr("id", "d1")
		r.AddChild(op(tk))
		return r
	}
	base := "/cib/status/node_state[@id='n1']/lrm[@id='n1']/lrm_resources"
	for _, tt := range []struct {
		name string
		c    cib.Change
		want bool
	}{
		{"expected create", cib.Change{Op: cib.ChangeCreate, Path: base, Element: rsc("1:2:0:u")}, false},
		{"expected modify", cib.Change{Op: cib.ChangeModify, Path: base + "/lrm_resource[@id='d1']/lrm_rsc_op[@id='d1_last_0']", Element: op("1:2:0:u")}, false},
		{"other key", cib.Change{Op: cib.ChangeModify, Path: base + "/lrm_resource[@id='d1']/lrm_rsc_op[@id='d1_last_0']", Element: op("9:2:0:u")}, true},
		{"other node", cib.Change{Op: cib.ChangeCreate, Path: "/cib/status/node_state[@id='n3']/lrm[@id='n3']/lrm_resources", Element: rsc("1:2:0:u")}, true},
		{"attribute", cib.Change{Op: cib.ChangeCreate, Path: "/cib/status/node_state[@id='n1']/transient_attributes", Element: etree.NewElement("nvpair")}, true},
		{"configuration", cib.Change{Op: cib.ChangeCreate, Path: "/cib/configuration/resources", Element: etree.NewElement("primitive")}, true},
		{"expected delete", cib.Change{Op: cib.ChangeDelete, Path: "/cib/status/node_state[@id='n2']/lrm[@id='n2']/lrm_resources/lrm_resource[@id='d1']/lrm_rsc_op[@id='d1_monitor_1000']"}, false},
		{"unexpected delete", cib.Change{Op: cib.ChangeDelete, Path: base + "/lrm_resource[@id='d1']"}, true},
		{"node_state", cib.Change{Op: cib.ChangeModify, Path: "/cib/status/node_state[@id='n1']", Element: etree.NewElement("node_state")}, true},
	} {
		if got := e.unexpected(&cib.Patch{Changes: []cib.Change{tt.c}}); got != tt.want {
			t.Errorf("%s: unexpected = %v, want %v", tt.name, got, tt.want)
		}
	}
	e.add(&crmv1.ExecuteActionRequest{Node: "n1", Operation: "start", RscId: "d1", TransitionKey: "1:2:0:u"}, -1)
	if !e.unexpected(&cib.Patch{Changes: []cib.Change{{Op: cib.ChangeCreate, Path: base, Element: rsc("1:2:0:u")}}}) {
		t.Errorf("a record whose action was answered counts as expected")
	}
}

// testLogger logs to stderr when CRMD_TEST_LOG is set.
func testLogger(name string) *slog.Logger {
	if os.Getenv("CRMD_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("n", name)
}
