package registry_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rolepull/rolepull/internal/registry"
)

// TestTokenScopeCorpus asks the token endpoint for each scope of
// testdata/scopes.txt as a read-only role (reliability.md §3.6 items
// 60–62): a token grants only the allowed subset, never a wildcard name,
// and a malformed scope refuses the request.
func TestTokenScopeCorpus(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "scopes")
	basic := e.password(t, e.role(t, "reader", "AliyunContainerRegistryReadOnlyAccess"), inst).(*authn.Basic)
	for _, c := range registry.ReadScopeCorpus(t) {
		t.Run(strconv.Itoa(c.Line), func(t *testing.T) {
			status, access, body := e.askToken(t, inst, basic.Username, basic.Password, c.Scope)
			if c.Granted == "400" {
				if status != http.StatusBadRequest || !strings.Contains(body, "invalid_scope") {
					t.Fatalf("line %d: scope %q: %d %s, want 400 invalid_scope", c.Line, c.Scope, status, body)
				}
				return
			}
			if status != http.StatusOK {
				t.Fatalf("line %d: scope %q: %d %s, want a token", c.Line, c.Scope, status, body)
			}
			got := "-"
			for _, a := range access {
				if strings.ContainsAny(a.Name, "*?") {
					t.Fatalf("line %d: the token names %q: a wildcard", c.Line, a.Name)
				}
				if got != "-" {
					t.Fatalf("line %d: the token holds %d entries for one scope: %+v", c.Line, len(access), access)
				}
				got = strings.Join(a.Actions, ",")
			}
			if got != c.Granted {
				t.Errorf("line %d: scope %q granted %q, want %q (token access %+v)", c.Line, c.Scope, got, c.Granted, access)
			}
		})
	}
}
