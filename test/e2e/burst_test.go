package e2e

import (
	"fmt"
	"testing"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
)

// 200 pods of one 8-layer image, created at once, fetch each blob exactly
// once, as counted at the registry; every pod still authenticates and
// resolves the manifest itself.
func TestBurstFetchesEachBlobOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 200 pods")
	}
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "burst", acr.SpecEnterpriseStandard, true)
	img := ee.PublicHost(acr.DefaultBase) + "/eci_test/app:1"
	w.push(ee, ee.PublicHost(acr.DefaultBase), "eci_test/app:1", 8)
	stats := w.n.Registry.Stats()
	before := stats.BlobGets.Load()
	const pods = 200
	groups := make([]eci.ContainerGroup, pods)
	for i := range groups {
		groups[i] = w.pod(fmt.Sprintf("burst-%d", i), podSpec{images: []string{img}})
	}
	for _, g := range groups {
		w.expectReady(g)
	}
	// 8 layers and one config blob: each fetched once.
	if got := stats.BlobGets.Load() - before; got != 9 {
		t.Errorf("%d pods fetched %d blobs from the registry, want 9 (8 layers + config, once each)", pods, got)
	}
	if _, misses := w.n.Puller.CacheStats(); misses > pods {
		t.Errorf("%d credential cache misses", misses)
	}
}
