// Package leakcheck is for tests that break things: it records the
// goroutines and file descriptors a process holds before a fault test and
// fails the test when, after its cleanups, any it started are still there,
// and it checks that directories meant to be left empty (ingest files,
// temporary files) are.
package leakcheck
