// Package cli owns rolepull's command line: the cobra command tree, flag
// parsing and output formatting. Every command runs through Main with
// explicit streams and arguments, so tests drive the CLI byte for byte;
// CredentialHelperMain is the same for the binary run as
// docker-credential-rolepull.
//
// Commands that act on a running rolepull are clients of its OpenAPI (RAM,
// STS, Container Registry, VPC) and, for images, of its registry through
// the registry listener's proxy, with the credentials of a profile file:
// they have no other way in.
package cli
