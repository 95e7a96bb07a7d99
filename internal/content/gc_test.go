package content

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/store"
)

func TestPins(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	a := mustIngest(t, s, []byte("ten bytes!"))
	b := digest.FromString("b, never ingested")
	c := digest.FromString("c")

	if err := s.Pin(ctx, "pod-1", []digest.Digest{b, a, a}); err != nil {
		t.Fatalf("Pin() = %v", err)
	}
	want := []digest.Digest{a, b}
	if a > b {
		want = []digest.Digest{b, a}
	}
	if got, err := s.Pins(ctx, "pod-1"); err != nil || !cmp.Equal(got, want) {
		t.Errorf("Pins(pod-1) = %v, %v, want %v", got, err, want)
	}
	kv, err := s.meta.Get(ctx, "content/pins/pod-1")
	if wantRaw := fmt.Sprintf("[%q,%q]", want[0], want[1]); err != nil || string(kv.Value) != wantRaw {
		t.Errorf("stored pins = %s, %v, want %s", kv.Value, err, wantRaw)
	}
	if n, err := s.OwnerUsage(ctx, "pod-1"); n != 10 || err != nil {
		t.Errorf("OwnerUsage(pod-1) = %d, %v, want 10 (absent digests count 0)", n, err)
	}

	if err := s.Pin(ctx, "pod-1", []digest.Digest{c}); err != nil {
		t.Fatalf("Pin() = %v", err)
	}
	if got, _ := s.Pins(ctx, "pod-1"); !cmp.Equal(got, []digest.Digest{c}) {
		t.Errorf("Pins(pod-1) after replacing = %v, want [%s]", got, c)
	}
	if err := s.Pin(ctx, "pod-1", nil); err != nil {
		t.Fatalf("Pin(nil) = %v", err)
	}
	if _, err := s.meta.Get(ctx, "content/pins/pod-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pins key after Pin(nil) = %v, want ErrNotFound", err)
	}
	if err := s.Pin(ctx, "pod-1", []digest.Digest{a}); err != nil {
		t.Fatalf("Pin() = %v", err)
	}
	for range 2 { // unpinning twice is fine
		if err := s.Unpin(ctx, "pod-1"); err != nil {
			t.Errorf("Unpin(pod-1) = %v", err)
		}
	}
	if got, err := s.Pins(ctx, "pod-1"); got != nil || err != nil {
		t.Errorf("Pins(pod-1) after Unpin = %v, %v, want nil", got, err)
	}

	t.Run("invalid owners", func(t *testing.T) {
		for _, owner := range []string{"", strings.Repeat("x", MaxOwnerBytes+1)} {
			if err := s.Pin(ctx, owner, []digest.Digest{a}); !errors.Is(err, ErrInvalidOwner) {
				t.Errorf("Pin(%d-byte owner) = %v, want ErrInvalidOwner", len(owner), err)
			}
			if err := s.Unpin(ctx, owner); !errors.Is(err, ErrInvalidOwner) {
				t.Errorf("Unpin(%d-byte owner) = %v, want ErrInvalidOwner", len(owner), err)
			}
			if _, err := s.Pins(ctx, owner); !errors.Is(err, ErrInvalidOwner) {
				t.Errorf("Pins(%d-byte owner) = %v, want ErrInvalidOwner", len(owner), err)
			}
		}
		long := strings.Repeat("x", MaxOwnerBytes)
		if err := s.Pin(ctx, long, []digest.Digest{a}); err != nil {
			t.Errorf("Pin(%d-byte owner) = %v", len(long), err)
		}
	})

	t.Run("every bad digest reported", func(t *testing.T) {
		err := s.Pin(ctx, "pod-2", []digest.Digest{a, "sha256:x", b, "md5:00"})
		if !errors.Is(err, ErrInvalidDigest) || !strings.Contains(err.Error(), "digests[1]") || !strings.Contains(err.Error(), "digests[3]") {
			t.Errorf("Pin(two bad digests) = %v, want ErrInvalidDigest naming digests[1] and digests[3]", err)
		}
	})

	t.Run("too many digests for one value", func(t *testing.T) {
		many := make([]digest.Digest, 20_000)
		for i := range many {
			many[i] = digest.FromString(fmt.Sprint(i))
		}
		if err := s.Pin(ctx, "pod-3", many); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Pin(%d digests) = %v, want store.ErrInvalid", len(many), err)
		}
	})
}

func TestGC(t *testing.T) {
	const grace = 10 * time.Minute
	s, clk := newStore(t, Options{GCGrace: grace})
	ctx := t.Context()
	pinned := mustIngest(t, s, []byte("pinned"))
	garbage1 := mustIngest(t, s, []byte("garbage one"))
	garbage2 := mustIngest(t, s, []byte("garbage two!"))
	asked := mustIngest(t, s, []byte("asked for again"))
	if err := s.Pin(ctx, "pod", []digest.Digest{pinned}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(grace - time.Nanosecond)
	if st, err := s.GC(ctx); st != (GCStats{}) || err != nil {
		t.Errorf("GC() just before the grace period ends = %+v, %v, want nothing removed", st, err)
	}
	clk.Advance(time.Nanosecond)
	young := mustIngest(t, s, []byte("young"))
	mustIngest(t, s, []byte("asked for again")) // refreshes its commit time

	st, err := s.GC(ctx)
	if want := (GCStats{BlobsRemoved: 2, BytesRemoved: 11 + 12}); st != want || err != nil {
		t.Errorf("GC() = %+v, %v, want %+v", st, err, want)
	}
	for d, want := range map[digest.Digest]bool{pinned: true, garbage1: false, garbage2: false, asked: true, young: true} {
		if ok, err := s.Has(ctx, d); ok != want || err != nil {
			t.Errorf("Has(%s) after GC = %v, %v, want %v", d, ok, err, want)
		}
	}

	t.Run("unreadable pins remove nothing", func(t *testing.T) {
		clk.Advance(grace)
		if _, err := s.meta.Txn(ctx, nil, []store.Op{store.Put(PinPrefix+"broken", []byte("{not json"))}); err != nil {
			t.Fatal(err)
		}
		before := blobNames(t, s)
		if _, err := s.GC(ctx); err == nil {
			t.Errorf("GC() with a corrupt pins record = nil error, want one")
		}
		if diff := cmp.Diff(before, blobNames(t, s)); diff != "" {
			t.Errorf("GC removed blobs despite unreadable pins (-before +after):\n%s", diff)
		}
		if _, err := s.meta.Txn(ctx, nil, []store.Op{store.Delete(PinPrefix + "broken")}); err != nil {
			t.Fatal(err)
		}
	})

	if err := s.Unpin(ctx, "pod"); err != nil {
		t.Fatal(err)
	}
	if st, err := s.GC(ctx); st.BlobsRemoved != 3 || err != nil {
		t.Errorf("GC() after Unpin = %+v, %v, want 3 blobs removed", st, err)
	}
	if u, err := s.Usage(ctx); u != 0 || err != nil {
		t.Errorf("Usage() after collecting everything = %d, %v, want 0", u, err)
	}
}

func TestGCStaleIngest(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	b, d := randomBlob(2*copyBufferBytes, 12)
	g := newGatedFetch(b)
	done := make(chan error, 1)
	go func() { done <- s.Ingest(ctx, d, int64(len(b)), g.fetch, nil) }()
	waitFor(t, "the ingest file", func() bool { return len(listDir(t, s.ingestDir())) == 1 })

	// A leaked file next to the one being written.
	if err := writeFile(s.ingestDir()+"/sha256-leaked-0000000000000000", "partial"); err != nil {
		t.Fatal(err)
	}
	st, err := s.GC(ctx)
	if want := (GCStats{IngestRemoved: 1}); st != want || err != nil {
		t.Errorf("GC() = %+v, %v, want %+v (the active ingest file kept)", st, err, want)
	}
	close(g.gate)
	if err := <-done; err != nil {
		t.Errorf("Ingest(%s) during GC = %v", d, err)
	}
	if names := listDir(t, s.ingestDir()); len(names) != 0 {
		t.Errorf("ingest/ = %q, want empty", names)
	}
}

// TestGCConcurrentIngestPin runs GC in a loop while a worker ingests and
// pins, against blobs that are all past the grace period, so only the
// protocol keeps them; hooks widen GC's windows between scanning, deciding
// and removing. Every blob the worker ends up pinning while it was present
// must survive.
func TestGCConcurrentIngestPin(t *testing.T) {
	const iterations = 200
	const grace = time.Minute
	s, clk := newStore(t, Options{GCGrace: grace})
	ctx := t.Context()
	s.hook = func(step string) {
		switch step {
		case "gc-scanned":
			time.Sleep(200 * time.Microsecond)
		case "gc-remove":
			time.Sleep(20 * time.Microsecond)
		}
	}

	// Old blobs, each held by a pin until the worker reaches it, and
	// controls nobody holds.
	oldBlobs := make([][]byte, iterations)
	controls := make([]digest.Digest, iterations)
	for i := range iterations {
		oldBlobs[i] = []byte(fmt.Sprintf("old blob %d", i))
		d := mustIngest(t, s, oldBlobs[i])
		if err := s.Pin(ctx, fmt.Sprintf("holder-%d", i), []digest.Digest{d}); err != nil {
			t.Fatal(err)
		}
		controls[i] = mustIngest(t, s, []byte(fmt.Sprintf("never used again %d", i)))
	}
	clk.Advance(2 * grace) // everything is now collectable unless protected

	var (
		mu      sync.Mutex
		removed int
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, err := s.GC(ctx)
			if err != nil {
				t.Errorf("GC() = %v", err)
				return
			}
			mu.Lock()
			removed += st.BlobsRemoved
			mu.Unlock()
		}
	})

	// pause lets GC run between a caller's Ingest and its Pin, as it may
	// while a puller fetches the other layers of an image.
	pause := func() { time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond) }
	var mustKeep []digest.Digest
	for i := range iterations {
		owner, holder := fmt.Sprintf("pod-%d", i), fmt.Sprintf("holder-%d", i)
		b := oldBlobs[i]
		if i%4 >= 2 {
			b = []byte(fmt.Sprintf("new blob %d", i))
		}
		d := digest.FromBytes(b)
		ingest := func() {
			if err := s.Ingest(ctx, d, int64(len(b)), bytesFetch(b), nil); err != nil {
				t.Fatalf("Ingest(%s) = %v", d, err)
			}
		}
		pin := func() {
			if err := s.Pin(ctx, owner, []digest.Digest{d}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Unpin(ctx, holder); err != nil { // the old blob is now garbage
			t.Fatal(err)
		}
		switch i % 4 {
		case 0: // the old blob asked for again, then pinned a moment later
			ingest()
			pause()
			pin()
		case 1: // the old blob pinned without Ingest: kept iff present once pinned
			pin()
			if ok, _ := s.Has(ctx, d); !ok {
				continue // collected before the pin: it was garbage then
			}
		case 2: // a new blob ingested, then pinned within the grace period
			ingest()
			pause()
			pin()
		case 3: // a new blob pinned first, then ingested
			pin()
			ingest()
		}
		mustKeep = append(mustKeep, d)
	}
	close(stop)
	wg.Wait()
	clk.Advance(2 * grace)
	if _, err := s.GC(ctx); err != nil {
		t.Fatalf("final GC() = %v", err)
	}

	for _, d := range mustKeep {
		if ok, err := s.Has(ctx, d); !ok || err != nil {
			t.Errorf("Has(%s) = %v, %v: a pinned blob was collected", d, ok, err)
		}
	}
	for _, d := range controls {
		if ok, _ := s.Has(ctx, d); ok {
			t.Errorf("Has(%s) = true: an old unpinned blob survived GC", d)
		}
	}
	if bad, err := s.Verify(ctx, false); len(bad) != 0 || err != nil {
		t.Errorf("Verify() = %v, %v, want no damage", bad, err)
	}
	t.Logf("kept %d pinned blobs; GC removed %d blobs while the worker ran", len(mustKeep), removed)
}
