// Package e2e holds the messaging layer's end-to-end tests and benchmark:
// real messagingd processes in network namespaces on a bridge
// (internal/lab), real UDP broadcast, a real serial link made of a socat
// pseudo-terminal pair. They need root; as another user they skip.
//
// `make bench-messaging` runs TestBenchMessaging with SYSTOLE_BENCH=1.
package e2e
