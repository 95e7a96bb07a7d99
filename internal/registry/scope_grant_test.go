package registry_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/registry"
)

// TestTokenScopeCorpus asks the token endpoint for each scope of
// testdata/scopes.txt as a read-only role (reliability.md §3.6 items
// 60–62): a token grants only the allowed subset, never a wildcard name,
// and a malformed scope refuses the request.
func TestTokenScopeCorpus(t *testing.T) {
	e := newEnv(t)
	inst := e.openInstance(t, "scopes")
	host := inst.PublicHost(acr.DefaultBase)
	basic := e.password(t, e.role(t, "reader", "AliyunContainerRegistryReadOnlyAccess"), inst).(*authn.Basic)
	tr := e.transport("127.0.0.1")
	defer tr.(*http.Transport).CloseIdleConnections()
	client := &http.Client{Transport: tr}

	for _, c := range registry.ReadScopeCorpus(t) {
		t.Run(strconv.Itoa(c.Line), func(t *testing.T) {
			q := url.Values{"service": {inst.InstanceID}, "scope": {c.Scope}}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+host+"/token?"+q.Encode(), nil)
			req.SetBasicAuth(basic.Username, basic.Password)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.Granted == "400" {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_scope") {
					t.Fatalf("line %d: scope %q: %d %s, want 400 invalid_scope", c.Line, c.Scope, resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("line %d: scope %q: %d %s, want a token", c.Line, c.Scope, resp.StatusCode, body)
			}
			var out struct{ Token string }
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(out.Token, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q is not a JWS", out.Token)
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var claims struct{ Access []registry.Access }
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			got := "-"
			for _, a := range claims.Access {
				if strings.ContainsAny(a.Name, "*?") {
					t.Fatalf("line %d: the token names %q: a wildcard", c.Line, a.Name)
				}
				if got != "-" {
					t.Fatalf("line %d: the token holds %d entries for one scope: %+v", c.Line, len(claims.Access), claims.Access)
				}
				got = strings.Join(a.Actions, ",")
			}
			if got != c.Granted {
				t.Errorf("line %d: scope %q granted %q, want %q (token access %+v)", c.Line, c.Scope, got, c.Granted, claims.Access)
			}
		})
	}
}
