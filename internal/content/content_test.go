package content

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

func TestIngestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		unknown bool // ingest with size -1
		alg     digest.Algorithm
	}{
		{"empty", 0, false, digest.SHA256},
		{"empty unknown size", 0, true, digest.SHA256},
		{"one byte", 1, false, digest.SHA256},
		{"over one buffer", copyBufferBytes + 7, false, digest.SHA256},
		{"several buffers unknown size", 3*copyBufferBytes + 1, true, digest.SHA256},
		{"sha512", 4096, false, digest.SHA512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, Options{})
			ctx := t.Context()
			b, _ := randomBlob(tc.size, uint64(tc.size))
			d := tc.alg.FromBytes(b)
			size := int64(tc.size)
			if tc.unknown {
				size = -1
			}
			if err := s.Ingest(ctx, d, size, bytesFetch(b), nil); err != nil {
				t.Fatalf("Ingest(%s, %d) = %v", d, size, err)
			}
			if ok, err := s.Has(ctx, d); !ok || err != nil {
				t.Errorf("Has(%s) = %v, %v, want true", d, ok, err)
			}
			if n, err := s.Size(ctx, d); n != int64(tc.size) || err != nil {
				t.Errorf("Size(%s) = %d, %v, want %d", d, n, err, tc.size)
			}
			rc, err := s.Open(ctx, d)
			if err != nil {
				t.Fatalf("Open(%s) = %v", d, err)
			}
			got, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("Open(%s) read %d bytes (err %v), want the %d ingested", d, len(got), err, len(b))
			}
			want := filepath.Join(s.dir, "blobs", string(tc.alg), d.Encoded())
			if p := s.Path(d); p != want {
				t.Errorf("Path(%s) = %q, want %q", d, p, want)
			}
			fi, err := os.Stat(want)
			if err != nil || fi.Mode().Perm() != blobMode || !fi.ModTime().Equal(epoch) {
				t.Errorf("blob file: %v (err %v), want mode %v and mtime %v", fi, err, os.FileMode(blobMode), epoch)
			}
			if names := listDir(t, s.ingestDir()); len(names) != 0 {
				t.Errorf("ingest/ = %q, want empty", names)
			}
			if u, err := s.Usage(ctx); u != int64(tc.size) || err != nil {
				t.Errorf("Usage() = %d, %v, want %d", u, err, tc.size)
			}
		})
	}
}

var errBoom = errors.New("boom")

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestIngestRejects(t *testing.T) {
	const max = 4 << 20
	b, d := randomBlob(300_000, 1)
	big, bigD := randomBlob(max+1, 2)
	for _, tc := range []struct {
		name      string
		dgst      digest.Digest
		size      int64
		body      []byte // served when fetch is nil
		fetch     func(context.Context) (io.ReadCloser, error)
		want      error
		wantMsg   string
		noFetches bool
	}{
		{name: "wrong digest", dgst: digest.FromString("other"), size: int64(len(b)), body: b,
			want: ErrDigestMismatch, wantMsg: "got " + string(d)},
		{name: "wrong digest unknown size", dgst: digest.FromString("other"), size: -1, body: b, want: ErrDigestMismatch},
		{name: "short body", dgst: d, size: int64(len(b)), body: b[:len(b)-10],
			want: ErrSizeMismatch, wantMsg: "got 299990 bytes, want 300000"},
		{name: "long body", dgst: d, size: int64(len(b)), body: append(append([]byte{}, b...), 1, 2, 3),
			want: ErrSizeMismatch, wantMsg: "got more than 300000 bytes"},
		{name: "long body unknown size", dgst: d, size: -1, body: append(append([]byte{}, b...), 1), want: ErrDigestMismatch},
		{name: "empty body, non-empty digest", dgst: d, size: 0, body: nil, want: ErrDigestMismatch},
		{name: "known size over the limit", dgst: bigD, size: max + 1, body: big, want: ErrTooLarge, noFetches: true},
		{name: "unknown size over the limit", dgst: bigD, size: -1, body: big, want: ErrTooLarge},
		{name: "fetch error", dgst: d, size: int64(len(b)), want: errBoom,
			fetch: func(context.Context) (io.ReadCloser, error) { return nil, errBoom }},
		{name: "read error mid-stream", dgst: d, size: int64(len(b)), want: errBoom, wantMsg: "read after 100000 bytes",
			fetch: func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(&failingReader{n: 100_000, err: errBoom}), nil
			}},
		{name: "negative size", dgst: d, size: -2, body: b, wantMsg: "invalid size -2", noFetches: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, Options{MaxBlobBytes: max})
			var fetches atomic.Int32
			fetch := tc.fetch
			if fetch == nil {
				fetch = bytesFetch(tc.body)
			}
			counted := func(ctx context.Context) (io.ReadCloser, error) {
				fetches.Add(1)
				return fetch(ctx)
			}
			err := s.Ingest(t.Context(), tc.dgst, tc.size, counted, nil)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Ingest(%s, %d) = %v, want %v containing %q", tc.dgst, tc.size, err, tc.want, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), string(tc.dgst)) {
				t.Errorf("Ingest error %q does not name the digest", err)
			}
			if tc.noFetches && fetches.Load() != 0 {
				t.Errorf("fetch called %d times, want 0", fetches.Load())
			}
			if ok, _ := s.Has(t.Context(), tc.dgst); ok {
				t.Errorf("Has(%s) = true after a failed Ingest", tc.dgst)
			}
			if names := listDir(t, s.ingestDir()); len(names) != 0 {
				t.Errorf("ingest/ = %q, want empty", names)
			}
			if names := blobNames(t, s); len(names) != 0 {
				t.Errorf("blobs/sha256 = %q, want empty", names)
			}
		})
	}
}

func TestInvalidDigests(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{
		"",
		"sha256",
		"sha256:",
		":" + hex,
		"sha256:../../x",
		"sha256:../../" + hex[:58],
		"sha256:" + strings.ToUpper(hex),
		"SHA256:" + hex,
		"sha256:" + hex[:63],
		"sha256:" + hex + "a",
		"sha256:" + hex[:62] + "/a",
		"sha256:" + hex + "\x00",
		"sha256:" + hex + "\n",
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha384:" + strings.Repeat("ab", 48), // valid, but not accepted
		"../blobs:" + hex,
	} {
		t.Run(in, func(t *testing.T) {
			s, _ := newStore(t, Options{})
			ctx := t.Context()
			d := digest.Digest(in)
			before := tree(t, s.dir)
			fetched := false
			fetch := func(context.Context) (io.ReadCloser, error) {
				fetched = true
				return io.NopCloser(strings.NewReader("x")), nil
			}
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, ErrInvalidDigest) {
					t.Errorf("%s(%q) = %v, want ErrInvalidDigest", op, in, err)
				}
			}
			_, err := s.Has(ctx, d)
			check("Has", err)
			_, err = s.Size(ctx, d)
			check("Size", err)
			_, err = s.Open(ctx, d)
			check("Open", err)
			check("Ingest", s.Ingest(ctx, d, 1, fetch, nil))
			check("Ingest unknown size", s.Ingest(ctx, d, -1, fetch, nil))
			check("Pin", s.Pin(ctx, "pod", []digest.Digest{digest.FromString("ok"), d}))
			if p := s.Path(d); p != "" {
				t.Errorf("Path(%q) = %q, want \"\"", in, p)
			}
			if fetched {
				t.Errorf("fetch called for %q", in)
			}
			if diff := cmp.Diff(before, tree(t, s.dir)); diff != "" {
				t.Errorf("the store directory changed (-before +after):\n%s", diff)
			}
			if pins, err := s.Pins(ctx, "pod"); len(pins) != 0 || err != nil {
				t.Errorf("Pins(pod) = %v, %v, want none", pins, err)
			}
		})
	}
}

func TestOpenRecovers(t *testing.T) {
	dir, meta := t.TempDir(), newMeta(t)
	s := openAt(t, dir, meta, Options{})
	good := mustIngest(t, s, []byte("a committed blob"))
	empty := mustIngest(t, s, nil)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	// What a crashed process and a power loss leave behind.
	zero := digest.FromString("a blob whose bytes never reached the disk")
	plant := map[string]string{
		"ingest/sha256-partial-0123456789abcdef": "half a layer",
		"ingest/subdir/junk":                     "x",
		"blobs/sha256/" + zero.Encoded():         "",
		"blobs/sha256/not-a-digest":              "left alone",
	}
	for name, body := range plant {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s = openAt(t, dir, meta, Options{})
	if names := listDir(t, s.ingestDir()); len(names) != 0 {
		t.Errorf("ingest/ after Open = %q, want empty", names)
	}
	ctx := t.Context()
	for d, want := range map[digest.Digest]bool{good: true, empty: true, zero: false} {
		if ok, err := s.Has(ctx, d); ok != want || err != nil {
			t.Errorf("Has(%s) = %v, %v, want %v", d, ok, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs/sha256", zero.Encoded())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the zero-byte blob file survived Open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs/sha256/not-a-digest")); err != nil {
		t.Errorf("Open removed a foreign file: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir, meta := t.TempDir(), newMeta(t)
	s := openAt(t, dir, meta, Options{})
	if _, err := Open(dir, meta, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open(%q) = %v, want ErrLocked", dir, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	openAt(t, dir, meta, Options{})
}

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"negative MaxBlobBytes", Options{MaxBlobBytes: -1}},
		{"negative GCGrace", Options{GCGrace: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Open(t.TempDir(), newMeta(t), tc.opts); err == nil {
				t.Errorf("Open(%+v) = nil error, want one", tc.opts)
			}
		})
	}
	if _, err := Open(t.TempDir(), nil, Options{}); err == nil {
		t.Errorf("Open(nil meta) = nil error, want one")
	}
}

func TestIngestPresent(t *testing.T) {
	s, clk := newStore(t, Options{})
	ctx := t.Context()
	b := []byte("present")
	d := mustIngest(t, s, b)
	clk.Advance(time.Hour)
	noFetch := func(context.Context) (io.ReadCloser, error) {
		t.Errorf("fetch called for a present blob")
		return nil, errBoom
	}
	for _, size := range []int64{int64(len(b)), -1} {
		if err := s.Ingest(ctx, d, size, noFetch, nil); err != nil {
			t.Errorf("Ingest(%s, %d) of a present blob = %v", d, size, err)
		}
	}
	fi, err := os.Stat(s.Path(d))
	if err != nil || !fi.ModTime().Equal(clk.Now()) {
		t.Errorf("commit time after Ingest of a present blob = %v (err %v), want %v", fi.ModTime(), err, clk.Now())
	}
	err = s.Ingest(ctx, d, int64(len(b))+1, noFetch, nil)
	if !errors.Is(err, ErrSizeMismatch) || !strings.Contains(err.Error(), "has 7 bytes, want 8") {
		t.Errorf("Ingest(%s, wrong size) = %v, want ErrSizeMismatch", d, err)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	d := digest.FromString("absent")
	if ok, err := s.Has(ctx, d); ok || err != nil {
		t.Errorf("Has(%s) = %v, %v, want false, nil", d, ok, err)
	}
	if _, err := s.Size(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Size(%s) = %v, want ErrNotFound", d, err)
	}
	if _, err := s.Open(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(%s) = %v, want ErrNotFound", d, err)
	}
}

func TestClose(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	b, d := randomBlob(copyBufferBytes, 50)
	g := newGatedFetch(b)
	done := make(chan error, 1)
	go func() { done <- s.Ingest(ctx, d, int64(len(b)), g.fetch, nil) }()
	waitFor(t, "the flight", func() bool { return s.waiters(d) == 1 })

	if err := s.Close(); err != nil { // cancels the fetch and waits for it
		t.Fatalf("Close() = %v", err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Ingest interrupted by Close = %v, want context.Canceled", err)
	}
	if names := listDir(t, s.ingestDir()); len(names) != 0 {
		t.Errorf("ingest/ after Close = %q, want empty", names)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if err := s.Ingest(ctx, d, int64(len(b)), bytesFetch(b), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Ingest after Close = %v, want ErrClosed", err)
	}
	if _, err := s.GC(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("GC after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Verify(ctx, true); !errors.Is(err, ErrClosed) {
		t.Errorf("Verify after Close = %v, want ErrClosed", err)
	}
}

func TestIngestNilReader(t *testing.T) {
	s, _ := newStore(t, Options{})
	d := digest.FromString("x")
	err := s.Ingest(t.Context(), d, 1, func(context.Context) (io.ReadCloser, error) { return nil, nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "no reader") {
		t.Errorf("Ingest with a fetch returning nil, nil = %v, want an error", err)
	}
	if err := s.Ingest(t.Context(), d, 1, nil, nil); err == nil {
		t.Errorf("Ingest(nil fetch) = nil error, want one")
	}
}
