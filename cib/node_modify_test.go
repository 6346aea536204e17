package cib

import (
	"strings"
	"testing"
)

// A permanent node attribute (crm_standby -v on, crm_attribute -l forever)
// is a modify with AllowCreate of the configuration's <node>, which is not
// in the id index: it must merge into the existing node, not fail as a
// duplicate create.
func TestModifyAllowCreateExistingNode(t *testing.T) {
	c, err := Parse([]byte(`<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config/><nodes><node id="n1" uname="n1"/><node id="n2" uname="n2"/></nodes><resources/><constraints/></configuration><status/></cib>`))
	if err != nil {
		t.Fatal(err)
	}
	obj := `<node id="n2"><instance_attributes id="nodes-n2"><nvpair id="nodes-n2-standby" name="standby" value="on"/></instance_attributes></node>`
	for i := 0; i < 2; i++ { // the second time updates the existing nvpair
		if _, err := c.Apply(Request{Op: OpModify, Scope: "nodes", XML: []byte(obj), AllowCreate: true}); err != nil {
			t.Fatalf("modify %d: %v", i, err)
		}
	}
	out := string(c.Bytes())
	if strings.Count(out, `<node id="n2"`) != 1 || !strings.Contains(out, `name="standby" value="on"`) {
		t.Fatalf("CIB after modify:\n%s", out)
	}
}
