package bolt

import (
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rolepull/rolepull/internal/store"
	"github.com/rolepull/rolepull/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "store.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("Open(%q) = %v", path, err)
		}
		return s
	})
}

// open opens a store that is closed, if still open, when the test ends.
func open(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

func put(t testing.TB, s *Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put(key, []byte(value))})
	if err != nil {
		t.Fatalf("Txn(Put(%q)) = %v", key, err)
	}
	return rev
}

// firstErr returns the first response error on ch, or nil if ch closes
// without one or stays silent for a second.
func firstErr(ch <-chan store.WatchResponse) error {
	timeout := time.After(time.Second)
	for {
		select {
		case resp, ok := <-ch:
			if !ok || resp.Err != nil {
				return resp.Err
			}
		case <-timeout:
			return nil
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path, Options{})
	put(t, s, "a", "1")
	rev := put(t, s, "b", "2")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	s = open(t, path, Options{})
	kvs, listRev, err := s.List(t.Context(), "")
	if err != nil || len(kvs) != 2 || listRev != rev {
		t.Fatalf("List after reopen = %d keys, %d, %v, want 2 keys, %d", len(kvs), listRev, err, rev)
	}
	if kv, err := s.Get(t.Context(), "b"); err != nil || string(kv.Value) != "2" || kv.ModRevision != rev {
		t.Errorf("Get(%q) after reopen = %+v, %v, want value 2 at %d", "b", kv, err, rev)
	}
	if next := put(t, s, "c", "3"); next != rev+1 {
		t.Errorf("first Txn after reopen = %d, want %d", next, rev+1)
	}
	// History does not survive the process.
	for _, from := range []int64{1, rev} {
		if err := firstErr(s.Watch(t.Context(), "", from)); !errors.Is(err, store.ErrCompacted) {
			t.Errorf("Watch(from %d) after reopen = %v, want ErrCompacted", from, err)
		}
	}
	if resp := <-s.Watch(t.Context(), "", rev+1); resp.Err != nil || resp.Revision != rev+1 {
		t.Errorf("Watch(from %d) after reopen = revision %d, %v, want %d", rev+1, resp.Revision, resp.Err, rev+1)
	}
}

func TestWatchBeyondHistory(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"), Options{History: 2})
	var revs []int64
	for i := range 4 {
		revs = append(revs, put(t, s, "k", strconv.Itoa(i)))
	}
	if err := firstErr(s.Watch(t.Context(), "", revs[1])); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("Watch(from %d) with history 2 = %v, want ErrCompacted", revs[1], err)
	}
	ch := s.Watch(t.Context(), "", revs[2])
	for _, want := range revs[2:] {
		if resp := <-ch; resp.Err != nil || resp.Revision != want {
			t.Errorf("replayed response = revision %d, %v, want %d", resp.Revision, resp.Err, want)
		}
	}
}

func TestHistorySize(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"), Options{HistorySize: 10})
	r1 := put(t, s, "k", "12345")
	r2 := put(t, s, "k", "12345")
	if err := firstErr(s.Watch(t.Context(), "", r1)); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("Watch(from %d) with history of 10 bytes = %v, want ErrCompacted", r1, err)
	}
	if resp := <-s.Watch(t.Context(), "", r2); resp.Err != nil || resp.Revision != r2 {
		t.Errorf("Watch(from %d) = revision %d, %v, want %d", r2, resp.Revision, resp.Err, r2)
	}
}

func TestSlowWatcherDoesNotBlockWriters(t *testing.T) {
	const buffer = 4
	s := open(t, filepath.Join(t.TempDir(), "store.db"), Options{WatchBuffer: buffer})
	ch := s.Watch(t.Context(), "", 0)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 3 * buffer {
			if _, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte(strconv.Itoa(i)))}); err != nil {
				t.Errorf("Txn(Put) = %v", err)
				return
			}
		}
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("writers blocked behind a watcher that never reads")
	}
	var got int
	for resp := range ch {
		if resp.Err != nil {
			if !errors.Is(resp.Err, store.ErrCompacted) || got != buffer {
				t.Errorf("after %d responses, watch error = %v, want ErrCompacted after %d", got, resp.Err, buffer)
			}
			continue
		}
		got++
	}
	if got != buffer {
		t.Errorf("slow watcher got %d responses, want %d", got, buffer)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	open(t, path, Options{})
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Errorf("Open(%q) while open elsewhere = nil error, want a lock timeout", path)
	}
}

func BenchmarkTxnPut(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "store.db"), Options{})
	value := make([]byte, 256)
	for i := 0; b.Loop(); i++ {
		if _, err := s.Txn(b.Context(), nil, []store.Op{store.Put("bench/"+strconv.Itoa(i%1000), value)}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "store.db"), Options{})
	put(b, s, "bench/key", string(make([]byte, 256)))
	for b.Loop() {
		if _, err := s.Get(b.Context(), "bench/key"); err != nil {
			b.Fatal(err)
		}
	}
}
