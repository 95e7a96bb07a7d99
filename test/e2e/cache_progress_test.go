package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
)

// blobGate lets the first pass blob GETs through and holds the rest until
// released.
type blobGate struct {
	next    http.Handler
	pass    int
	mu      sync.Mutex
	seen    int
	release chan struct{}
}

func (g *blobGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
		g.mu.Lock()
		g.seen++
		hold := g.seen > g.pass
		g.mu.Unlock()
		if hold {
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// An image cache's progress moves with the bytes stored, not only per
// image: a one-image cache whose config and first two of four layers are
// in, the other two held, shows progress between 0 and 100 before it is
// Ready.
func TestImageCacheProgressByBytes(t *testing.T) {
	w := newWorld(t)
	ee := w.instance(w.a, "cn-hangzhou", "progress", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.pushImage(ee, host, "ns/app:1", 64<<10, 4)
	gate := &blobGate{next: w.n.Registry, pass: 3, release: make(chan struct{})} // the config, two layers
	svc, _ := w.eciBehind(gate, w.n.STS)
	c, err := svc.CreateImageCache(t.Context(), eci.CacheInput{Account: w.a, Region: "cn-hangzhou", Name: "progress", Images: []string{host + "/ns/app:1"}})
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	deadline := time.Now().Add(30 * time.Second)
	for seen == 0 {
		got, err := svc.GetImageCache(t.Context(), w.a, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Phase == eci.PhaseReady || got.Phase == eci.PhaseFailed {
			t.Fatalf("the cache is %s while two layers are held", got.Phase)
		}
		seen = got.Progress
		if time.Now().After(deadline) {
			t.Fatalf("progress stayed 0 with half the layers stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if seen <= 0 || seen >= 100 {
		t.Errorf("progress %d%% with two of four layers held, want between 0 and 100", seen)
	}
	close(gate.release)
	deadline = time.Now().Add(30 * time.Second)
	for {
		got, err := svc.GetImageCache(t.Context(), w.a, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Phase == eci.PhaseReady {
			if got.Progress != 100 {
				t.Errorf("Ready at %d%%", got.Progress)
			}
			return
		}
		if got.Phase == eci.PhaseFailed || time.Now().After(deadline) {
			t.Fatalf("cache %s: %s", got.Phase, got.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
