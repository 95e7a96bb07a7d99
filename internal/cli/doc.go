// Package cli owns rolepull's command line: the cobra command tree, flag
// parsing and output formatting. Every command runs through Main with
// explicit streams and arguments, so tests drive the CLI byte for byte.
package cli
