package cib

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigCIB builds a CIB with nodes nodes and rscs primitives, each with
// parameters, meta attributes, two operations and a start entry in the
// status section of one node.
func bigCIB(tb testing.TB, nodes, rscs int) *CIB {
	var b strings.Builder
	b.WriteString(`<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.9"><configuration><crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair id="o-st" name="stonith-enabled" value="false"/></cluster_property_set></crm_config><nodes>`)
	for n := 1; n <= nodes; n++ {
		fmt.Fprintf(&b, `<node id="%d" uname="node%d"/>`, n, n)
	}
	b.WriteString(`</nodes><resources>`)
	for r := 0; r < rscs; r++ {
		fmt.Fprintf(&b, `<primitive id="r%d" class="ocf" provider="systole" type="Dummy"><instance_attributes id="r%d-ia"><nvpair id="r%d-state" name="state" value="/run/r%d"/></instance_attributes><meta_attributes id="r%d-meta"><nvpair id="r%d-tr" name="target-role" value="Started"/></meta_attributes><operations><op id="r%d-mon" name="monitor" interval="10s" timeout="20s"/><op id="r%d-start" name="start" interval="0" timeout="20s"/></operations></primitive>`, r, r, r, r, r, r, r, r)
	}
	b.WriteString(`</resources><constraints>`)
	for r := 0; r < rscs; r += 10 {
		fmt.Fprintf(&b, `<rsc_location id="loc-r%d" rsc="r%d" node="node%d" score="100"/>`, r, r, r%nodes+1)
	}
	b.WriteString(`</constraints></configuration><status>`)
	for n := 1; n <= nodes; n++ {
		fmt.Fprintf(&b, `<node_state id="%d" uname="node%d" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="%d"><lrm_resources>`, n, n, n)
		for r := n - 1; r < rscs; r += nodes {
			fmt.Fprintf(&b, `<lrm_resource id="r%d" class="ocf" provider="systole" type="Dummy"><lrm_rsc_op id="r%d_last_0" operation_key="r%d_start_0" operation="start" call-id="%d" rc-code="0" op-status="0" interval="0"/></lrm_resource>`, r, r, r, r)
		}
		b.WriteString(`</lrm_resources></lrm></node_state>`)
	}
	b.WriteString(`</status></cib>`)
	c, err := Parse([]byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		tb.Fatal(err)
	}
	return c
}

func benchModify(b *testing.B, persist string) {
	c := bigCIB(b, 16, 5000)
	var s Store
	if persist != "" {
		bs, err := OpenStore(filepath.Join(b.TempDir(), "cib.db"), StoreOptions{NoSync: persist == "nosync"})
		if err != nil {
			b.Fatal(err)
		}
		defer bs.Close()
		if err := bs.Save(c, nil); err != nil {
			b.Fatal(err)
		}
		s = bs
	}
	rng := rand.New(rand.NewSource(1))
	var batch []Entry
	const batchSize = 64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := rng.Intn(5000)
		role := []string{"Started", "Stopped"}[i%2]
		res, err := c.Apply(Request{Op: OpModify, XML: []byte(fmt.Sprintf(`<nvpair id="r%d-tr" value="%s"/>`, r, role))})
		if err != nil {
			b.Fatal(err)
		}
		if res.Patch == nil {
			continue
		}
		_ = res.Patch.Bytes() // the diff as it goes on the wire
		switch persist {
		case "fsync", "nosync":
			if err := s.Save(c, res.Patch); err != nil {
				b.Fatal(err)
			}
		case "batched":
			batch = append(batch, Entry{CIB: c, Patch: res.Patch})
			if len(batch) == batchSize {
				if err := s.SaveBatch(batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		if err := s.SaveBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "mods/s")
}

// BenchmarkModifyDiff: a small configuration change plus its diff, in
// memory, on 16 nodes x 5000 resources.
func BenchmarkModifyDiff(b *testing.B) { benchModify(b, "") }

// BenchmarkModifyDiffPersistFsync: the same with one fsync'd bbolt
// transaction per change.
func BenchmarkModifyDiffPersistFsync(b *testing.B) { benchModify(b, "fsync") }

// BenchmarkModifyDiffPersistBatched: the same, 64 changes per fsync'd
// transaction (what a busy DC does by group commit).
func BenchmarkModifyDiffPersistBatched(b *testing.B) { benchModify(b, "batched") }

// BenchmarkStatusUpdate: an operation result recorded in the status section.
func BenchmarkStatusUpdate(b *testing.B) {
	c := bigCIB(b, 16, 5000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := i % 5000
		if _, err := c.Apply(Request{Op: OpModify, Scope: "status", XML: []byte(fmt.Sprintf(`<lrm_rsc_op id="r%d_last_0" call-id="%d"/>`, r, 10000+i))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullValidate: what crm_verify costs on the same CIB.
func BenchmarkFullValidate(b *testing.B) {
	c := bigCIB(b, 16, 5000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
