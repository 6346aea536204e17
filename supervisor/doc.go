// Package supervisor is the pure core of systoled, the node supervisor:
// it decides when each daemon of a node's stack is started, restarted and
// stopped, the way Heartbeat's master process and pacemakerd do.
//
// The core is a deterministic state machine. The caller feeds it events
// with an explicit now (Start, Stop, Spawned, SpawnFailed, Answered,
// Exited, Tick) and after each one drains Ready: the processes to spawn and
// the signals to send, log events, and whether the node is done (stopped
// or given up). The daemon shell (package supervisor/server) forks, polls
// sockets and waits for children; the core never does I/O, never reads the
// clock and starts no goroutines.
//
// Invariants:
//   - Daemons start strictly in Config.Daemons order: daemon i is spawned
//     only when daemons 0..i-1 are up (their sockets answer).
//   - Daemons stop strictly in reverse order: daemon i gets SIGTERM only
//     when every later daemon has exited; SIGKILL follows after StopGrace.
//   - A daemon is never spawned while a previous process of it may be
//     running: a new Spawn follows only its Exited.
//   - A crash of a daemon with RestartStack takes the whole stack down in
//     reverse order and starts it again (not before RejoinDelay, so that
//     the peers see the node leave); a crash of one with RestartAlone
//     restarts only that daemon. Both wait an exponential back-off
//     (BackoffInitial doubling up to BackoffMax) by the number of crashes
//     of that daemon within Window.
//   - More than MaxCrashes crashes of one daemon within Window make the
//     core give up: it stops the node and Ready.Err says why.
//   - Exits during a stack restart or a stop are expected, never counted.
//
// A Supervisor is not safe for concurrent use.
package supervisor
