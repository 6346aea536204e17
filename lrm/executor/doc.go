// Package executor runs resource agents for lrmd: Process is the real
// fork/exec implementation of lrm.Executor, Fake a scripted one for tests.
//
// Process invariants:
//   - Every agent runs in its own process group (Setpgid) with the parent
//     death signal set to SIGKILL, stdin from /dev/null, working directory
//     "/", the inherited environment plus exactly the variables Pacemaker
//     sets (lrm.OCFEnv).
//   - A timeout sends SIGTERM to the whole process group, then SIGKILL
//     after Config.KillGrace, and reports lrm.StatusTimeout with rc 1.
//   - stdout and stderr are each captured up to Config.MaxOutput bytes;
//     the rest is read and dropped so the agent never blocks on a pipe. A
//     daemon that keeps the pipes open does not hold the result back for
//     more than Config.PipeGrace.
//   - While an agent runs, its process group id and start time are in
//     Config.StateFile; ReapOrphans kills the groups a crashed lrmd left
//     behind. The groups of finished actions (daemons a start launched)
//     are never touched.
//   - A missing agent is rc 5 (not installed) with the path in the reason;
//     a missing provider or an unknown class runs nothing (Check).
package executor
