package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/pull"
)

// A pod naming a registry on rolepull's own machine, a link-local address,
// or the metadata service is refused before any connection is made (the
// puller runs inside rolepull, so these would reach rolepull itself or the
// machine's credentials), as a network failure that says why; ACR domains
// are unaffected. --allow-loopback-registries opens loopback only.
func TestEgressGuard(t *testing.T) {
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	local := strings.TrimPrefix(upstream.URL, "http://")

	w := newWorldWith(t, func(c *node.Config) { c.AllowLoopbackRegistries = false })
	for _, tt := range []struct{ name, image, want string }{
		{"loopback literal", local + "/lib/app:1", "loopback"},
		{"localhost by name", "localhost:" + strings.Split(local, ":")[1] + "/lib/app:1", "loopback"},
		{"rolepull's own OpenAPI", strings.TrimPrefix(w.n.Profile.Endpoint, "http://") + "/lib/app:1", "loopback"},
		{"IPv6 loopback", "[::1]:5000/lib/app:1", "loopback"},
		{"link-local metadata (169.254.169.254)", "169.254.169.254/lib/app:1", "link-local"},
		{"Alibaba Cloud metadata", "100.100.100.200/lib/app:1", "metadata"},
		{"unspecified", "0.0.0.0:5000/lib/app:1", "unspecified"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.t = t
			g := w.pod(strings.ReplaceAll(strings.ToLower(tt.name), " ", "-"), podSpec{images: []string{tt.image}})
			w.expectFailure(g, 0, pull.Network, "rolepull does not pull from", tt.want)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback registry was reached %d times", n)
	}

	// With loopback allowed, the same registry is reached (and answers
	// 404: not found, no longer network).
	open := newWorldWith(t, nil)
	open.expectFailure(open.pod("allowed", podSpec{images: []string{local + "/lib/app:1"}}), 0, pull.NotFound)
	if hits.Load() == 0 {
		t.Error("with --allow-loopback-registries the loopback registry was never reached")
	}
	open.expectFailure(open.pod("metadata-still-refused", podSpec{images: []string{"100.100.100.200/lib/app:1"}}), 0, pull.Network, "metadata")
}
