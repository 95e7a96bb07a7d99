// Package keyring owns the deployment's master key and everything derived
// from it. rolepull stores no AccessKey secret and no session secret: each
// is HMAC(master key, purpose, id), recomputed when a request is verified
// (DESIGN §4). Secrets rolepull must keep (a registry password of an
// imagePullSecret, the local CA's key) are sealed with AES-256-GCM under a
// derived key, bound to their owner. The master key is one file, or one
// environment variable, per deployment; replicas that share it verify each
// other's credentials.
package keyring
