// Package agent runs fence agents with the fence-agents protocol
// (ClusterLabs fence-agents, doc/FenceAgentAPI.md): the agent is started
// without arguments, reads name=value lines on stdin (action=..., the port
// and the device's parameters), and answers with its exit code: 0 success,
// 1 failure, 2 "off" for status and monitor.
//
// Invariants:
//   - Only files named fence_* in the configured directory are run; names
//     with '/' are refused, so a CIB cannot make stonithd run anything else.
//   - An argument with a newline is refused before anything runs (it could
//     forge another argument line).
//   - Each agent runs in its own process group, with the parent-death
//     signal SIGKILL, stdin the arguments, cwd /; on timeout or
//     cancellation the whole group gets SIGTERM, then SIGKILL after
//     Config.KillGrace.
//   - stdout and stderr are captured up to Config.MaxOutput each; the rest
//     is read and dropped so that an agent never blocks on a full pipe.
//
// A Runner is safe for concurrent use.
package agent
