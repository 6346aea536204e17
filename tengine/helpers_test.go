package tengine

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 0)

// op writes an rsc_op; attrs are extra attributes "k=v".
func op(id int, task, rsc, node string, attrs ...string) string {
	key := rsc + "_" + task + "_0"
	var b strings.Builder
	fmt.Fprintf(&b, `<rsc_op id="%d" operation="%s" operation_key="%s" on_node="%s" on_node_uuid="%s">`, id, task, key, node, node)
	fmt.Fprintf(&b, `<primitive id="%s" class="ocf" provider="heartbeat" type="Dummy"/><attributes`, rsc)
	if !strings.Contains(strings.Join(attrs, " "), "CRM_meta_timeout=") {
		b.WriteString(` CRM_meta_timeout="20000"`)
	}
	for _, a := range attrs {
		k, v, _ := strings.Cut(a, "=")
		fmt.Fprintf(&b, ` %s="%s"`, k, v)
	}
	b.WriteString(`/></rsc_op>`)
	return b.String()
}

func pseudo(id int, key string) string {
	return fmt.Sprintf(`<pseudo_event id="%d" operation="%s" operation_key="%s"><attributes/></pseudo_event>`, id, key, key)
}

func fence(id int, node string) string {
	return fmt.Sprintf(`<crm_event id="%d" operation="stonith" operation_key="stonith-%s-reboot" on_node="%s" on_node_uuid="%s"><attributes CRM_meta_on_node="%s" CRM_meta_stonith_action="reboot"/><downed><node id="%s"/></downed></crm_event>`, id, node, node, node, node, node)
}

// syn writes a synapse with one action and its inputs (action ids).
func syn(id int, action string, inputs ...int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<synapse id="%d"><action_set>%s</action_set><inputs>`, id, action)
	for _, in := range inputs {
		fmt.Fprintf(&b, `<trigger><rsc_op id="%d" operation="x" operation_key="x"/></trigger>`, in)
	}
	b.WriteString(`</inputs></synapse>`)
	return b.String()
}

func graphXML(attrs string, syns ...string) []byte {
	return []byte(`<transition_graph cluster-delay="60s" fencing-timeout="60s" transition_id="7" ` + attrs + `>` + strings.Join(syns, "") + `</transition_graph>`)
}

func mustEngine(t testing.TB, data []byte) *Engine {
	t.Helper()
	g, err := ParseGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(g, "uuid", DefaultConfig(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ids lists the dispatched action ids, sorted.
func ids(r Ready) []int {
	var out []int
	for _, d := range r.Dispatch {
		out = append(out, d.Action.ID)
	}
	sort.Ints(out)
	return out
}

func fmtFinished(f *Finished) string {
	if f == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s(%s) completed=%d failed=%d skipped=%d", f.Outcome, f.Reason, f.Completed, f.Failed, f.Skipped)
}
