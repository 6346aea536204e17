// Command fence_systole_lab is a fence agent for Systole's lab
// (internal/lab): it fences a lab node by downing its link and killing
// every process of the node, as a power switch would. It speaks the
// fence-agents protocol: name=value lines on stdin (or fence-agents'
// command-line options), actions off, on, reboot, status, monitor, list,
// metadata and validate-all, exit status 0 success, 1 failure, 2 off
// (status).
//
// Parameters: port (or plug, or nodename) names the lab node (node2 or 2);
// lab_dir the lab directory holding lab.json (default $SYSTOLE_LAB_DIR,
// else /tmp/systole-lab-UID, as `systole lab`); fail_file a file whose
// existence makes off, on and reboot fail with rc 1 (default
// LAB_DIR/fence_systole_lab.fail, see lab.FenceFailFile); reboot_boots=1
// boots the node again after a reboot (default: a rebooted node stays
// down until the operator or the test boots it, so that a node cut off
// from its peer does not come back and fence the survivor).
//
//	echo -e 'action=off\nport=node2\nlab_dir=/tmp/lab' | fence_systole_lab
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses of the fence-agents protocol.
const (
	rcOK   = 0
	rcFail = 1
	rcOff  = 2
)

// Main runs the agent and returns its exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	params, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "fence_systole_lab:", err)
		return rcFail
	}
	if len(args) == 0 {
		if err := parseStdin(stdin, params); err != nil {
			fmt.Fprintln(stderr, "fence_systole_lab:", err)
			return rcFail
		}
	}
	a := &agent{p: params, out: stdout, errw: stderr}
	return a.run()
}

// parseArgs reads fence-agents' command-line options: -o/--action,
// -n/--plug, --lab-dir, --fail-file, and --name=value for any parameter.
func parseArgs(args []string) (map[string]string, error) {
	p := map[string]string{}
	short := map[string]string{"-o": "action", "-n": "port"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if k, ok := short[a]; ok {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", a)
			}
			p[k] = args[i+1]
			i++
			continue
		}
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			return nil, fmt.Errorf("unknown argument %q", a)
		}
		k, v, hasV := strings.Cut(name, "=")
		if !hasV {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--%s needs a value", k)
			}
			v = args[i+1]
			i++
		}
		k = strings.ReplaceAll(k, "-", "_")
		if k == "plug" {
			k = "port"
		}
		p[k] = v
	}
	return p, nil
}

// parseStdin reads name=value lines: # lines are comments, the last
// duplicate wins, unknown names are kept (and ignored).
func parseStdin(r io.Reader, p map[string]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // fence-agents ignore what they do not understand
		}
		k = strings.TrimSpace(k)
		if k == "plug" {
			k = "port"
		}
		p[k] = strings.TrimSpace(v)
	}
	return sc.Err()
}
