package storetest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rolepull/rolepull/internal/store"
)

// waitTimeout bounds every wait for a watch response.
const waitTimeout = 10 * time.Second

// equateEmpty treats nil and empty values and event lists alike: backends
// differ in which they return and callers must not care.
var equateEmpty = cmpopts.EquateEmpty()

// Run runs the conformance suite. open must return a new, empty store (or an
// empty namespace of a shared one) on every call; Run closes it when the
// subtest ends. Because Run checks that every writing transaction adds
// exactly one revision, nothing else may write to the backing store while it
// runs.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		})
		if kvs, _, err := s.List(t.Context(), ""); err != nil || len(kvs) != 0 {
			t.Fatalf("open gave a store with %d keys (err %v), want an empty one", len(kvs), err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"Revisions", testRevisions},
		{"OneRevisionPerTxn", testOneRevisionPerTxn},
		{"NoOpTxn", testNoOpTxn},
		{"Absent", testAbsent},
		{"At", testAt},
		{"FailedTxnWritesNothing", testFailedTxnWritesNothing},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"List", testList},
		{"Invalid", testInvalid},
		{"Limits", testLimits},
		{"CancelledContext", testCancelledContext},
		{"WatchFromNow", testWatchFromNow},
		{"WatchReplay", testWatchReplay},
		{"WatchPrefix", testWatchPrefix},
		{"WatchTxnIsOneResponse", testWatchTxnIsOneResponse},
		{"WatchDelete", testWatchDelete},
		{"WatchCancel", testWatchCancel},
		{"ConcurrentCAS", testConcurrentCAS},
		{"ListNeverSeesPartialTxn", testListNeverSeesPartialTxn},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, fresh(t)) })
	}
	// Close is last and manages its own store: the others close theirs in
	// cleanup.
	t.Run("Close", func(t *testing.T) { testClose(t, open(t)) })
}

func testGetMissing(t *testing.T, s store.Store) {
	if _, err := s.Get(t.Context(), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) = %v, want ErrNotFound", "missing", err)
	}
}

func testPutGet(t *testing.T, s store.Store) {
	rev := txn(t, s, nil, store.Put("k", []byte("v")))
	if rev <= 0 {
		t.Fatalf("Txn(Put) = %d, want a positive revision", rev)
	}
	want := store.KV{Key: "k", Value: []byte("v"), CreateRevision: rev, ModRevision: rev}
	checkGet(t, s, "k", want)

	rev = txn(t, s, nil, store.Put("empty", nil))
	checkGet(t, s, "empty", store.KV{Key: "empty", CreateRevision: rev, ModRevision: rev})
}

func testRevisions(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	r2 := put(t, s, "k", "2")
	r3 := put(t, s, "other", "x")
	if r2 != r1+1 || r3 != r2+1 {
		t.Errorf("revisions of three puts = %d, %d, %d, want consecutive", r1, r2, r3)
	}
	// CreateRevision survives updates; ModRevision follows them; other keys
	// leave both alone.
	checkGet(t, s, "k", store.KV{Key: "k", Value: []byte("2"), CreateRevision: r1, ModRevision: r2})
	if _, rev := list(t, s, ""); rev != r3 {
		t.Errorf("List revision = %d, want %d", rev, r3)
	}
}

func testOneRevisionPerTxn(t *testing.T, s store.Store) {
	_, r0 := list(t, s, "")
	rev := txn(t, s, nil, store.Put("a", []byte("1")), store.Put("b", []byte("2")), store.Put("c", []byte("3")))
	if rev != r0+1 {
		t.Fatalf("Txn(3 puts) = %d, want %d", rev, r0+1)
	}
	got, listRev := list(t, s, "")
	want := []store.KV{
		{Key: "a", Value: []byte("1"), CreateRevision: rev, ModRevision: rev},
		{Key: "b", Value: []byte("2"), CreateRevision: rev, ModRevision: rev},
		{Key: "c", Value: []byte("3"), CreateRevision: rev, ModRevision: rev},
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" || listRev != rev {
		t.Errorf("List(\"\") = _, %d, want %d; diff (-want +got):\n%s", listRev, rev, diff)
	}
	if next := txn(t, s, nil, store.Put("a", []byte("4")), store.Delete("b")); next != rev+1 {
		t.Errorf("Txn(put, delete) = %d, want %d", next, rev+1)
	}
}

func testNoOpTxn(t *testing.T, s store.Store) {
	rev := put(t, s, "k", "v")
	for _, tc := range []struct {
		name  string
		conds []store.Cond
		ops   []store.Op
	}{
		{"nothing", nil, nil},
		{"conditions only", []store.Cond{store.Absent("missing"), store.At("k", rev)}, nil},
		{"delete missing", nil, []store.Op{store.Delete("missing")}},
	} {
		got, err := s.Txn(t.Context(), tc.conds, tc.ops)
		if err != nil || got != rev {
			t.Errorf("Txn(%s) = %d, %v, want %d, nil", tc.name, got, err, rev)
		}
	}
	if _, err := s.Txn(t.Context(), []store.Cond{store.Absent("k")}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Txn(Absent(existing), no ops) = %v, want ErrConflict", err)
	}
	if _, got := list(t, s, ""); got != rev {
		t.Errorf("List revision after op-less transactions = %d, want %d", got, rev)
	}
}

func testAbsent(t *testing.T, s store.Store) {
	rev := txn(t, s, []store.Cond{store.Absent("k")}, store.Put("k", []byte("1")))
	if _, err := s.Txn(t.Context(), []store.Cond{store.Absent("k")}, []store.Op{store.Put("k", []byte("2"))}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Txn(Absent(existing)) = %v, want ErrConflict", err)
	}
	checkGet(t, s, "k", store.KV{Key: "k", Value: []byte("1"), CreateRevision: rev, ModRevision: rev})
}

func testAt(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	r2 := txn(t, s, []store.Cond{store.At("k", r1)}, store.Put("k", []byte("2")))
	for _, c := range []store.Cond{store.At("k", r1), store.At("k", r2+1), store.At("missing", r2)} {
		if _, err := s.Txn(t.Context(), []store.Cond{c}, []store.Op{store.Put("k", []byte("3"))}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Txn(At(%q, %d)) = %v, want ErrConflict", c.Key, c.ModRevision, err)
		}
	}
	checkGet(t, s, "k", store.KV{Key: "k", Value: []byte("2"), CreateRevision: r1, ModRevision: r2})
}

func testFailedTxnWritesNothing(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	put(t, s, "k", "2")
	before, rev := list(t, s, "")
	// Every condition but the last holds.
	conds := []store.Cond{store.Absent("new"), store.At("k", r1)}
	ops := []store.Op{store.Put("new", []byte("x")), store.Put("other", []byte("y")), store.Delete("k")}
	if _, err := s.Txn(t.Context(), conds, ops); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Txn(stale At) = %v, want ErrConflict", err)
	}
	after, afterRev := list(t, s, "")
	if diff := cmp.Diff(before, after, equateEmpty); diff != "" || afterRev != rev {
		t.Errorf("after a failed Txn, List(\"\") = _, %d, want %d; diff (-before +after):\n%s", afterRev, rev, diff)
	}
}

func testDelete(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	r2 := txn(t, s, nil, store.Delete("k"))
	if r2 != r1+1 {
		t.Errorf("Txn(Delete) = %d, want %d", r2, r1+1)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
	}
	r3 := txn(t, s, []store.Cond{store.Absent("k")}, store.Put("k", []byte("again")))
	checkGet(t, s, "k", store.KV{Key: "k", Value: []byte("again"), CreateRevision: r3, ModRevision: r3})
}

func testDeleteMissing(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	r2 := txn(t, s, nil, store.Delete("missing"), store.Put("k", []byte("2")))
	if r2 != r1+1 {
		t.Errorf("Txn(Delete(missing), Put) = %d, want %d", r2, r1+1)
	}
	checkGet(t, s, "k", store.KV{Key: "k", Value: []byte("2"), CreateRevision: r1, ModRevision: r2})
}

func testList(t *testing.T, s store.Store) {
	revs := map[string]int64{}
	for _, k := range []string{"b", "a/2", "ab", "a/b/3", "a/1", "a"} {
		revs[k] = put(t, s, k, "v"+k)
	}
	last := revs["a"]
	for _, tc := range []struct {
		prefix string
		keys   []string
	}{
		{"a/", []string{"a/1", "a/2", "a/b/3"}},
		{"a", []string{"a", "a/1", "a/2", "a/b/3", "ab"}},
		{"", []string{"a", "a/1", "a/2", "a/b/3", "ab", "b"}},
		{"a/b/3", []string{"a/b/3"}},
		{"c", nil},
	} {
		var want []store.KV
		for _, k := range tc.keys {
			want = append(want, store.KV{Key: k, Value: []byte("v" + k), CreateRevision: revs[k], ModRevision: revs[k]})
		}
		got, rev := list(t, s, tc.prefix)
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" || rev != last {
			t.Errorf("List(%q) = _, %d, want %d; diff (-want +got):\n%s", tc.prefix, rev, last, diff)
		}
	}
}

func testInvalid(t *testing.T, s store.Store) {
	long := strings.Repeat("k", store.MaxKeyBytes+1)
	big := make([]byte, store.MaxValueBytes+1)
	many := make([]store.Op, store.MaxTxnOps+1)
	for i := range many {
		many[i] = store.Put("k"+strconv.Itoa(i), nil)
	}
	put(t, s, "k", "v")
	_, rev := list(t, s, "")
	for _, tc := range []struct {
		name  string
		conds []store.Cond
		ops   []store.Op
	}{
		{"empty key", nil, []store.Op{store.Put("", nil)}},
		{"empty delete key", nil, []store.Op{store.Delete("")}},
		{"empty condition key", []store.Cond{store.Absent("")}, []store.Op{store.Put("k", nil)}},
		{"oversized key", nil, []store.Op{store.Put(long, nil)}},
		{"oversized condition key", []store.Cond{store.Absent(long)}, nil},
		{"oversized value", nil, []store.Op{store.Put("k", big)}},
		{"oversized transaction", nil, []store.Op{store.Put("a", big[:store.MaxTxnBytes/2]), store.Put("b", big[:store.MaxTxnBytes/2])}},
		{"too many ops", nil, many},
		{"too many conds and ops", []store.Cond{store.Absent("x")}, many[1:]},
		{"same key twice", nil, []store.Op{store.Put("a", nil), store.Delete("a")}},
		{"negative revision", []store.Cond{{Key: "k", ModRevision: -1}}, []store.Op{store.Put("a", nil)}},
	} {
		if _, err := s.Txn(t.Context(), tc.conds, tc.ops); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Txn(%s) = %v, want ErrInvalid", tc.name, err)
		}
	}
	for _, key := range []string{"", long} {
		if _, err := s.Get(t.Context(), key); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Get(key of %d bytes) = %v, want ErrInvalid", len(key), err)
		}
	}
	if _, got := list(t, s, ""); got != rev {
		t.Errorf("List revision after invalid transactions = %d, want %d", got, rev)
	}
}

// testLimits checks that a transaction at every limit is accepted.
func testLimits(t *testing.T, s store.Store) {
	key := strings.Repeat("k", store.MaxKeyBytes)
	value := []byte(strings.Repeat("v", store.MaxValueBytes))
	rev := txn(t, s, nil, store.Put(key, value))
	// Compared by hand: cmp walks a 1 MiB slice byte by byte, slowly.
	got, err := s.Get(t.Context(), key)
	if err != nil || got.Key != key || !bytes.Equal(got.Value, value) || got.CreateRevision != rev || got.ModRevision != rev {
		t.Errorf("Get(largest key) = %d-byte value at %d/%d, %v; want the %d-byte value at %d/%d",
			len(got.Value), got.CreateRevision, got.ModRevision, err, len(value), rev, rev)
	}

	conds := []store.Cond{store.At(key, rev)}
	ops := make([]store.Op, store.MaxTxnOps-len(conds))
	for i := range ops {
		ops[i] = store.Put("op/"+strconv.Itoa(i), []byte("x"))
	}
	if got := txn(t, s, conds, ops...); got != rev+1 {
		t.Errorf("Txn(%d conds, %d ops) = %d, want %d", len(conds), len(ops), got, rev+1)
	}
	if kvs, _ := list(t, s, "op/"); len(kvs) != len(ops) {
		t.Errorf("List(%q) has %d keys, want %d", "op/", len(kvs), len(ops))
	}
}

func testCancelledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(cancelled) = %v, want context.Canceled", err)
	}
	if _, _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put("k", nil)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Txn(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after a cancelled Txn = %v, want ErrNotFound", err)
	}
}

func testWatchFromNow(t *testing.T, s store.Store) {
	put(t, s, "w/before", "1")
	ch := s.Watch(t.Context(), "w/", 0)
	rev := put(t, s, "w/after", "2")
	want := store.WatchResponse{Revision: rev, Events: []store.Event{putEvent("w/after", "2", rev, rev)}}
	checkResponse(t, recv(t, ch), want)
}

func testWatchReplay(t *testing.T, s store.Store) {
	r1 := put(t, s, "k", "1")
	r2 := put(t, s, "k", "2")
	r3 := txn(t, s, nil, store.Delete("k"))
	want := []store.WatchResponse{
		{Revision: r1, Events: []store.Event{putEvent("k", "1", r1, r1)}},
		{Revision: r2, Events: []store.Event{putEvent("k", "2", r1, r2)}},
		{Revision: r3, Events: []store.Event{deleteEvent("k", r3)}},
	}
	for i, from := range []int64{r1, r2, r3} {
		ch := s.Watch(t.Context(), "", from)
		for _, w := range want[i:] {
			checkResponse(t, recv(t, ch), w)
		}
	}
}

func testWatchPrefix(t *testing.T, s store.Store) {
	ch := s.Watch(t.Context(), "a/", 0)
	put(t, s, "ab", "no")
	put(t, s, "a", "no")
	rev := put(t, s, "a/x", "yes")
	checkResponse(t, recv(t, ch), store.WatchResponse{Revision: rev, Events: []store.Event{putEvent("a/x", "yes", rev, rev)}})
}

func testWatchTxnIsOneResponse(t *testing.T, s store.Store) {
	r0 := txn(t, s, nil, store.Put("t/a", []byte("old")), store.Put("t/b", []byte("old")))
	ch := s.Watch(t.Context(), "t/", 0)
	rev := txn(t, s, nil,
		store.Put("t/c", []byte("new")),
		store.Delete("t/b"),
		store.Put("t/a", []byte("new")),
		store.Delete("t/missing"),
		store.Put("outside", []byte("x")),
	)
	// Events come in key order, whatever the order of the operations.
	want := store.WatchResponse{Revision: rev, Events: []store.Event{
		putEvent("t/a", "new", r0, rev),
		deleteEvent("t/b", rev),
		putEvent("t/c", "new", rev, rev),
	}}
	checkResponse(t, recv(t, ch), want)
	next := put(t, s, "t/d", "later")
	checkResponse(t, recv(t, ch), store.WatchResponse{Revision: next, Events: []store.Event{putEvent("t/d", "later", next, next)}})
}

func testWatchDelete(t *testing.T, s store.Store) {
	put(t, s, "k", "v")
	ch := s.Watch(t.Context(), "k", 0)
	rev := txn(t, s, nil, store.Delete("k"))
	resp := recv(t, ch)
	checkResponse(t, resp, store.WatchResponse{Revision: rev, Events: []store.Event{deleteEvent("k", rev)}})
	if v := resp.Events[0].KV.Value; v != nil {
		t.Errorf("delete event value = %q, want nil", v)
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx, "", 0)
	put(t, s, "k", "v")
	cancel()
	checkClosed(t, ch)
}

func testConcurrentCAS(t *testing.T, s store.Store) {
	const (
		workers    = 8
		increments = 25
		key        = "counter"
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(t.Context(), s, key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	if got, want := string(kv.Value), strconv.Itoa(workers*increments); got != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
}

// increment adds one to the decimal counter at key by compare-and-swap.
func increment(ctx context.Context, s store.Store, key string) error {
	const attempts = 1000 // far more than 8 contending writers need
	for range attempts {
		cond, n := store.Absent(key), 0
		kv, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if n, err = strconv.Atoi(string(kv.Value)); err != nil {
				return err
			}
			cond = store.At(key, kv.ModRevision)
		}
		_, err = s.Txn(ctx, []store.Cond{cond}, []store.Op{store.Put(key, []byte(strconv.Itoa(n+1)))})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return errors.New("increment: too many conflicts")
}

func testListNeverSeesPartialTxn(t *testing.T, s store.Store) {
	const writes = 50
	keys := []string{"p/a", "p/b", "p/c"}
	write := func(v string) error {
		ops := make([]store.Op, len(keys))
		for i, k := range keys {
			ops[i] = store.Put(k, []byte(v))
		}
		_, err := s.Txn(t.Context(), nil, ops)
		return err
	}
	if err := write("init"); err != nil {
		t.Fatalf("Txn(init) = %v", err)
	}
	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	for w := range 2 {
		writers.Go(func() {
			for i := range writes {
				if err := write(strconv.Itoa(w) + "/" + strconv.Itoa(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				kvs, rev, err := s.List(t.Context(), "p/")
				if err != nil {
					t.Error(err)
					return
				}
				if len(kvs) != len(keys) {
					t.Errorf("List(%q) at %d has %d keys, want %d", "p/", rev, len(kvs), len(keys))
					return
				}
				for _, kv := range kvs[1:] {
					if string(kv.Value) != string(kvs[0].Value) || kv.ModRevision != kvs[0].ModRevision {
						t.Errorf("List(%q) at %d saw part of a transaction: %s=%q@%d, %s=%q@%d",
							"p/", rev, kvs[0].Key, kvs[0].Value, kvs[0].ModRevision, kv.Key, kv.Value, kv.ModRevision)
						return
					}
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
}

func testClose(t *testing.T, s store.Store) {
	ch := s.Watch(t.Context(), "", 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	checkClosed(t, ch)
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.List(t.Context(), ""); !errors.Is(err, store.ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", nil)}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Txn after Close = %v, want ErrClosed", err)
	}
	checkClosed(t, s.Watch(t.Context(), "", 0))
}

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	return txn(t, s, nil, store.Put(key, []byte(value)))
}

func txn(t *testing.T, s store.Store, conds []store.Cond, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), conds, ops)
	if err != nil {
		t.Fatalf("Txn(%d conds, %d ops) = %v", len(conds), len(ops), err)
	}
	return rev
}

func list(t *testing.T, s store.Store, prefix string) ([]store.KV, int64) {
	t.Helper()
	kvs, rev, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	return kvs, rev
}

func checkGet(t *testing.T, s store.Store, key string, want store.KV) {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%.40q) = %v", key, err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("Get(%.40q) diff (-want +got):\n%s", key, diff)
	}
}

func putEvent(key, value string, create, mod int64) store.Event {
	return store.Event{Type: store.EventPut, KV: store.KV{Key: key, Value: []byte(value), CreateRevision: create, ModRevision: mod}}
}

// deleteEvent leaves CreateRevision zero: it is not part of the contract
// and checkResponse ignores it for deletes.
func deleteEvent(key string, rev int64) store.Event {
	return store.Event{Type: store.EventDelete, KV: store.KV{Key: key, ModRevision: rev}}
}

func recv(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	select {
	case resp, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want a response")
		}
		return resp
	case <-time.After(waitTimeout):
		t.Fatalf("no watch response in %v", waitTimeout)
	}
	return store.WatchResponse{}
}

func checkResponse(t *testing.T, got, want store.WatchResponse) {
	t.Helper()
	if got.Err != nil {
		t.Fatalf("watch response error = %v, want revision %d", got.Err, want.Revision)
	}
	for i := range got.Events {
		if got.Events[i].Type == store.EventDelete {
			got.Events[i].KV.CreateRevision = 0
		}
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("watch response diff (-want +got):\n%s", diff)
	}
}

// checkClosed drains ch, which may still hold responses, and fails unless it
// closes within waitTimeout.
func checkClosed(t *testing.T, ch <-chan store.WatchResponse) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("watch channel still open after %v", waitTimeout)
		}
	}
}
