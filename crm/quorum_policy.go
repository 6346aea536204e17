package crm

import "fmt"

// SetNoQuorumPolicy changes Config.NoQuorumPolicy (the daemon reads it
// from crm_config's no-quorum-policy). It takes effect at the next view:
// the election of the current view has used the old value.
func (n *Node) SetNoQuorumPolicy(p NoQuorumPolicy) error {
	switch p {
	case NoQuorumStop, NoQuorumFreeze, NoQuorumIgnore:
	default:
		return fmt.Errorf("crm: no-quorum-policy: %w: %q", ErrBadRequest, p)
	}
	n.cfg.NoQuorumPolicy = p
	return nil
}

// NoQuorumPolicy returns the policy in force.
func (n *Node) NoQuorumPolicy() NoQuorumPolicy { return n.cfg.NoQuorumPolicy }
