// Package conventions holds tests that enforce the house rules across the
// whole module: every package has a doc comment, and the pure cores import
// no I/O and read no clock or global random source.
package conventions
