package content

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkIngest256MiB ingests a 256 MiB blob from memory, next to the two
// physical limits it combines: hashing the bytes, and writing and fsyncing
// them through the same 1 MiB buffer.
func BenchmarkIngest256MiB(b *testing.B) {
	const size = 256 << 20
	blob, d := randomBlob(size, 256)

	b.Run("ingest", func(b *testing.B) {
		s, _ := newStore(b, Options{})
		b.SetBytes(size)
		for b.Loop() {
			if err := s.Ingest(b.Context(), d, size, bytesFetch(blob), nil); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := os.Remove(s.Path(d)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})

	b.Run("sha256 only", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			h := sha256.New()
			_, _ = io.CopyBuffer(h, onlyReader{bytes.NewReader(blob)}, make([]byte, copyBufferBytes))
			h.Sum(nil)
		}
	})

	b.Run("write and fsync only", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "f")
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(struct{ io.Writer }{f}, onlyReader{bytes.NewReader(blob)}, make([]byte, copyBufferBytes)); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
			b.StopTimer()
			_ = os.Remove(path)
			b.StartTimer()
		}
	})
}
