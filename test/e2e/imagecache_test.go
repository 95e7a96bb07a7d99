package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/node"
	"github.com/rolepull/rolepull/internal/pull"
)

func (w *world) cache(name string, images []string, tune func(*eci.CacheInput)) eci.ImageCache {
	w.t.Helper()
	in := eci.CacheInput{Account: w.a, Region: "cn-hangzhou", Name: name, Images: images}
	if tune != nil {
		tune(&in)
	}
	c, err := w.n.ECI.CreateImageCache(w.t.Context(), in)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) settleCache(id string) eci.ImageCache {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := w.n.ECI.GetImageCache(w.t.Context(), "", id)
		if err != nil {
			w.t.Fatal(err)
		}
		switch c.Phase {
		case eci.PhaseReady, eci.PhaseFailed, eci.PhaseUpdateFailed:
			return c
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("cache %s stuck in %s", id, c.Phase)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cachePod creates a pod with cache settings.
func (w *world) cachePod(name string, images []string, cs eci.CacheSettings, chains []pull.Chain) eci.ContainerGroup {
	w.t.Helper()
	var containers []eci.Container
	for i, img := range images {
		containers = append(containers, eci.Container{Name: "c" + itoa(i), Image: img})
	}
	g, err := w.n.ECI.Create(w.t.Context(), eci.CreateInput{Account: w.a, Region: "cn-hangzhou", Name: name, Containers: containers, Cache: cs, Chains: chains})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func TestImageCacheLifecycle(t *testing.T) {
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	w := newWorldWith(t, func(c *node.Config) {
		c.Clock = clk
		c.ECI = eci.Options{CacheSizeUnit: 1 << 10} // one "GiB" of imageCacheSize is 1 KiB here
	})
	ee := w.instance(w.a, "cn-hangzhou", "cache", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	w.push(ee, host, "eci_test/small:1", 1) // ~5 KB with 2 KiB layers
	w.push(ee, host, "eci_test/big:1", 20)  // ~42 KB
	small, big := host+"/eci_test/small:1", host+"/eci_test/big:1"

	// Too big for 20 units (20 KiB here): Failed, with the fix, and
	// collected 24 h later.
	tooBig := w.settleCache(w.cache("too-big", []string{big}, nil).ID)
	if tooBig.Phase != eci.PhaseFailed || !strings.Contains(tooBig.Message, "imageCacheSize") {
		t.Fatalf("an oversize cache: %s %q", tooBig.Phase, tooBig.Message)
	}
	if pins, _ := w.n.Content.Pins(t.Context(), tooBig.ID); len(pins) != 0 {
		t.Errorf("a failed cache pins %d blobs", len(pins))
	}
	if !tooBig.ExpireTime.Equal(clk.Now().Add(24 * time.Hour)) {
		t.Errorf("a failed cache expires at %v, want 24 h after failing", tooBig.ExpireTime)
	}

	// A ready cache, kept 7 days.
	ready := w.settleCache(w.cache("weekly", []string{small}, func(in *eci.CacheInput) { in.RetentionDays = 7 }).ID)
	if ready.Phase != eci.PhaseReady || ready.Progress != 100 || !strings.Contains(ready.Identity, "AliyunServiceRoleForECI") {
		t.Fatalf("cache: %s %d%% as %q (%s)", ready.Phase, ready.Progress, ready.Identity, ready.Message)
	}
	if !ready.ExpireTime.Equal(ready.CreationTime.Add(7 * 24 * time.Hour)) {
		t.Errorf("expires %v, want 7 days after creation", ready.ExpireTime)
	}
	forever := w.settleCache(w.cache("forever", []string{small}, nil).ID)
	if ev := w.events(ready.ID); strings.Contains(ev, "ImageCacheSizeLow") {
		t.Errorf("a cache whose images take %d of 20 KiB warns of its size:\n%s", ready.Bytes(), ev)
	}
	// Fits, but in more than half: Ready, with a warning (reliability.md
	// §3.8 item 76: ECI advises a cache twice the images' size).
	w.push(ee, host, "eci_test/mid:1", 6)
	mid := w.settleCache(w.cache("mid", []string{host + "/eci_test/mid:1"}, nil).ID)
	if b := mid.Bytes(); b <= 10<<10 || b > 20<<10 {
		t.Fatalf("the mid image takes %d bytes; the test wants 10–20 KiB", b)
	}
	if ev := w.events(mid.ID); mid.Phase != eci.PhaseReady || !strings.Contains(ev, "ImageCacheSizeLow") || !strings.Contains(ev, "at least twice") {
		t.Errorf("a cache more than half full: %s\n%s", mid.Phase, ev)
	}
	// Two images sharing their layers: imageCacheSize holds what is
	// stored — each blob once — not the sum of the images' sizes.
	twin := w.pushTwin(ee, host, "eci_test/mid:1", "eci_test/mid:2")
	shared := w.settleCache(w.cache("shared", []string{host + "/eci_test/mid:1", host + "/eci_test/mid:2"}, nil).ID)
	if sum := shared.Cached[0].Bytes + shared.Cached[1].Bytes; shared.Phase != eci.PhaseReady || sum <= 20<<10 || shared.Bytes() > 20<<10 {
		t.Errorf("two images of %d bytes together, sharing layers (%s): %s, stored %d; want Ready under 20 KiB", sum, twin, shared.Phase, shared.Bytes())
	}

	// Auto-match: a pod of the cached image uses a cache, and says so.
	g := w.expectReady(w.cachePod("auto", []string{small}, eci.CacheSettings{AutoMatch: true}, nil))
	if g.MatchedImageCache == "" || g.ContainerStatuses[0].Cache == "" {
		t.Errorf("auto-match used no cache: %+v", g)
	}
	if ev := w.events(g.ID); !strings.Contains(ev, "SuccessfulHitImageCache") {
		t.Errorf("no SuccessfulHitImageCache event:\n%s", ev)
	}
	// No match: ImageCacheMissed, then a normal pull.
	w.push(ee, host, "eci_test/other:1", 1)
	g = w.expectReady(w.cachePod("missed", []string{host + "/eci_test/other:1"}, eci.CacheSettings{AutoMatch: true}, nil))
	if ev := w.events(g.ID); !strings.Contains(ev, "ImageCacheMissed") || g.MatchedImageCache != "" {
		t.Errorf("a pod with no matching cache:\n%s", ev)
	}
	// Perfect match: a cache holding only some of the pod's images does not qualify.
	g = w.expectReady(w.cachePod("perfect", []string{small, host + "/eci_test/other:1"}, eci.CacheSettings{AutoMatch: true, PerfectMatch: true}, nil))
	if g.MatchedImageCache != "" {
		t.Errorf("perfect match chose %s, which lacks an image", g.MatchedImageCache)
	}
	// Pinned: the named cache, an unknown one, one not yet complete.
	g = w.expectReady(w.cachePod("pinned", []string{small}, eci.CacheSettings{Pinned: forever.ID}, nil))
	if g.MatchedImageCache != forever.ID {
		t.Errorf("pinned to %s, used %q", forever.ID, g.MatchedImageCache)
	}
	g = w.expectReady(w.cachePod("unknown", []string{small}, eci.CacheSettings{Pinned: "imc-doesnotexist0000"}, nil))
	if ev := w.events(g.ID); !strings.Contains(ev, "ImageCacheNotFound") {
		t.Errorf("no ImageCacheNotFound:\n%s", ev)
	}
	g = w.settle(w.cachePod("legacy-failed", []string{small}, eci.CacheSettings{Pinned: tooBig.ID, LegacyPinned: true}, nil).ID)
	if g.Status != eci.StatusFailed || !strings.Contains(w.events(g.ID), "ImageCacheNotComplete") {
		t.Errorf("a legacy pin to a failed cache: %s\n%s", g.Status, w.events(g.ID))
	}

	// A cache never widens access: a pod whose own role may not pull the
	// image gets no cached copy, and fails as it would have.
	w.policy(w.a, "pull-nothing", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:GetAuthorizationToken"],"Resource":"*"}]}`)
	denied := w.role(w.a, "no-pull", eciTrust, "pull-nothing")
	g = w.cachePod("unauthorized", []string{small}, eci.CacheSettings{Pinned: forever.ID}, []pull.Chain{{Service: denied}})
	w.expectFailure(g, 0, pull.Permission, "cr:PullRepository")
	if ev := w.events(g.ID); !strings.Contains(ev, "ImageCacheUnauthorized") {
		t.Errorf("no event says the cache was refused:\n%s", ev)
	}

	// Retention: past 7 days the weekly cache is collected; the other
	// stays. Past 24 h the failed one is gone too.
	clk.Advance(7*24*time.Hour + time.Minute)
	w.n.ECI.ExpireNow(t.Context())
	for id, gone := range map[string]bool{ready.ID: true, tooBig.ID: true, forever.ID: false} {
		_, err := w.n.ECI.GetImageCache(t.Context(), "", id)
		if (err != nil) != gone {
			t.Errorf("cache %s after 7 days: err=%v, want gone=%v", id, err, gone)
		}
	}
}
