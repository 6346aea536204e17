// Package agents holds the OCF resource agents Systole ships and the tools
// for agent authors.
//
//   - agents/ra: the agents (Dummy, Stateful, IPaddr, ping, anything),
//     written in Go and built into one multi-call binary,
//     agents/cmd/systole-ra, that `make install` puts under
//     OCF_ROOT/resource.d/systole/ as .systole-ra with one symlink per
//     agent.
//   - agents/metadata: a parser and validator of agent meta-data against
//     the rules of the OCF resource agent API 1.1 schema.
//   - agents/check: the agent checker behind `systole agent check` (the
//     role of resource-agents' ocf-tester).
package agents

// Names lists the agents Systole ships, as installed under
// OCF_ROOT/resource.d/systole/.
var Names = []string{"Dummy", "IPaddr", "Stateful", "anything", "ping"}

// Provider is the OCF provider directory of Systole's agents.
const Provider = "systole"
