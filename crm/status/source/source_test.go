package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/systole/systole/cib/client"
	"github.com/systole/systole/crm/status/source"
	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

const cibXML = `<cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="a">
  <configuration>
    <crm_config>
      <cluster_property_set id="custom-set">
        <nvpair id="my-own-id" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="a"/>
    </nodes>
    <resources/>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="a" in_ccm="1700000000" crmd="online" join="member" expected="member"/>
    <node_state id="b" in_ccm="false" crmd="offline" join="down"/>
  </status>
</cib>
`

func fileSource(t *testing.T) (*source.Source, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cib.xml")
	if err := os.WriteFile(p, []byte(cibXML), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := source.Open(client.Config{File: p})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func TestAttributesInAFile(t *testing.T) {
	s, p := fileSource(t)
	ctx := context.Background()
	opt := source.Attr{Scope: source.ScopeCRMConfig, Name: "stonith-enabled"}
	// an option in another set is found and keeps its id when changed
	if v, id, err := s.Get(ctx, opt); err != nil || v != "false" || id != "my-own-id" {
		t.Fatalf("Get = %q %q %v", v, id, err)
	}
	if err := s.Set(ctx, opt, "true"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), `<nvpair id="my-own-id" name="stonith-enabled" value="true"/>`) || strings.Contains(string(b), "cib-bootstrap-options") {
		t.Fatalf("option not updated in place:\n%s", b)
	}
	// a node known only from the status section gets its nodes entry
	forever := source.Attr{Scope: source.ScopeNodes, Node: "b", Name: "rack"}
	if err := s.Set(ctx, forever, "r2"); err != nil {
		t.Fatal(err)
	}
	if v, id, err := s.Get(ctx, forever); err != nil || v != "r2" || id != "nodes-b-rack" {
		t.Fatalf("Get = %q %q %v", v, id, err)
	}
	// a transient attribute of a node by id
	reboot := source.Attr{Scope: source.ScopeStatus, Node: "1", Name: "pingd"}
	if err := s.Set(ctx, reboot, "100"); err != nil {
		t.Fatal(err)
	}
	if id, err := s.Delete(ctx, reboot); err != nil || id != "status-1-pingd" {
		t.Fatalf("Delete = %q %v", id, err)
	}
	if _, err := s.Delete(ctx, reboot); !errors.Is(err, source.ErrNoAttr) {
		t.Fatalf("second Delete: %v", err)
	}
	if err := s.Set(ctx, source.Attr{Scope: source.ScopeStatus, Node: "ghost", Name: "x"}, "1"); !errors.Is(err, source.ErrNoNode) {
		t.Fatalf("unknown node: %v", err)
	}
	if err := s.Set(ctx, source.Attr{Scope: source.ScopeCRMConfig, Name: "x'y"}, "1"); err == nil {
		t.Fatal("quote in a name accepted")
	}
	nodes, view, err := s.Nodes(ctx)
	if err != nil || view != nil || len(nodes) != 2 || !nodes[0].Member || nodes[1].Member || nodes[1].Name != "b" {
		t.Fatalf("Nodes = %+v %v %v", nodes, view, err)
	}
	if _, err := s.GetStatus(ctx); !errors.Is(err, source.ErrOffline) {
		t.Fatalf("GetStatus offline: %v", err)
	}
}

func TestExitCodes(t *testing.T) {
	f := sourcetest.Start(t, []byte(cibXML), &crmv1.GetStatusResponse{Node: "a", Dc: "a", Members: []string{"a"}, Quorum: true})
	s, err := source.Open(client.Config{Socket: f.Socket})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, view, err := s.Cluster(ctx, 0)
	if err != nil || view == nil || c.DC == nil || c.DC.Name != "a" {
		t.Fatalf("Cluster: %v %v %v", c, view, err)
	}
	f.Lock()
	f.Deny = true
	f.Unlock()
	_, err = s.GetStatus(ctx)
	code := func(err error) int { return source.CLIError("t", err).(*client.CLIError).Code }
	if code(err) != client.ExitInsufficientPriv {
		t.Errorf("denied CRM call: %v -> %d", err, code(err))
	}
	if _, err := s.ReadCIB(ctx); code(err) != client.ExitInsufficientPriv || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("denied CIB call: %v -> %d", err, code(err))
	}
	for _, tc := range []struct {
		err  error
		want int
	}{{source.ErrOffline, client.ExitUnavailable}, {source.ErrNoAttr, client.ExitNoSuch}, {source.ErrNoNode, client.ExitNoSuch}, {errors.New("x"), client.ExitError}} {
		if got := code(tc.err); got != tc.want {
			t.Errorf("%v -> %d, want %d", tc.err, got, tc.want)
		}
	}
	gone, err := source.Open(client.Config{Socket: filepath.Join(t.TempDir(), "none.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	if _, err := gone.GetStatus(ctx); code(err) != client.ExitDisconnect {
		t.Errorf("unreachable: %v -> %d", err, code(err))
	}
}
