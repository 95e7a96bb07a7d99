package pull

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/clock"
)

// cacheKey names one credential: the whole chain, the instance and its
// region — never the instance alone, so one chain's password never serves
// another chain.
type cacheKey struct {
	chain    string // role ARNs joined by " → ", or the service-linked role's
	instance string
	region   string
}

func (k cacheKey) String() string { return k.chain + "|" + k.instance + "|" + k.region }

type cacheEntry struct {
	pw      acr.TempPassword
	fetched time.Time
	chain   []string // the role ARNs assumed, for status
}

// fresh reports whether an entry is within the first half of its life.
func (e cacheEntry) fresh(now time.Time) bool {
	return now.Before(e.fetched.Add(e.pw.Expiration.Sub(e.fetched) / 2))
}

// credCache holds temporary passwords. Fetches of one key are shared;
// failures are never stored, so a fixed policy takes effect on the next
// pull.
type credCache struct {
	clock clock.Clock
	group singleflight.Group

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	// Hits and Misses count lookups, for tests and metrics.
	hits, misses int
}

func newCredCache(clk clock.Clock) *credCache {
	return &credCache{clock: clock.Or(clk), entries: make(map[cacheKey]cacheEntry)}
}

func (c *credCache) get(ctx context.Context, k cacheKey, fetch func(context.Context) (cacheEntry, error)) (cacheEntry, error) {
	now := c.clock.Now()
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && e.fresh(now) {
		c.hits++
		c.mu.Unlock()
		return e, nil
	}
	c.misses++
	c.mu.Unlock()
	v, err, _ := c.group.Do(k.String(), func() (any, error) {
		e, err := fetch(context.WithoutCancel(ctx))
		if err != nil {
			return cacheEntry{}, err
		}
		c.mu.Lock()
		c.entries[k] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return cacheEntry{}, err
	}
	return v.(cacheEntry), nil
}

// invalidate drops an entry the registry refused (a 401 mid-pull).
func (c *credCache) invalidate(k cacheKey) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// stats returns the hit and miss counts.
func (c *credCache) stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

func chainKey(arns []string) string { return strings.Join(arns, " → ") }
