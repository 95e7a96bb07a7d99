package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
)

// GC removes the committed blobs that no owner pins and that were committed
// (or last asked for by Ingest) at least Options.GCGrace ago, and the files
// in ingest/ that no Ingest of this Store is writing. It returns what it
// removed; on an error it may have removed part of it.
//
// Why GC never removes a blob it must keep, while Ingest and Pin run:
//
//  1. GC decides in two phases. Phase 1 lists blob files and proposes the
//     old ones, without any lock; it removes nothing. Phase 2 holds gcMu
//     exclusively, reads every owner's pins afresh from the metadata store,
//     then re-stats each candidate and removes it only if it is still
//     unpinned, still old and still the same kind of file. Phase 1's view
//     never decides anything, so whatever changed after it is seen by
//     phase 2.
//  2. Every act that makes a blob live holds gcMu shared: the rename that
//     commits a blob (its commit time is stamped before the rename), Ingest's
//     refresh of a blob already present (stat, then stamp the commit time to
//     now), and Pin's metadata transaction. Each of them therefore happens
//     wholly before or wholly after a phase 2.
//  3. A Pin that lands "mid-GC" lands before phase 2 — phase 2's fresh read
//     of the pins sees it and keeps the blob — or after it, when GC has
//     finished: the blob was then either kept, or removed while it was old,
//     unpinned and not asked for, that is, garbage at that moment; pinning an
//     absent digest is allowed and the next Ingest fetches it again.
//  4. An Ingest that commits a blob after phase 1 listed the directory makes
//     a file phase 1 never proposed, or (over an untrusted empty file) one
//     whose fresh commit time phase 2's re-stat sees. An Ingest of a blob
//     already present refreshes it before phase 2 (the re-stat sees it
//     young) or after (GC removed it, the refresh finds nothing and Ingest
//     fetches it again). So when Ingest returns nil the blob is present and
//     young, and it stays so for GCGrace, by which time the caller has
//     pinned it; a caller that may need longer pins first, then ingests —
//     a pin protects a blob whatever its age.
//  5. An ingest file is registered as active before it is created and
//     unregistered only after it was removed or renamed, so a file in
//     ingest/ that is not registered is not being written.
//  6. No other process writes the directory: Open holds an exclusive flock.
//     Pins written to the metadata store other than through this Store are
//     not ordered by gcMu and are protected only by the grace period.
//
// Ages are measured on Options.Clock against the commit time Ingest stamps
// with the same clock; a clock that jumps forward by more than GCGrace
// shortens the window between Ingest and Pin accordingly.
func (s *Store) GC(ctx context.Context) (GCStats, error) {
	var st GCStats
	if err := s.checkOpen(); err != nil {
		return st, fmt.Errorf("content: gc: %w", err)
	}
	if err := s.gcIngest(ctx, &st); err != nil {
		return st, err
	}

	type candidate struct {
		dgst digest.Digest
		path string
	}
	var cands []candidate
	now := s.clock.Now()
	err := s.walkBlobs(func(d digest.Digest, path string, fi fs.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !trusted(d, fi) || s.old(now, fi) {
			cands = append(cands, candidate{d, path})
		}
		return nil
	})
	if err != nil || len(cands) == 0 {
		return st, err
	}
	s.step("gc-scanned")

	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	pinned, err := s.allPins(ctx)
	if err != nil {
		return st, err
	}
	now = s.clock.Now()
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		fi, err := os.Lstat(c.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return st, fmt.Errorf("content: gc: %s: %w", c.dgst, err)
		}
		if trusted(c.dgst, fi) && (pinned[c.dgst] || !s.old(now, fi)) {
			continue
		}
		s.step("gc-remove")
		if err := os.RemoveAll(c.path); err != nil {
			return st, fmt.Errorf("content: gc: %s: %w", c.dgst, err)
		}
		st.BlobsRemoved++
		st.BytesRemoved += fi.Size()
	}
	if st.BlobsRemoved > 0 || st.IngestRemoved > 0 {
		s.log.Info("gc removed content", "blobs", st.BlobsRemoved, "bytes", st.BytesRemoved, "ingest_files", st.IngestRemoved)
	}
	return st, nil
}

// old reports whether a blob file's commit time is GCGrace or more before now.
func (s *Store) old(now time.Time, fi fs.FileInfo) bool {
	return now.Sub(fi.ModTime()) >= s.grace
}

// gcIngest removes the ingest files no Ingest is writing: ones whose
// removal failed after an error, or anything else that appeared there.
// Files a previous process left were already removed by Open.
func (s *Store) gcIngest(ctx context.Context, st *GCStats) error {
	entries, err := os.ReadDir(s.ingestDir())
	if err != nil {
		return fmt.Errorf("content: gc: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		active := s.active[e.Name()]
		s.mu.Unlock()
		if active {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.ingestDir(), e.Name())); err != nil {
			return fmt.Errorf("content: gc: remove stale ingest file: %w", err)
		}
		st.IngestRemoved++
	}
	return nil
}

// Verify re-hashes every committed blob and returns, sorted, the digests
// whose bytes do not hash to them (or whose file is not trusted, such as an
// empty one). With repair it also removes them, so the next Ingest fetches
// them again. Files in blobs/ whose names are not digests are left alone
// (Open logs them).
func (s *Store) Verify(ctx context.Context, repair bool) ([]digest.Digest, error) {
	if err := s.checkOpen(); err != nil {
		return nil, fmt.Errorf("content: verify: %w", err)
	}
	var bad []digest.Digest
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	err := s.walkBlobs(func(d digest.Digest, path string, fi fs.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok := false
		if trusted(d, fi) {
			var err error
			if ok, fi, err = s.rehash(ctx, d, path, *buf); err != nil {
				return err
			}
		}
		if ok {
			return nil
		}
		if repair {
			removed, err := s.removeIf(d, path, fi)
			if err != nil {
				return err
			}
			if !removed {
				return nil // replaced by a new commit since it was hashed
			}
		}
		s.log.Warn("blob does not match its digest", "digest", d, "removed", repair)
		bad = append(bad, d)
		return nil
	})
	return bad, err
}

// rehash reports whether the file at path holds the blob d; fi is the
// file's info (nil if it vanished, which counts as fine).
func (s *Store) rehash(ctx context.Context, d digest.Digest, path string, buf []byte) (bool, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("content: verify %s: %w", d, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, nil, fmt.Errorf("content: verify %s: %w", d, err)
	}
	if !trusted(d, fi) {
		return false, fi, nil
	}
	h := d.Algorithm().Hash()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, buf); err != nil {
		return false, nil, fmt.Errorf("content: verify %s: %w", d, err)
	}
	return digest.NewDigest(d.Algorithm(), h) == d, fi, nil
}

// removeIf removes path if it is still the file fi, under gcMu so that no
// commit replaces it in between.
func (s *Store) removeIf(d digest.Digest, path string, fi fs.FileInfo) (bool, error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	cur, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("content: verify %s: %w", d, err)
	}
	if !os.SameFile(cur, fi) {
		return false, nil
	}
	if err := os.RemoveAll(path); err != nil {
		return false, fmt.Errorf("content: verify %s: remove: %w", d, err)
	}
	return true, nil
}
