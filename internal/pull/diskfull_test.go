package pull

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// A full disk while storing a blob is a failure that says so and what to
// do (reliability.md §4: "a clear status") — not "the registry is
// unreachable", which it was while a syscall.Errno passed for a net.Error —
// and is not fetched again at once.
func TestDiskFullIsNamed(t *testing.T) {
	p := &Puller{}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := fmt.Errorf("content: ingest sha256:ab: %w", &os.PathError{Op: "write", Path: "/data/content/ingest/x", Err: errno})
		f := p.classifyKind(Plan{Image: "reg/ns/app:1"}, err)
		if f.Kind != Internal || !strings.Contains(f.Msg, "disk is full") || !strings.Contains(f.Fix, "free space") {
			t.Errorf("%v: %s, want Internal saying the disk is full and to free space", errno, f)
		}
		if transient(err) {
			t.Errorf("%v is retried as if the network had failed", errno)
		}
	}
}
