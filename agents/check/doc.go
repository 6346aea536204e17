// Package check is the agent checker behind `systole agent check` (the
// role of resource-agents' ocf-tester): it runs an OCF agent through the
// same executor lrmd uses (same environment, timeouts and process-group
// handling) and checks each step of the OCF resource agent API:
//
//  1. meta-data returns 0 and validates against the OCF RA API 1.1 rules
//     (agents/metadata), and every required parameter was given;
//  2. validate-all returns 0;
//  3. a probe (monitor, interval 0) while stopped returns 7;
//  4. start returns 0, monitor returns 0, start again returns 0;
//  5. if promote and demote are advertised: promote 0, monitor 8,
//     promote again 0, demote 0, monitor 0, demote again 0;
//  6. if migrate_to and migrate_from are advertised: migrate_to 0,
//     migrate_from 0, monitor 0;
//  7. if reload-agent (else reload) or notify is advertised: it returns 0;
//  8. stop returns 0, stop again returns 0, monitor returns 7.
//
// After a failed start the steps up to stop are skipped; stop always runs
// so that the checker leaves nothing behind.
package check
