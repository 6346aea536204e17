package pengine

import "strings"

// OpDigest returns the op-digest to record in an lrm_rsc_op for an action
// of a transition graph, from the action's <attributes> (instance
// parameters and CRM_meta_* values) and its interval in milliseconds. It is
// the digest the policy engine computes from the configuration when it
// checks for parameter changes, so a controller that records it sees no
// spurious restart.
func OpDigest(attrs map[string]string, intervalMs int64) string {
	all := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if strings.HasPrefix(k, "CRM_meta_") || k == "id" || k == "crm_feature_set" || k == "op-digest" || k == "on_node" || k == "on_node_uuid" || k == "pcmk_external_ip" {
			continue
		}
		all[k] = v
	}
	if intervalMs > 0 {
		all["CRM_meta_timeout"] = attrs["CRM_meta_timeout"]
	}
	return digestParams(all)
}
