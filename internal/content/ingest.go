package content

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"
)

// Ingest makes the blob dgst present, fetching it only if it is not
// committed yet. size is the expected length, or -1 when unknown.
//
// Concurrent Ingests of one digest with the same size share one call of
// fetch — the first caller's — and all get its result; an Ingest that
// claims a different size waits for that fetch to end, then checks the
// committed blob against its own claim or fetches again. fetch runs in a
// context that lives while any of the callers waits: a caller whose ctx
// ends returns at once, and the fetch is cancelled only when every caller
// has left. If the blob is already committed, fetch is not called and the
// blob's commit time is refreshed, so it survives GC for Options.GCGrace —
// long enough to Pin it.
//
// The bytes are hashed while they stream into a file in ingest/; only if
// their length and digest match is the file fsynced, made read-only and
// renamed into blobs/, and the directory fsynced. On any failure — a
// mismatch (ErrDigestMismatch, ErrSizeMismatch), more than
// Options.MaxBlobBytes (ErrTooLarge), a fetch or read error, a full disk
// (the error wraps syscall.ENOSPC) — the ingest file is removed and nothing
// becomes visible.
//
// progress, if not nil, is called with the number of bytes written so far,
// from another goroutine but never concurrently with itself, and never
// after Ingest returns; it must not call back into the Store.
func (s *Store) Ingest(ctx context.Context, dgst digest.Digest, size int64, fetch func(ctx context.Context) (io.ReadCloser, error), progress func(n int64)) error {
	if err := checkDigest(dgst); err != nil {
		return err
	}
	switch {
	case fetch == nil:
		return fmt.Errorf("content: ingest %s: nil fetch", dgst)
	case size < -1:
		return fmt.Errorf("content: ingest %s: invalid size %d", dgst, size)
	case size > s.maxBlob:
		return fmt.Errorf("%w: %s: %d bytes, the limit is %d", ErrTooLarge, dgst, size, s.maxBlob)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("content: ingest %s: %w", dgst, err)
		}
		if ok, err := s.refresh(dgst, size); ok || err != nil {
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return fmt.Errorf("content: ingest %s: %w", dgst, ErrClosed)
		}
		f := s.flights[dgst]
		if f != nil && (f.abandoned || f.size != size) {
			// Not ours to share: wait for it to end, then look again.
			s.mu.Unlock()
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return fmt.Errorf("content: ingest %s: %w", dgst, ctx.Err())
			}
		}
		if f == nil {
			f = s.start(ctx, dgst, size, fetch)
		}
		f.waiters++
		s.mu.Unlock()
		return s.wait(ctx, dgst, f, progress)
	}
}

// flight is one fetch of a digest, shared by the Ingests that asked for it
// with the same size. At most one flight per digest exists at a time.
type flight struct {
	size   int64
	done   chan struct{}
	err    error // written before done is closed
	cancel context.CancelFunc

	// Guarded by Store.mu.
	waiters   int
	abandoned bool // every waiter left; the fetch is being cancelled

	pmu      sync.Mutex // guards the fields below; held while calling progress
	nextID   int
	progress map[int]func(int64)
}

// start registers and launches a flight; s.mu is held.
func (s *Store) start(ctx context.Context, dgst digest.Digest, size int64, fetch func(context.Context) (io.ReadCloser, error)) *flight {
	// The fetch outlives the first caller's cancellation (others may still
	// wait) but keeps its values.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{size: size, done: make(chan struct{}), cancel: cancel, progress: make(map[int]func(int64))}
	s.flights[dgst] = f
	go func() {
		err := s.ingest(fctx, dgst, size, fetch, f.report)
		cancel()
		s.mu.Lock()
		delete(s.flights, dgst)
		s.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	return f
}

// wait waits for the flight or for ctx; f.waiters already counts the caller.
func (s *Store) wait(ctx context.Context, dgst digest.Digest, f *flight, progress func(int64)) error {
	id := f.watch(progress)
	select {
	case <-f.done:
		return f.err // the last progress call happened before done closed
	case <-ctx.Done():
	}
	f.unwatch(id) // returns only once no call of progress is running
	s.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		f.abandoned = true
		f.cancel()
	}
	s.mu.Unlock()
	return fmt.Errorf("content: ingest %s: %w", dgst, ctx.Err())
}

func (f *flight) watch(progress func(int64)) int {
	if progress == nil {
		return -1
	}
	f.pmu.Lock()
	defer f.pmu.Unlock()
	f.nextID++
	f.progress[f.nextID] = progress
	return f.nextID
}

func (f *flight) unwatch(id int) {
	f.pmu.Lock()
	delete(f.progress, id)
	f.pmu.Unlock()
}

func (f *flight) report(n int64) {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	ids := make([]int, 0, len(f.progress))
	for id := range f.progress {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		f.progress[id](n)
	}
}

// refresh reports whether dgst is committed and, if so, stamps its commit
// time with now — under gcMu, so a GC that judged it old cannot remove it
// after the refresh. A committed blob of another size than a known size is
// an ErrSizeMismatch.
func (s *Store) refresh(dgst digest.Digest, size int64) (bool, error) {
	s.gcMu.RLock()
	defer s.gcMu.RUnlock()
	fi, err := s.stat(dgst)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if size >= 0 && fi.Size() != size {
		return true, fmt.Errorf("%w: %s: the committed blob has %d bytes, want %d", ErrWrongSize, dgst, fi.Size(), size)
	}
	now := s.clock.Now()
	if err := os.Chtimes(s.blobPath(dgst), now, now); err != nil {
		return false, fmt.Errorf("content: %s: refresh commit time: %w", dgst, err)
	}
	return true, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferBytes); return &b }}

// ingest runs the commit protocol for one flight.
func (s *Store) ingest(ctx context.Context, dgst digest.Digest, size int64, fetch func(context.Context) (io.ReadCloser, error), report func(int64)) error {
	// A flight that ended just before this one started may have committed.
	if ok, err := s.refresh(dgst, size); ok || err != nil {
		return err
	}
	rc, err := fetch(ctx)
	if err != nil {
		return fmt.Errorf("content: ingest %s: fetch: %w", dgst, err)
	}
	if rc == nil {
		return fmt.Errorf("content: ingest %s: fetch returned no reader", dgst)
	}
	defer rc.Close()

	tmp, name, err := s.newTemp(dgst)
	if err != nil {
		return fmt.Errorf("content: ingest %s: %w", dgst, err)
	}
	path := filepath.Join(s.ingestDir(), name)
	committed, closed := false, false
	defer func() {
		if !closed {
			_ = tmp.Close()
		}
		if !committed {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("cannot remove ingest file; gc will", "path", path, "err", err)
			}
		}
		s.untrack(name)
	}()

	limit := size + 1 // one byte more than wanted shows a long body
	if size < 0 {
		limit = s.maxBlob + 1
	}
	hw := &hashWriter{w: tmp, h: dgst.Algorithm().Hash(), report: report, writeback: writeback(tmp)}
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(hw, io.LimitReader(ctxReader{ctx, rc}, limit), *buf)
	bufPool.Put(buf)
	switch {
	case hw.err != nil || errors.Is(err, io.ErrShortWrite):
		return fmt.Errorf("content: ingest %s: after %d bytes: %w", dgst, n, cmp.Or(hw.err, err))
	case err != nil:
		return fmt.Errorf("content: ingest %s: read after %d bytes: %w", dgst, n, err)
	case size >= 0 && n > size:
		return fmt.Errorf("%w: %s: got more than %d bytes, want %d", ErrWrongSize, dgst, size, size)
	case size >= 0 && n < size:
		return fmt.Errorf("%w: %s: got %d bytes, want %d", ErrSizeMismatch, dgst, n, size)
	case n > s.maxBlob:
		return fmt.Errorf("%w: %s: more than %d bytes, the limit", ErrTooLarge, dgst, s.maxBlob)
	}
	if got := digest.NewDigest(dgst.Algorithm(), hw.h); got != dgst {
		return fmt.Errorf("%w: %s: got %s (%d bytes)", ErrDigestMismatch, dgst, got, n)
	}
	s.step("written")

	// Read-only and stamped before the rename, so the blob appears with its
	// final mode and commit time; fsync makes data and inode durable before
	// the name is.
	if err := tmp.Chmod(blobMode); err != nil {
		return fmt.Errorf("content: ingest %s: %w", dgst, err)
	}
	now := s.clock.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		return fmt.Errorf("content: ingest %s: %w", dgst, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("content: ingest %s: fsync %s: %w", dgst, path, err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("content: ingest %s: close %s: %w", dgst, path, err)
	}
	s.step("synced")

	s.gcMu.RLock()
	err = os.Rename(path, s.blobPath(dgst))
	if err == nil {
		committed = true
		s.step("renamed")
		err = syncDir(s.blobDir(dgst.Algorithm()))
	}
	s.gcMu.RUnlock()
	if err != nil {
		// After a failed directory fsync the blob is visible and verified,
		// but its name may not survive a power loss: not acknowledged.
		return fmt.Errorf("content: ingest %s: commit: %w", dgst, err)
	}
	s.step("committed")
	s.log.Debug("blob committed", "digest", dgst, "size", n)
	return nil
}

// newTemp creates a new ingest file, registered as active before it exists
// so that GC never mistakes it for a stale one.
func (s *Store) newTemp(dgst digest.Digest) (tempFile, string, error) {
	for range 8 {
		name := fmt.Sprintf("%s-%s-%016x", dgst.Algorithm(), dgst.Encoded(), rand.Uint64())
		s.mu.Lock()
		s.active[name] = true
		s.mu.Unlock()
		f, err := s.createTemp(filepath.Join(s.ingestDir(), name))
		if err == nil {
			return f, name, nil
		}
		s.untrack(name)
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", err
		}
	}
	return nil, "", errors.New("cannot create a unique ingest file")
}

func (s *Store) untrack(name string) {
	s.mu.Lock()
	delete(s.active, name)
	s.mu.Unlock()
}

// hashWriter hashes exactly the bytes its writer accepted, so the digest is
// computed while the blob streams to disk, without a second read.
type hashWriter struct {
	w      io.Writer
	h      hash.Hash
	n      int64
	err    error // the writer's error, told apart from the reader's
	report func(int64)
	// writeback, if set, starts writing [off, off+n) to disk without
	// waiting; it is called every writebackBytes, so that the disk works
	// while the blob streams in and the final fsync has little left to do.
	writeback func(off, n int64)
	started   int64
}

// writebackBytes is how much a blob may have dirty in the page cache before
// its writeback is started.
const writebackBytes = 8 << 20

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	if n > 0 && hw.report != nil {
		hw.report(hw.n)
	}
	if hw.writeback != nil && hw.n-hw.started >= writebackBytes {
		hw.writeback(hw.started, hw.n-hw.started)
		hw.started = hw.n
	}
	if err != nil {
		hw.err = err
	}
	return n, err
}

// ctxReader ends a copy when ctx ends, even if the fetched reader ignores it.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
