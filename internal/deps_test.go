package internal_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestCoreImports enforces the dependency direction of docs/architecture.md:
// the core packages import only the standard library and the packages
// listed for them, so the grammar and the decision logic stay free of I/O
// and frameworks.
func TestCoreImports(t *testing.T) {
	const mod = "github.com/rolepull/rolepull/"
	allowed := map[string][]string{
		"arn":      nil,
		"policy":   nil,
		"clock":    nil,
		"keyring":  nil,
		"store":    nil,
		"profile":  nil,
		"ram":      {"internal/arn", "internal/clock", "internal/keyring", "internal/policy", "internal/store"},
		"sts":      {"internal/arn", "internal/clock", "internal/keyring", "internal/policy", "internal/ram"},
		"openapi":  {"internal/acr", "internal/clock", "internal/eci", "internal/netmodel", "internal/ram", "internal/sts"},
		"ramapi":   {"internal/arn", "internal/openapi", "internal/ram"},
		"stsapi":   {"internal/openapi", "internal/ram", "internal/sts"},
		"adminapi": {"internal/openapi", "internal/ram"},
	}
	for dir, extra := range allowed {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			first, _, _ := strings.Cut(imp, "/")
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			rel, ours := strings.CutPrefix(imp, mod)
			ok := false
			for _, e := range extra {
				ok = ok || ours && rel == e
			}
			if !ok {
				t.Errorf("internal/%s imports %s, which docs/architecture.md does not allow it", dir, imp)
			}
		}
	}
}
