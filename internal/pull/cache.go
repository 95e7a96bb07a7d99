package pull

import (
	"context"
	"log/slog"
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

// usable reports whether an entry past its half-life may still stand in
// while a refresh cannot be had: it must outlive now by staleMargin, so a
// pull that starts with it can finish its token exchanges.
func (e cacheEntry) usable(now time.Time) bool {
	return e.pw.Password != "" && now.Add(staleMargin).Before(e.pw.Expiration)
}

// staleMargin is how long a credential must still be valid to be used
// when its refresh failed for want of an answer.
const staleMargin = time.Minute

// credCache holds temporary passwords. Fetches of one key are shared;
// failures are never stored, so a fixed policy takes effect on the next
// pull. When a refresh fails because STS did not answer (not because it
// refused), an entry still valid is used until it nearly expires: a
// refusal — trust, permission, a deleted role — is never papered over.
type credCache struct {
	clock clock.Clock
	log   *slog.Logger
	group singleflight.Group

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	// Hits and Misses count lookups, for tests and metrics.
	hits, misses, stale int
}

func newCredCache(clk clock.Clock, log *slog.Logger) *credCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &credCache{clock: clock.Or(clk), log: log, entries: make(map[cacheKey]cacheEntry)}
}

// get returns k's entry, fetching it when it is missing or past its
// half-life. fetch runs detached from ctx (its result serves every
// waiter), so it must bound itself; a caller whose ctx ends stops waiting.
func (c *credCache) get(ctx context.Context, k cacheKey, fetch func(context.Context) (cacheEntry, error)) (cacheEntry, error) {
	now := c.clock.Now()
	c.mu.Lock()
	old, had := c.entries[k]
	if had && old.fresh(now) {
		c.hits++
		c.mu.Unlock()
		return old, nil
	}
	c.misses++
	c.mu.Unlock()
	ch := c.group.DoChan(k.String(), func() (any, error) {
		e, err := fetch(context.WithoutCancel(ctx))
		if err != nil {
			return cacheEntry{}, err
		}
		c.mu.Lock()
		c.entries[k] = e
		c.mu.Unlock()
		return e, nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return cacheEntry{}, ctx.Err()
	}
	if res.Err != nil {
		if had && unanswered(res.Err) && old.usable(c.clock.Now()) {
			c.mu.Lock()
			c.stale++
			c.mu.Unlock()
			c.log.Warn("credential refresh failed; using the cached credential until it nearly expires",
				"chain", k.chain, "instance", k.instance, "expiration", old.pw.Expiration, "error", res.Err)
			return old, nil
		}
		return cacheEntry{}, res.Err
	}
	return res.Val.(cacheEntry), nil
}

// unanswered reports whether err says STS (or the store behind it) did
// not answer, as opposed to refusing.
func unanswered(err error) bool {
	switch KindOf(err) {
	case Network, Internal:
		return true
	}
	return false
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

// staleUses counts the times a cached credential stood in for a failed
// refresh.
func (c *credCache) staleUses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stale
}

func chainKey(arns []string) string { return strings.Join(arns, " → ") }
