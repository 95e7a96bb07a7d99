// Package compat proves that unmodified third-party OCI clients (crane,
// oras, regctl, skopeo) and the OCI distribution-spec conformance program
// work against rolepull's registry by instance domain names, with RAM
// deciding every push and pull, and compares the conformance results with
// the CNCF registry (distribution v3.1.2) run standalone.
//
// The clients reach instance domains without DNS through the registry
// listener's HTTP proxy mode (HTTP_PROXY), in plain HTTP. The package has
// only tests; scripts/install-test-tools installs the tools. A test whose
// tool is missing skips, unless CI is set, where it fails.
package compat
