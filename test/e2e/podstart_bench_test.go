package e2e

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
)

// BenchmarkPodStart measures a pod's start — create until every image is
// pulled and verified — for an image of 8 incompressible layers
// (ROLEPULL_BENCH_IMAGE_MB in total, default 256; the figure is
// 1024): cold (nothing on the node: every layer fetched) against a cache
// hit (an image cache holds it: the pod's identity is checked with a token
// and a manifest HEAD, no layer moves). Each cold iteration pushes a new
// image with the timer stopped.
func BenchmarkPodStart(b *testing.B) {
	mb := 256
	if s := os.Getenv("ROLEPULL_BENCH_IMAGE_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	layer := int64(mb) << 20 / 8
	w := newWorld(b)
	ee := w.instance(w.a, "cn-hangzhou", "bench", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	start := func(name, image string, cs eci.CacheSettings) time.Duration {
		t0 := time.Now()
		g := w.cachePod(name, []string{image}, cs, nil)
		g = w.settle(g.ID)
		if g.Status != eci.StatusImagesReady {
			b.Fatalf("pod %s: %s\n%s", name, g.Status, w.events(g.ID))
		}
		return time.Since(t0)
	}
	b.Run("cold", func(b *testing.B) {
		var total time.Duration
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			repo := fmt.Sprintf("ns/cold:%d", i)
			pushLayers(w, ee, host, repo, layer)
			b.StartTimer()
			total += start(fmt.Sprintf("cold-%d", i), host+"/"+repo, eci.CacheSettings{})
		}
		b.ReportMetric(float64(int64(mb)<<20)/1e6/(total.Seconds()/float64(b.N)), "MB/s")
	})
	b.Run("cache-hit", func(b *testing.B) {
		repo := "ns/cached:1"
		pushLayers(w, ee, host, repo, layer)
		c := w.settleCache(w.cache("bench", []string{host + "/" + repo}, func(in *eci.CacheInput) { in.SizeGiB = 100 }).ID)
		if c.Phase != eci.PhaseReady {
			b.Fatalf("cache: %s %s", c.Phase, c.Message)
		}
		for i := 0; b.Loop(); i++ {
			start(fmt.Sprintf("hit-%d", i), host+"/"+repo, eci.CacheSettings{Pinned: c.ID})
		}
	})
}
