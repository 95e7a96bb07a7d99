// Package store owns rolepull's metadata: a small key-value interface with
// global revisions, multi-key compare-and-swap transactions, prefix listing
// and watch.
//
// Two backends implement it unchanged: [bolt] (bbolt, the embedded default,
// one file under the data directory) and [etcd] (an etcd v3 cluster, for
// running several replicas). Both pass the same conformance suite in
// [storetest]. Values are opaque bytes; callers own their encoding.
//
// Every write is a [Store.Txn]: its conditions are checked and its operations
// applied atomically, so no reader or watcher ever sees part of a
// transaction.
package store
