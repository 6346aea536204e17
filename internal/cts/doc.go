// Package cts is Systole's cluster test suite, after Pacemaker's CTS: it
// runs a whole cluster in the lab (internal/lab, network namespaces, root),
// loads a resource configuration (Dummies, a group with a virtual IP, a
// clone, constraints), and plays a random, seeded schedule of tests
// (StartOnebyOne, SimulStart, SplitBrain, LinkFlap, ...). After every step
// it checks the cluster's invariants against ground truth rather than the
// cluster's own word:
//
//   - at most one DC per quorate partition, and every quorate partition
//     agrees on one DC;
//   - every resource is active where the CIB status says and nowhere else,
//     as an independent observer sees it (Dummy state files in each node's
//     HA_RSCTMP, ARP probes of every virtual IP from a watcher namespace),
//     and the policy engine run on the DC's CIB has nothing left to do;
//   - no resource is ever active twice (a sampler runs for the whole run);
//   - the CIB's configuration and versions are identical on all members;
//   - every CIB write the suite had acknowledged is present;
//   - no daemon crashed (panics in the logs, unexpected restarts);
//   - fencing history is consistent (when stonith-enabled is true).
//
// The schedule is a pure function of the seed (NewSchedule); each step
// draws its choices (which node, which daemon) from its own seed, so a
// failing run is replayed with `systole cts --seed N --iterations M`. The
// cluster itself is real and its timing is not replayable, so a replay
// repeats the faults, not necessarily the failure.
package cts
