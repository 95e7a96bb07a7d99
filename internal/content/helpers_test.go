package content

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/store"
	"github.com/rolepull/rolepull/internal/store/bolt"
)

// epoch is where fake clocks start.
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newMeta returns a real metadata store in a temporary directory.
func newMeta(t testing.TB) store.Store {
	t.Helper()
	m, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.Open() = %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// newStore opens a Store in a new directory with a fake clock.
func newStore(t testing.TB, opts Options) (*Store, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(epoch)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	return openAt(t, t.TempDir(), newMeta(t), opts), clk
}

func openAt(t testing.TB, dir string, meta store.Store, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, meta, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// randomBlob returns n deterministic pseudo-random bytes and their digest.
func randomBlob(n int, seed uint64) ([]byte, digest.Digest) {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seedBytes(seed)).Read(b)
	return b, digest.FromBytes(b)
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// onlyReader hides every method but Read, so copies go through the buffer
// in chunks, as they do from a network body.
type onlyReader struct{ io.Reader }

// bytesFetch returns a fetch serving b.
func bytesFetch(b []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(onlyReader{bytes.NewReader(b)}), nil
	}
}

// mustIngest ingests b under its digest and returns the digest.
func mustIngest(t testing.TB, s *Store, b []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	if err := s.Ingest(t.Context(), d, int64(len(b)), bytesFetch(b), nil); err != nil {
		t.Fatalf("Ingest(%s) = %v", d, err)
	}
	return d
}

// listDir returns the names in dir, sorted.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%q) = %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tree describes every file under dir: relative path → mode and size.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = fmt.Sprintf("%v %d", fi.Mode(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// blobNames lists the committed sha256 blobs as digests.
func blobNames(t testing.TB, s *Store) []digest.Digest {
	t.Helper()
	var ds []digest.Digest
	for _, n := range listDir(t, s.blobDir(digest.SHA256)) {
		ds = append(ds, digest.NewDigestFromEncoded(digest.SHA256, n))
	}
	slices.Sort(ds)
	return ds
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o600) }
