package openapi

import (
	"sync"
	"time"
)

// Nonce cache bounds. A key past its share is refused on its own, so one
// caller filling the cache cannot refuse everyone else's requests.
const (
	maxNonces       = 1 << 20 // about 150 MB at most
	maxNoncesPerKey = 1 << 17 // ~70 requests a second for 30 minutes
)

// nonceCache remembers (AccessKeyId, nonce) pairs until the request's
// timestamp leaves the acceptance window, after which the timestamp check
// alone refuses a replay. It is per process: replicas behind one load
// balancer each keep their own (docs/architecture.md, "Replays").
type nonceCache struct {
	mu      sync.Mutex
	seen    map[string]nonceEntry // key → entry
	perKey  map[string]int        // AccessKeyId → live entries
	lastGC  time.Time
	maxSize int
	maxKey  int
}

type nonceEntry struct {
	akid  string
	until time.Time // forget after
}

func newNonceCache() *nonceCache {
	return &nonceCache{seen: make(map[string]nonceEntry), perKey: make(map[string]int), maxSize: maxNonces, maxKey: maxNoncesPerKey}
}

// add records a nonce and reports whether it was new. when is the
// request's own timestamp: the pair can be replayed only while when is
// within MaxSkew of the clock. When the cache, or the key's share of it,
// is full of live nonces it refuses (fails closed) rather than forget one.
func (c *nonceCache) add(akid, nonce string, now, when time.Time) bool {
	key := akid + "\x00" + nonce
	c.mu.Lock()
	defer c.mu.Unlock()
	full := len(c.seen) >= c.maxSize || c.perKey[akid] >= c.maxKey
	// A sweep is linear in the cache: at most once a second while full,
	// so refused requests cannot make every request pay for one.
	if since := now.Sub(c.lastGC); since > time.Minute || full && since > time.Second {
		c.gc(now)
	}
	if e, ok := c.seen[key]; ok {
		if !now.After(e.until) {
			return false
		}
		c.seen[key] = nonceEntry{akid: akid, until: when.Add(MaxSkew)} // an expired entry's slot
		return true
	}
	if len(c.seen) >= c.maxSize || c.perKey[akid] >= c.maxKey {
		return false
	}
	c.seen[key] = nonceEntry{akid: akid, until: when.Add(MaxSkew)}
	c.perKey[akid]++
	return true
}

func (c *nonceCache) gc(now time.Time) {
	for k, e := range c.seen {
		if now.After(e.until) {
			delete(c.seen, k)
			if c.perKey[e.akid]--; c.perKey[e.akid] <= 0 {
				delete(c.perKey, e.akid)
			}
		}
	}
	c.lastGC = now
}
