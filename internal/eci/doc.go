// Package eci owns Elastic Container Instance's objects on one node:
// container groups (pods) and — in imagecache.go — image caches, their
// status and events, and the reconciler that pulls their images secret-free
// through package pull.
//
// A container group's pull settings (role chains, instance ids, registry
// credentials) are frozen when it is created: later changes to its
// annotations are stored but change nothing, and an event says so
// (DESIGN §2). Registry passwords a user hands over (imagePullSecrets,
// ImageRegistryCredential) are kept sealed with the master key, never in
// plain text.
//
// rolepull runs no container processes unless a runtime is configured, and
// its statuses say so: a group whose images are all pulled and verified is
// "ImagesReady", not "Running" (docs/architecture.md).
//
// The reconciler is level-triggered: it takes a group id, re-reads the
// group, and pulls what is not yet pulled; on start it resumes every group
// still Pending, so a restart loses no work.
package eci
