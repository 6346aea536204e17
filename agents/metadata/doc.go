// Package metadata parses OCF resource agent meta-data and validates it
// against the rules of the OCF resource agent API 1.1 schema (ra-api.rng),
// without network access or an XML schema engine: the rules are written
// out in Go, one violation per message, with the element path.
//
// What is checked (a union of OCF 1.1 and the 1.0 forms still shipped by
// resource-agents, so that real agents validate):
//   - root <resource-agent name=... [version=...]> containing, in order,
//     <version>, one or more <longdesc lang>, one or more <shortdesc lang>,
//     optional <parameters>, <actions>, optional <special tag>;
//   - <parameter name [unique] [unique-group] [required] [reloadable]
//     [advanced]> with optional <deprecated>, longdesc+, shortdesc+ and
//     exactly one <content type [default]>, type one of boolean, string,
//     integer, second, time, select (select with <option value>);
//     booleans are 0/1/true/false; parameter names are unique;
//   - <action name timeout [interval] [depth] [role] [start-delay]>: times
//     are Pacemaker durations,
//     depth an integer, role Promoted/Unpromoted (or the deprecated
//     Master/Slave);
//   - the mandatory actions start, stop, monitor and meta-data are
//     advertised.
//
// Warnings (Agent.Warnings, not violations): a default that does not parse
// as its type, an action name neither OCF nor Pacemaker defines.
//
// Parse never panics on any input (fuzzed).
package metadata
