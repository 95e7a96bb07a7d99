package content

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rolepull/rolepull/internal/leakcheck"
)

// fullDisk is an ingest file on a disk that fills up after left bytes, or
// whose fsync fails, as on filesystems that report a full disk late.
type fullDisk struct {
	*os.File
	left      int
	failFsync bool
}

func (f *fullDisk) Write(p []byte) (int, error) {
	n := min(len(p), f.left)
	n, err := f.File.Write(p[:n])
	f.left -= n
	if err == nil && n < len(p) {
		err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *fullDisk) Sync() error {
	if f.failFsync {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Sync()
}

// envInt reads a positive count from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestIngestDiskFull injects ENOSPC at random offsets through the
// createTemp seam (ROLEPULL_ENOSPC_RUNS sets how many; default 25).
func TestIngestDiskFull(t *testing.T) {
	leakcheck.Start(t)
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	earlier1 := mustIngest(t, s, []byte("an earlier blob"))
	b0, _ := randomBlob(copyBufferBytes+1, 30)
	earlier2 := mustIngest(t, s, b0)
	before := tree(t, s.dir)

	b, d := randomBlob(4*copyBufferBytes+17, 31)
	type fault struct {
		name   string
		create func(path string) (tempFile, error)
	}
	faults := []fault{
		{"create fails", func(string) (tempFile, error) {
			return nil, &os.PathError{Op: "open", Path: "x", Err: syscall.ENOSPC}
		}},
		{"fsync fails", func(path string) (tempFile, error) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tempMode)
			return &fullDisk{File: f, left: len(b), failFsync: true}, err
		}},
	}
	runs := envInt(t, "ROLEPULL_ENOSPC_RUNS", 25)
	for i := range runs {
		off := rand.IntN(len(b)) // full after off bytes, 0 ≤ off < len(b)
		if i == 0 {
			off = 0
		}
		faults = append(faults, fault{"write fails after " + strconv.Itoa(off) + " bytes", func(path string) (tempFile, error) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tempMode)
			return &fullDisk{File: f, left: off}, err
		}})
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			s.createTemp = tc.create
			err := s.Ingest(ctx, d, int64(len(b)), bytesFetch(b), nil)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), string(d)) {
				t.Fatalf("Ingest(%s) on a full disk = %v, want an error naming the digest and wrapping ENOSPC", d, err)
			}
			if ok, _ := s.Has(ctx, d); ok {
				t.Errorf("Has(%s) = true after ENOSPC", d)
			}
			if diff := cmp.Diff(before, tree(t, s.dir)); diff != "" {
				t.Errorf("ENOSPC left the store changed (-before +after):\n%s", diff)
			}
		})
	}

	s.createTemp = createTemp
	if bad, err := s.Verify(ctx, false); len(bad) != 0 || err != nil {
		t.Errorf("Verify() after ENOSPC = %v, %v, want earlier blobs %s, %s intact", bad, err, earlier1, earlier2)
	}
	if err := s.Ingest(ctx, d, int64(len(b)), bytesFetch(b), nil); err != nil {
		t.Errorf("Ingest(%s) once space is back = %v", d, err)
	}
}
