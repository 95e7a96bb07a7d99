// Package bolt owns the embedded store.Store backend: one bbolt file holding
// every key with its create and modify revisions, and the global revision
// counter, which each transaction that writes something bumps once.
//
// Every transaction is one fsynced bbolt read-write transaction. Watches are
// served in process: the last Options.History transactions are kept in memory
// for replay, so a watch from an older revision, or from one committed before
// the file was opened, gets store.ErrCompacted and the caller lists again. A
// watcher that leaves Options.WatchBuffer responses unread is ended the same
// way rather than blocking writers.
package bolt
