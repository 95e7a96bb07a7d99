package e2e

import (
	"fmt"
	"math/rand/v2"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/leakcheck"
	"github.com/rolepull/rolepull/internal/pull"
)

// TestConcurrentPullsUnderFaults is reliability.md §5 "concurrency
// integrity" and §4 "concurrent pulls of the same digest by different
// roles": 64 pullers at once, each pulling the same 20 images, 3 rounds,
// through a registry that breaks the first 8 blob GETs and then 5 % at
// random (a body cut at a random offset, a reset, a 503, a flipped byte).
// Two roles may pull; a third may log in but not pull.
//
// Every authorized pull succeeds; after each round every blob in the store
// re-hashes to its digest and no ingest file is left; each blob was served
// whole at most once over all rounds (concurrent pulls of one digest share
// one fetch, later rounds fetch nothing); and the third role is refused
// every image as permission, though every byte of it is cached.
func TestConcurrentPullsUnderFaults(t *testing.T) {
	leakcheck.Start(t)
	w := newWorld(t)
	ctx := t.Context()
	ee := w.instance(w.a, "cn-hangzhou", "busy", acr.SpecEnterpriseStandard, true)
	host := ee.PublicHost(acr.DefaultBase)
	const images, pullers, rounds = 20, 64, 3
	refs := make([]string, images)
	for i := range refs {
		w.push(ee, host, fmt.Sprintf("ns/app%d:1", i), 2)
		refs[i] = fmt.Sprintf("%s/ns/app%d:1", host, i)
	}
	readers := []string{
		w.role(w.a, "reader-a", eciTrust, "AliyunContainerRegistryReadOnlyAccess"),
		w.role(w.a, "reader-b", eciTrust, "AliyunContainerRegistryReadOnlyAccess"),
	}
	w.policy(w.a, "login-only", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:GetAuthorizationToken","Resource":"*"}]}`)
	outsider := w.role(w.a, "outsider", eciTrust, "login-only")

	seed := uint64(time.Now().UnixNano())
	t.Logf("faults from seed %d", seed)
	// Eight faults for the first blob GETs — 64 pullers start at once, so
	// these fall on different blobs — then 5 % at random.
	faulty := &faultyRegistry{next: w.n.Registry, rng: rand.New(rand.NewPCG(seed, 1)), rate: 0.05,
		faults: []string{"truncate", "reset", "503", "corrupt", "truncate", "reset", "503", "corrupt"}}
	p := w.pullerBehind(faulty)
	defer p.Close()

	for round := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, pullers*images)
		for g := range pullers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				role, allowed := readers[g%2], true
				if g%8 == 7 {
					role, allowed = outsider, false
				}
				s := pull.Settings{Account: w.a, Region: "cn-hangzhou", Session: fmt.Sprintf("eci-busy-%d", g), Chains: []pull.Chain{{Service: role}}}
				for k := range images {
					ref := refs[(g+k)%images] // each puller in its own order
					_, err := p.Pull(ctx, s, ref, pull.FetchOptions{})
					switch {
					case allowed && err != nil:
						errs <- fmt.Errorf("round %d, puller %d (%s), %s: %v", round, g, path.Base(role), ref, err)
					case !allowed && (err == nil || pull.KindOf(err) != pull.Permission):
						errs <- fmt.Errorf("round %d, puller %d (%s), %s = %v, want a permission failure", round, g, path.Base(role), ref, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		bad, err := w.n.Content.Verify(ctx, false)
		if err != nil || len(bad) > 0 {
			t.Fatalf("round %d: %v, corrupt blobs %v", round, err, bad)
		}
		leakcheck.EmptyDir(t, filepath.Join(w.data, "content", "ingest"))
	}

	faulty.mu.Lock()
	defer faulty.mu.Unlock()
	byDigest := map[string]int{}
	for p, n := range faulty.whole {
		byDigest[path.Base(p)] += n
	}
	for d, n := range byDigest {
		if n > 1 {
			t.Errorf("blob %s was fetched whole %d times; concurrent pulls should share one fetch", d, n)
		}
	}
	if want := images * 3; len(byDigest) != want { // a config and 2 layers each
		t.Errorf("%d blobs fetched, want %d", len(byDigest), want)
	}
	if faulty.hit.Load() < 8 {
		t.Errorf("%d faults were injected, want at least 8: the test did not exercise them", faulty.hit.Load())
	}
	t.Logf("%d rounds × %d pullers × %d images: %d faults injected, %d blobs fetched whole", rounds, pullers, images, faulty.hit.Load(), len(byDigest))
}
