// Package e2e runs real messagingd and membershipd processes in network namespaces
// (internal/lab) and checks the membership layer end to end: view formation, a 3|2
// partition (the majority keeps quorum in a new view, the minority loses it), healing,
// messagingd restarts, and a 16-node cluster. The tests need root and skip otherwise.
package e2e
