package content

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rolepull/rolepull/internal/leakcheck"
)

// TestIngestDiskFullTmpfs fills a real 4 MiB tmpfs. It needs the right to
// mount; where that is missing (CI containers) it skips, and
// TestIngestDiskFull covers ENOSPC through the seam.
func TestIngestDiskFullTmpfs(t *testing.T) {
	leakcheck.Start(t)
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=4m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); TestIngestDiskFull injects ENOSPC instead", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	s := openAt(t, dir, newMeta(t), Options{}) // closed before the unmount
	ctx := t.Context()

	small, _ := randomBlob(1<<20, 40)
	earlier := mustIngest(t, s, small)
	huge, hugeD := randomBlob(8<<20, 41)
	err := s.Ingest(ctx, hugeD, int64(len(huge)), bytesFetch(huge), nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Ingest(8 MiB) on a 4 MiB tmpfs = %v, want an error wrapping ENOSPC", err)
	}
	t.Logf("Ingest on a full tmpfs: %v", err)
	if names := listDir(t, s.ingestDir()); len(names) != 0 {
		t.Errorf("ingest/ after ENOSPC = %q, want empty", names)
	}
	if ok, _ := s.Has(ctx, hugeD); ok {
		t.Errorf("Has(%s) = true after ENOSPC", hugeD)
	}
	if bad, err := s.Verify(ctx, false); len(bad) != 0 || err != nil {
		t.Errorf("Verify() after ENOSPC = %v, %v, want %s intact", bad, err, earlier)
	}
	// The space went back: another blob fits.
	more, _ := randomBlob(1<<20, 42)
	mustIngest(t, s, more)
}
