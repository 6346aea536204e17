package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/systole/systole/internal/lab"
)

// fakeLab writes a loopback lab's state file with two stopped nodes.
func fakeLab(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c := map[string]any{"id": "t", "dir": dir, "loopback": true, "bin_dir": dir, "ocf_root": dir, "port": 20000,
		"nodes": []map[string]any{
			{"name": "node1", "addr": "127.0.0.11", "dir": filepath.Join(dir, "node1"), "pid": 0},
			{"name": "node2", "addr": "127.0.0.12", "dir": filepath.Join(dir, "node2"), "pid": 0},
		}}
	b, _ := json.Marshal(c)
	if err := os.WriteFile(lab.StateFile(dir), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAgent(t *testing.T) {
	dir := fakeLab(t)
	for _, tt := range []struct {
		name   string
		args   []string
		stdin  string
		fail   bool // the fail flag file exists
		rc     int
		stdout string // substring
		stderr string // substring
	}{
		{name: "list", stdin: "action=list\nlab_dir=" + dir, rc: rcOK, stdout: "node1\nnode2\n"},
		{name: "list-status", stdin: "action=list-status\nlab_dir=" + dir, rc: rcOK, stdout: "node1,,OFF\nnode2,,OFF\n"},
		{name: "monitor", stdin: "action=monitor\nlab_dir=" + dir, rc: rcOK},
		{name: "status off", stdin: "action=status\nport=node2\nlab_dir=" + dir, rc: rcOff, stdout: "Status: OFF"},
		{name: "status by number and nodename", stdin: "# a comment\naction=status\nnodename=2\nlab_dir=" + dir, rc: rcOff},
		{name: "off a stopped node", stdin: "action=off\nplug=node1\nlab_dir=" + dir, rc: rcOK, stdout: "Success: off of node1"},
		{name: "last duplicate wins", stdin: "action=list\naction=off\nport=node2\nlab_dir=" + dir, rc: rcOK, stdout: "Success: off of node2"},
		{name: "failing", stdin: "action=off\nport=node2\nlab_dir=" + dir, fail: true, rc: rcFail, stderr: "failing on purpose"},
		{name: "failing reboot", stdin: "action=reboot\nport=node2\nlab_dir=" + dir, fail: true, rc: rcFail},
		{name: "status while failing", stdin: "action=status\nport=node2\nlab_dir=" + dir, fail: true, rc: rcOff},
		{name: "unknown node", stdin: "action=off\nport=node9\nlab_dir=" + dir, rc: rcFail, stderr: "no node"},
		{name: "no port", stdin: "action=off\nlab_dir=" + dir, rc: rcFail, stderr: "no port"},
		{name: "unknown action", stdin: "action=explode\nlab_dir=" + dir, rc: rcFail, stderr: "unknown action"},
		{name: "no lab", stdin: "action=list\nlab_dir=" + filepath.Join(dir, "none"), rc: rcFail, stderr: "no lab"},
		{name: "validate-all", stdin: "action=validate-all\nport=node1\nlab_dir=" + dir, rc: rcOK},
		{name: "command line", args: []string{"-o", "status", "-n", "node1", "--lab-dir", dir}, rc: rcOff},
		{name: "command line =", args: []string{"--action=list", "--lab-dir=" + dir}, rc: rcOK, stdout: "node2"},
		{name: "bad command line", args: []string{"status"}, rc: rcFail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail {
				os.WriteFile(lab.FenceFailFile(dir), nil, 0o644)
				defer os.Remove(lab.FenceFailFile(dir))
			}
			var out, errb bytes.Buffer
			rc := Main(tt.args, strings.NewReader(tt.stdin), &out, &errb)
			if rc != tt.rc || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("rc %d stdout %q stderr %q; want rc %d, %q, %q", rc, out.String(), errb.String(), tt.rc, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	var out bytes.Buffer
	if rc := Main(nil, strings.NewReader("action=metadata\n"), &out, &out); rc != rcOK {
		t.Fatalf("rc %d", rc)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range doc.FindElements("/resource-agent/actions/action") {
		actions = append(actions, a.SelectAttrValue("name", ""))
	}
	for _, want := range []string{"on", "off", "reboot", "status", "list", "monitor", "metadata", "validate-all"} {
		found := false
		for _, a := range actions {
			found = found || a == want
		}
		if !found {
			t.Errorf("metadata lacks action %s (has %v)", want, actions)
		}
	}
	if doc.FindElement("/resource-agent/parameters/parameter[@name='plug']") == nil {
		t.Error("metadata lacks the plug parameter")
	}
}

// FuzzParseStdin: any input parses without panicking, and every parsed
// name came from a name=value line.
func FuzzParseStdin(f *testing.F) {
	f.Add("action=off\nport=node2\n# comment\nlab_dir=/tmp/x\n")
	f.Add("plug=1\n=\n\x00=\x00\naction")
	f.Fuzz(func(t *testing.T, in string) {
		p := map[string]string{}
		if err := parseStdin(strings.NewReader(in), p); err != nil {
			return
		}
		for k := range p {
			if k != "port" && !strings.Contains(in, k+"=") && !strings.Contains(in, k) {
				t.Errorf("parsed name %q not in the input", k)
			}
		}
	})
}
