package openapi

import (
	"sync"
	"time"
)

// nonceCache remembers (AccessKeyId, nonce) pairs until the request's
// timestamp leaves the acceptance window, after which the timestamp check
// alone refuses a replay. It is per process: replicas behind one load
// balancer each keep their own (docs/architecture.md).
type nonceCache struct {
	mu      sync.Mutex
	seen    map[string]time.Time // key → forget after
	lastGC  time.Time
	maxSize int
}

func newNonceCache() *nonceCache {
	return &nonceCache{seen: make(map[string]time.Time), maxSize: 1 << 20}
}

// add records a nonce and reports whether it was new. when is the
// request's own timestamp: the pair can be replayed only while when is
// within MaxSkew of the clock.
func (c *nonceCache) add(akid, nonce string, now, when time.Time) bool {
	key := akid + "\x00" + nonce
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastGC) > time.Minute || len(c.seen) >= c.maxSize {
		for k, until := range c.seen {
			if now.After(until) {
				delete(c.seen, k)
			}
		}
		c.lastGC = now
	}
	if until, ok := c.seen[key]; ok && !now.After(until) {
		return false
	}
	if len(c.seen) >= c.maxSize {
		return false // fail closed rather than forget a live nonce
	}
	c.seen[key] = when.Add(MaxSkew)
	return true
}
