package content

import (
	"io"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

// corrupt rewrites part of a committed blob the way bit rot or a torn
// write would, keeping its mode.
func corrupt(t *testing.T, path string, edit func(f *os.File) error) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := edit(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, blobMode); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	bigBlob, _ := randomBlob(2*copyBufferBytes+3, 20)
	good := mustIngest(t, s, bigBlob)
	empty := mustIngest(t, s, nil)
	flippedBlob, _ := randomBlob(70_000, 21)
	flipped := mustIngest(t, s, flippedBlob)
	truncated := mustIngest(t, s, []byte("this blob will lose its bytes"))
	sha512Blob := []byte("sha512 blob")
	bad512 := digest.SHA512.FromBytes(sha512Blob)
	if err := s.Ingest(ctx, bad512, int64(len(sha512Blob)), bytesFetch(sha512Blob), nil); err != nil {
		t.Fatal(err)
	}

	corrupt(t, s.Path(flipped), func(f *os.File) error {
		_, err := f.WriteAt([]byte{flippedBlob[12345] ^ 1}, 12345)
		return err
	})
	corrupt(t, s.Path(truncated), func(f *os.File) error { return f.Truncate(0) })
	corrupt(t, s.Path(bad512), func(f *os.File) error { _, err := f.WriteAt([]byte("S"), 0); return err })

	want := []digest.Digest{flipped, truncated}
	slices.Sort(want)
	want = append(want, bad512) // sha256 blobs first, then sha512

	bad, err := s.Verify(ctx, false)
	if err != nil || !cmp.Equal(bad, want) {
		t.Fatalf("Verify(false) = %v, %v, want %v", bad, err, want)
	}
	if _, err := os.Stat(s.Path(flipped)); err != nil {
		t.Errorf("Verify(false) removed %s: %v", flipped, err)
	}
	if ok, _ := s.Has(ctx, truncated); ok {
		t.Errorf("Has(%s) = true for a blob truncated to zero bytes", truncated)
	}

	bad, err = s.Verify(ctx, true)
	if err != nil || !cmp.Equal(bad, want) {
		t.Fatalf("Verify(true) = %v, %v, want %v", bad, err, want)
	}
	for d, present := range map[digest.Digest]bool{good: true, empty: true, flipped: false, truncated: false, bad512: false} {
		if ok, err := s.Has(ctx, d); ok != present || err != nil {
			t.Errorf("Has(%s) after repair = %v, %v, want %v", d, ok, err, present)
		}
	}
	if bad, err := s.Verify(ctx, false); len(bad) != 0 || err != nil {
		t.Errorf("Verify() after repair = %v, %v, want nothing", bad, err)
	}

	// The next Ingest fetches the removed blob again.
	if err := s.Ingest(ctx, flipped, int64(len(flippedBlob)), bytesFetch(flippedBlob), nil); err != nil {
		t.Fatalf("Ingest(%s) after repair = %v", flipped, err)
	}
	rc, err := s.Open(ctx, flipped)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); digest.FromBytes(got) != flipped {
		t.Errorf("re-ingested %s reads back as %s", flipped, digest.FromBytes(got))
	}
}
