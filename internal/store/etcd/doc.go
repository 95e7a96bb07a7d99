// Package etcd owns the store.Store backend for an etcd v3 cluster, used when
// several replicas share metadata. Keys live under a configurable prefix,
// revisions and transactions are etcd's own, and watches are etcd watches, so
// a watch from a revision older than the cluster's last compaction gets
// store.ErrCompacted.
package etcd
