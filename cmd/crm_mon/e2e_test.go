package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/systole/systole/cib"
	"github.com/systole/systole/crm/status/source/sourcetest"
	crmv1 "github.com/systole/systole/proto/crm/v1"
)

// TestMain lets the test binary stand in for crm_mon (see sourcetest).
func TestMain(m *testing.M) {
	sourcetest.ToolMain(m, func() int { return Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) })
}

const testdata = "../../crm/status/testdata/"

func readCIB(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFileOneShot(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_mon")
	env := []string{"CIB_file=" + testdata + "reference.xml", "TZ=UTC"}
	code, out, errs := sourcetest.Sh(t, bin, env, "crm_mon -1")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"Cluster Summary:\n  * Stack: corosync\n  * Current DC: n1 (version 2.1.5-a3f44794f94) - partition with quorum\n",
		"  * Last change:  Sun Nov 22 04:46:21 2026 by root via cibadmin on n1\n  * 3 nodes configured\n  * 3 resource instances configured\n",
		"Node List:\n  * Online: [ n1 n2 n3 ]\n\nActive Resources:\n  * fence-dummy\t(stonith:fence_dummy):\t Started n1\n  * Resource Group: g:\n    * dummy\t(ocf:pacemaker:Dummy):\t Started n3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// not a terminal and no -i: one shot too, as scripts expect
	if code, out2, _ := sourcetest.Sh(t, bin, env, "crm_mon"); code != 0 || strings.Count(out2, "Cluster Summary:") != 1 {
		t.Errorf("crm_mon without -1 on a pipe: exit %d\n%s", code, out2)
	}
}

func TestFileXMLAndFlags(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_mon")
	env := []string{"CIB_file=" + testdata + "mixed.xml", "TZ=UTC"}
	for _, line := range []string{"crm_mon -1 --output-as=xml", "crm_mon -1 -X", "crm_mon -1 --output-as xml -m"} {
		code, out, errs := sourcetest.Sh(t, bin, env, line)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", line, code, errs)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromString(out); err != nil {
			t.Fatalf("%s: not XML: %v", line, err)
		}
		r := doc.Root()
		if r.Tag != "pacemaker-result" || r.SelectAttrValue("api-version", "") == "" {
			t.Fatalf("%s: root %s", line, r.Tag)
		}
		if got := r.SelectAttrValue("request", ""); got != line {
			t.Errorf("request=%q, want %q", got, line)
		}
		for _, p := range []string{"summary/current_dc[@name='n2']", "nodes/node[@name='n3'][@standby='true']",
			"resources/resource[@id='ip1'][@failed='true']", "resources/clone[@id='st-clone']/resource[@role='Promoted']",
			"failures/failure[@op_key='ip1_monitor_10000']", "fence_history", "status[@code='0']"} {
			if r.FindElement(p) == nil {
				t.Errorf("%s: no %s", line, p)
			}
		}
	}
	code, out, _ := sourcetest.Sh(t, bin, env, "crm_mon -1 -rfAo -m")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"Full List of Resources:", "Operations:\n  * Node: n1:\n    * ip1: migration-threshold=1000000 fail-count=1",
		"Node Attributes:\n  * Node: n1:\n    * master-st", "Failed Resource Actions:\n  * ip1 10s-interval monitor on n1 returned 'not running' (address gone)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("crm_mon -1 -rfAo -m lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Fencing") {
		t.Errorf("crm_mon -m on a CIB_file shows a fencing history:\n%s", out)
	}
	if code, _, errs := sourcetest.Sh(t, bin, env, "crm_mon -1 --output-as=html"); code != 64 || !strings.Contains(errs, "unsupported output format") {
		t.Errorf("html: exit %d %q", code, errs)
	}
	if code, _, _ := sourcetest.Sh(t, bin, []string{"CIB_file=/nonexistent/cib.xml"}, "crm_mon -1"); code != 66 {
		t.Errorf("missing CIB_file: exit %d, want 66", code)
	}
}

func TestLive(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_mon")
	f := sourcetest.Start(t, readCIB(t, "mixed.xml"), &crmv1.GetStatusResponse{Node: "n1", Dc: "n1", Members: []string{"n1", "n2"}, Quorum: false})
	code, out, errs := sourcetest.Sh(t, bin, f.Live(), "crm_mon -1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// crmd's view wins over what the CIB last recorded (DC n2, quorum)
	if !strings.Contains(out, "Current DC: n1 (version unknown) - partition WITHOUT quorum") {
		t.Errorf("view not applied:\n%s", out)
	}
	code, out, _ = sourcetest.Sh(t, bin, f.Live(), "crm_mon -1 --output-as=xml")
	if code != 0 || !strings.Contains(out, `<current_dc present="true" name="n1" id="n1" with_quorum="false"`) {
		t.Errorf("xml: exit %d\n%s", code, out)
	}

	// an older crmd without the CRM service: the CIB's record is shown
	f.Lock()
	f.NoCRM = true
	f.Unlock()
	if code, out, _ := sourcetest.Sh(t, bin, f.Live(), "crm_mon -1"); code != 0 || !strings.Contains(out, "Current DC: n2") {
		t.Errorf("without CRMService: exit %d\n%s", code, out)
	}

	f.Lock()
	f.NoCRM, f.Deny = false, true
	f.Unlock()
	code, _, errs = sourcetest.Sh(t, bin, f.Live(), "crm_mon -1")
	if code != 4 || !strings.Contains(errs, "permission denied") || strings.Count(errs, "\n") != 1 {
		t.Errorf("denied: exit %d %q", code, errs)
	}

	code, _, errs = sourcetest.Sh(t, bin, []string{"CIB_socket=" + filepath.Join(t.TempDir(), "none.sock")}, "crm_mon -1")
	if code != 102 || !strings.Contains(errs, "is systoled running?") {
		t.Errorf("unreachable: exit %d %q", code, errs)
	}
}

// TestRefreshUntilInterrupt runs crm_mon -i in a real process: with a long
// interval, a CIB write must still redraw at once (the CIB is watched);
// SIGINT must end it with status 0.
func TestRefreshUntilInterrupt(t *testing.T) {
	bin := sourcetest.Tool(t, "crm_mon")
	f := sourcetest.Start(t, readCIB(t, "reference.xml"), &crmv1.GetStatusResponse{Node: "n1", Dc: "n1", Members: []string{"n1", "n2", "n3"}, Quorum: true})
	cmd := exec.Command(filepath.Join(bin, "crm_mon"), "-i", "1h")
	cmd.Env = append(os.Environ(), "CIB_file=", sourcetest.ToolEnv+"=1", "CIB_socket="+f.Socket)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Cluster Summary:") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// the watch stream may start just after the first draw: write until seen
	for i := 0; strings.Count(out.String(), "Cluster Summary:") < 2 && time.Now().Before(deadline); i++ {
		if _, err := f.CIB.Apply(cib.Request{Op: cib.OpModify, Scope: "crm_config", XML: []byte(fmt.Sprintf(`<cluster_property_set id="cib-bootstrap-options"><nvpair id="t-n" name="test-n" value="%d"/></cluster_property_set>`, i))}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("crm_mon -i ended with %v: %s", err, errb.String())
	}
	if n := strings.Count(out.String(), "Cluster Summary:"); n < 2 {
		t.Fatalf("%d redraws:\n%s", n, out.String())
	}
}
