package executor

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/systole/systole/lrm"
)

// Providers lists the OCF providers: the directories under
// OCF_ROOT/resource.d, sorted.
func (p *Process) Providers() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(p.cfg.OCFRoot, "resource.d"))
	if err != nil {
		return nil, fmt.Errorf("executor: list providers: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if st, err := os.Stat(filepath.Join(p.cfg.OCFRoot, "resource.d", e.Name())); err == nil && st.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Agents lists the agents of a class (and provider, for ocf; "" means
// every provider), as resources with an empty id, sorted. Hidden files and
// non-executables are skipped, as Pacemaker does.
func (p *Process) Agents(class, provider string) ([]lrm.Resource, error) {
	var out []lrm.Resource
	switch class {
	case lrm.ClassOCF:
		provs := []string{provider}
		if provider == "" {
			var err error
			if provs, err = p.Providers(); err != nil {
				return nil, err
			}
		} else if err := p.Check(lrm.Resource{Class: class, Provider: provider, Type: "x"}); err != nil {
			return nil, err
		}
		for _, pr := range provs {
			for _, t := range executables(filepath.Join(p.cfg.OCFRoot, "resource.d", pr)) {
				out = append(out, lrm.Resource{Class: class, Provider: pr, Type: t})
			}
		}
	case lrm.ClassLSB:
		for _, t := range executables(p.cfg.LSBRoot) {
			out = append(out, lrm.Resource{Class: class, Type: t})
		}
	case lrm.ClassStonith:
		return nil, lrm.ErrStonithClass
	default:
		return nil, fmt.Errorf("%w %q", lrm.ErrUnknownClass, class)
	}
	return out, nil
}

func executables(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// lsbMetadata builds OCF meta-data from an init script's LSB header, as
// Pacemaker does for class lsb.
func lsbMetadata(path, name string) lrm.ExecResult {
	b, err := os.ReadFile(path)
	if err != nil {
		return lrm.ExecResult{RC: lrm.RCErrInstalled, Status: lrm.StatusNotInstalled,
			ExitReason: fmt.Sprintf("lsb:%s not installed: %v", name, err)}
	}
	short, long := name, ""
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "### BEGIN INIT INFO"):
			in = true
		case strings.HasPrefix(l, "### END INIT INFO"):
			in = false
		case in && strings.HasPrefix(l, "# Short-Description:"):
			short = strings.TrimSpace(strings.TrimPrefix(l, "# Short-Description:"))
		case in && strings.HasPrefix(l, "# Description:"):
			long = strings.TrimSpace(strings.TrimPrefix(l, "# Description:"))
		}
	}
	if long == "" {
		long = short
	}
	e := html.EscapeString
	md := fmt.Sprintf(`<?xml version="1.0"?>
<resource-agent name="%s" version="1.0">
  <version>1.1</version>
  <longdesc lang="en">%s</longdesc>
  <shortdesc lang="en">%s</shortdesc>
  <parameters/>
  <actions>
    <action name="start" timeout="15s"/>
    <action name="stop" timeout="15s"/>
    <action name="status" timeout="15s"/>
    <action name="monitor" timeout="15s" interval="15s"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
`, e(name), e(long), e(short))
	return lrm.ExecResult{RC: lrm.RCOK, Status: lrm.StatusDone, Stdout: md}
}
