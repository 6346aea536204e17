package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
	stonithv1 "github.com/systole/systole/proto/stonith/v1"
)

type fakeHistory struct {
	stonithv1.UnimplementedStonithServiceServer
	entries []*stonithv1.Entry
}

func (f *fakeHistory) History(context.Context, *stonithv1.HistoryRequest) (*stonithv1.HistoryResponse, error) {
	return &stonithv1.HistoryResponse{Entries: f.entries}, nil
}

// serveStonith serves a fake stonithd history on sock.
func serveStonith(t *testing.T, sock string, entries []*stonithv1.Entry) {
	t.Helper()
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	stonithv1.RegisterStonithServiceServer(g, &fakeHistory{entries: entries})
	go g.Serve(lis)
	t.Cleanup(g.Stop)
}

func TestFenceHistoryLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_mon")
	f := sourcetest.Start(t, readCIB(t, "mixed.xml"), &crmv1.GetStatusResponse{Node: "n1", Dc: "n1", Members: []string{"n1", "n2"}, Quorum: true})
	env := append(f.Live(), "TZ=UTC")

	// no stonithd: -m says so, the default shows nothing
	code, out, errs := sourcetest.Sh(t, bin, env, "crm_mon -1 -m")
	if code != 0 || !strings.Contains(out, "Fencing History:\n  * fencing history not available: stonithd is not running") {
		t.Errorf("-m without stonithd: exit %d %s\n%s", code, errs, out)
	}
	if _, out, _ := sourcetest.Sh(t, bin, env, "crm_mon -1"); strings.Contains(out, "Fencing") {
		t.Errorf("crm_mon -1 without stonithd shows fencing:\n%s", out)
	}

	const t0 = 1795322835000 // Sun Nov 22 04:47:15 2026 UTC
	serveStonith(t, filepath.Join(filepath.Dir(f.Socket), "stonithd.sock"), []*stonithv1.Entry{
		{Id: 1, Target: "n2", Action: "reboot", State: stonithv1.State_STATE_DONE, Origin: "n1", Delegate: "n1", Clients: []string{"crmd"}, CompletedMs: t0 - 60_000},
		{Id: 2, Target: "n2", Action: "reboot", State: stonithv1.State_STATE_FAILED, Origin: "n1", Delegate: "n1", Clients: []string{"crmd"}, Reason: "fence_systole_lab: rc 1", CompletedMs: t0 - 120_000},
		{Id: 3, Target: "n2", Action: "reboot", State: stonithv1.State_STATE_DONE, Origin: "n1", Delegate: "n3", Clients: []string{"crmd"}, CompletedMs: t0},
	})
	success := "  * reboot of n2 successful: delegate=n3, client=crmd, origin=n1, last-successful='2026-11-22 04:47:15Z'"
	failed := "Failed Fencing Actions:\n  * reboot of n2 failed (fence_systole_lab: rc 1): delegate=n1, client=crmd, origin=n1, last-failed='2026-11-22 04:45:15Z'"
	for _, tt := range []struct {
		line         string
		want, absent []string
	}{
		{"crm_mon -1 -m", []string{failed, "Fencing History:\n" + success + "\n"}, []string{"delegate=n1, client=crmd, origin=n1, last-successful"}},
		{"crm_mon -1 --fence-history=3", []string{"Fencing History:\n  * reboot of n2 successful: delegate=n3, client=crmd, origin=n1, completed='2026-11-22 04:47:15Z'\n  * reboot of n2 successful: delegate=n1, client=crmd, origin=n1, completed='2026-11-22 04:46:15Z'"}, nil},
		{"crm_mon -1 --fence-history=1", []string{failed}, []string{"Fencing History"}},
		{"crm_mon -1 --fence-history=0", nil, []string{"Fenc"}},
		{"crm_mon -1 --output-as=xml -m", []string{`<fence_event action="reboot" target="n2" client="crmd" origin="n1" status="failed" exit-reason="fence_systole_lab: rc 1" delegate="n1" completed="2026-11-22 04:45:15Z"/>`,
			`<fence_event action="reboot" target="n2" client="crmd" origin="n1" status="success" delegate="n3" completed="2026-11-22 04:47:15Z"/>`}, nil},
	} {
		code, out, errs := sourcetest.Sh(t, bin, env, tt.line)
		if code != 0 {
			t.Errorf("%s: exit %d %s", tt.line, code, errs)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", tt.line, w, out)
			}
		}
		for _, w := range tt.absent {
			if strings.Contains(out, w) {
				t.Errorf("%s shows %q:\n%s", tt.line, w, out)
			}
		}
	}
}
