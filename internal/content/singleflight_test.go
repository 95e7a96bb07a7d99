package content

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// gatedFetch serves b once gate is closed; it counts its calls and how many
// run at once, and its reader gives up when the fetch context ends.
type gatedFetch struct {
	b             []byte
	gate          chan struct{}
	calls         atomic.Int32
	running, peak atomic.Int32
}

func newGatedFetch(b []byte) *gatedFetch { return &gatedFetch{b: b, gate: make(chan struct{})} }

func (g *gatedFetch) fetch(ctx context.Context) (io.ReadCloser, error) {
	g.calls.Add(1)
	n := g.running.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return &gatedReader{ctx: ctx, g: g, r: bytes.NewReader(g.b)}, nil
}

type gatedReader struct {
	ctx    context.Context
	g      *gatedFetch
	r      io.Reader
	closed bool
}

func (r *gatedReader) Read(p []byte) (int, error) {
	select {
	case <-r.g.gate:
	case <-r.ctx.Done():
		return 0, r.ctx.Err()
	}
	return r.r.Read(p)
}

func (r *gatedReader) Close() error {
	if !r.closed {
		r.closed = true
		r.g.running.Add(-1)
	}
	return nil
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *Store) waiters(d digest.Digest) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.flights[d]; f != nil {
		return f.waiters
	}
	return 0
}

func (s *Store) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.flights)
}

func TestIngestSingleflight(t *testing.T) {
	const callers = 64
	s, _ := newStore(t, Options{})
	b, d := randomBlob(3*copyBufferBytes+5, 7)
	g := newGatedFetch(b)

	var wg sync.WaitGroup
	errs := make([]error, callers)
	last := make([]int64, callers)
	for i := range callers {
		wg.Go(func() {
			errs[i] = s.Ingest(t.Context(), d, int64(len(b)), g.fetch, func(n int64) { last[i] = n })
		})
	}
	waitFor(t, "every caller to join the flight", func() bool { return s.waiters(d) == callers })
	close(g.gate)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: Ingest(%s) = %v", i, d, err)
		}
		if last[i] != int64(len(b)) {
			t.Errorf("caller %d: last progress = %d, want %d", i, last[i], len(b))
		}
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("fetch called %d times by %d concurrent Ingests, want 1", n, callers)
	}

	// Present now: nobody fetches.
	var again atomic.Int32
	for range callers {
		wg.Go(func() {
			err := s.Ingest(t.Context(), d, int64(len(b)), func(context.Context) (io.ReadCloser, error) {
				again.Add(1)
				return nil, errBoom
			}, nil)
			if err != nil {
				t.Errorf("Ingest(%s) of a present blob = %v", d, err)
			}
		})
	}
	wg.Wait()
	if n := again.Load(); n != 0 {
		t.Errorf("fetch called %d times for a present blob, want 0", n)
	}
	if n := s.inFlight(); n != 0 {
		t.Errorf("%d flights left", n)
	}
}

func TestIngestCallersLeave(t *testing.T) {
	s, _ := newStore(t, Options{})
	b, d := randomBlob(2*copyBufferBytes, 8)

	t.Run("one of two leaves", func(t *testing.T) {
		g := newGatedFetch(b)
		ctxA, cancelA := context.WithCancel(t.Context())
		errA, errB := make(chan error, 1), make(chan error, 1)
		go func() { errA <- s.Ingest(ctxA, d, int64(len(b)), g.fetch, func(int64) {}) }()
		waitFor(t, "the first caller", func() bool { return s.waiters(d) == 1 })
		go func() { errB <- s.Ingest(t.Context(), d, int64(len(b)), g.fetch, nil) }()
		waitFor(t, "the second caller", func() bool { return s.waiters(d) == 2 })
		cancelA()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Errorf("Ingest with a cancelled context = %v, want context.Canceled", err)
		}
		close(g.gate)
		if err := <-errB; err != nil {
			t.Errorf("Ingest of the remaining caller = %v", err)
		}
		if n := g.calls.Load(); n != 1 {
			t.Errorf("fetch called %d times, want 1", n)
		}
		if ok, _ := s.Has(t.Context(), d); !ok {
			t.Errorf("Has(%s) = false after the remaining caller succeeded", d)
		}
	})

	t.Run("all leave", func(t *testing.T) {
		b, d := randomBlob(2*copyBufferBytes, 9)
		g := newGatedFetch(b)
		ctx, cancel := context.WithCancel(t.Context())
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- s.Ingest(ctx, d, int64(len(b)), g.fetch, nil) }()
		}
		waitFor(t, "three callers", func() bool { return s.waiters(d) == 3 })
		cancel()
		for range 3 {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				t.Errorf("Ingest = %v, want context.Canceled", err)
			}
		}
		waitFor(t, "the abandoned flight to end", func() bool { return s.inFlight() == 0 })
		if names := listDir(t, s.ingestDir()); len(names) != 0 {
			t.Errorf("ingest/ = %q after an abandoned fetch, want empty", names)
		}
		if ok, _ := s.Has(t.Context(), d); ok {
			t.Errorf("Has(%s) = true after an abandoned fetch", d)
		}
		// A later Ingest fetches again and succeeds.
		close(g.gate)
		if err := s.Ingest(t.Context(), d, int64(len(b)), g.fetch, nil); err != nil {
			t.Errorf("Ingest after an abandoned one = %v", err)
		}
		if n := g.calls.Load(); n != 2 {
			t.Errorf("fetch called %d times, want 2", n)
		}
	})
}

func TestIngestSizeClaimsDiffer(t *testing.T) {
	s, _ := newStore(t, Options{})
	b, d := randomBlob(100_000, 10)
	g := newGatedFetch(b)
	type result struct {
		size int64
		err  error
	}
	results := make(chan result, 3)
	ingest := func(size int64) {
		results <- result{size, s.Ingest(t.Context(), d, size, g.fetch, nil)}
	}
	go ingest(int64(len(b)))
	waitFor(t, "the first caller", func() bool { return s.waiters(d) == 1 })
	go ingest(int64(len(b)) + 1) // a wrong claim: must not share, nor fetch concurrently
	go ingest(-1)
	time.Sleep(20 * time.Millisecond)
	close(g.gate)
	for range 3 {
		r := <-results
		switch r.size {
		case int64(len(b)), -1:
			if r.err != nil {
				t.Errorf("Ingest(%s, %d) = %v", d, r.size, r.err)
			}
		default:
			if !errors.Is(r.err, ErrSizeMismatch) {
				t.Errorf("Ingest(%s, %d) = %v, want ErrSizeMismatch", d, r.size, r.err)
			}
		}
	}
	if n := g.peak.Load(); n != 1 {
		t.Errorf("%d fetches of one digest ran at once, want 1", n)
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("fetch called %d times, want 1", n)
	}
}

func TestIngestProgress(t *testing.T) {
	s, _ := newStore(t, Options{})
	b, d := randomBlob(3*copyBufferBytes+copyBufferBytes/2, 11)
	var seen []int64
	if err := s.Ingest(t.Context(), d, int64(len(b)), bytesFetch(b), func(n int64) { seen = append(seen, n) }); err != nil {
		t.Fatalf("Ingest(%s) = %v", d, err)
	}
	if len(seen) < 4 {
		t.Fatalf("progress called %d times for %d bytes, want ≥ 4: %v", len(seen), len(b), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Errorf("progress not increasing: %v", seen)
		}
	}
	if got := seen[len(seen)-1]; got != int64(len(b)) {
		t.Errorf("last progress = %d, want %d", got, len(b))
	}
}
