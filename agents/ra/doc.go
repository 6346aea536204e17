// Package ra implements the OCF resource agents Systole ships: Dummy,
// Stateful, IPaddr, ping and anything. They are built into one multi-call
// binary (agents/cmd/systole-ra) that picks the agent from the name it is
// run as (a symlink in OCF_ROOT/resource.d/systole/) and the action from
// its first argument, exactly like a shell agent.
//
// Every agent follows the OCF resource agent API 1.1: the environment
// carries OCF_RESKEY_<param> and OCF_RESKEY_CRM_meta_*; the exit code is
// an OCF code; a failure reason goes to stderr after "ocf-exit-reason:";
// start and stop are idempotent; monitor returns 7 when stopped; a probe
// (monitor with interval 0) never changes anything; validate-all at
// OCF_CHECK_LEVEL 0 looks only at parameters.
package ra
