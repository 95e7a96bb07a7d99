// Package storetest owns the conformance suite of store.Store: every
// behaviour the interface documents, pinned as named subtests that each
// backend (and every fake) must pass unchanged.
//
// Each subtest gets a store of its own from the open function given to Run
// and uses fixed keys, so open must return an empty store, or an empty private
// namespace of a shared one (as the etcd backend's tests do with a random key
// prefix). Revisions are global, so nothing else may write to the backing
// store while the suite runs.
package storetest
