package openapi

import (
	"fmt"
	"testing"
	"time"
)

// One AccessKey filling its share of the nonce cache is refused on its
// own; other keys go on; once its nonces leave the window it goes on too.
func TestNonceCacheShares(t *testing.T) {
	c := newNonceCache()
	c.maxSize, c.maxKey = 100, 10
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		if !c.add("LTAI-greedy", fmt.Sprint(i), now, now) {
			t.Fatalf("nonce %d of the greedy key refused below its share", i)
		}
	}
	if c.add("LTAI-greedy", "one-more", now, now) {
		t.Error("the greedy key went past its share")
	}
	if !c.add("LTAI-other", "a", now, now) {
		t.Error("another key was refused because one key filled its share")
	}
	if c.add("LTAI-other", "a", now, now) {
		t.Error("a replayed nonce was accepted")
	}
	later := now.Add(MaxSkew + time.Minute)
	if !c.add("LTAI-greedy", "one-more", later, later) {
		t.Error("the greedy key is still refused after its nonces left the window")
	}
	if got := c.perKey["LTAI-greedy"]; got != 1 {
		t.Errorf("the greedy key holds %d live nonces after the sweep, want 1", got)
	}
	// Fill the whole cache with many keys: a new key is refused (fail
	// closed), never a live nonce forgotten.
	for k := range 20 {
		for i := range 10 {
			c.add(fmt.Sprintf("LTAI-%d", k), fmt.Sprint(i), later, later)
		}
	}
	if c.add("LTAI-late", "x", later, later) {
		t.Error("a full cache accepted a new nonce")
	}
	if c.add("LTAI-0", "0", later, later) {
		t.Error("a full cache forgot a live nonce")
	}
}
