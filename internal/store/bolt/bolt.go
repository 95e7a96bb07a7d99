package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/rolepull/rolepull/internal/store"
)

// Defaults for the zero Options.
const (
	DefaultHistory     = 4096
	DefaultHistorySize = 64 << 20
	DefaultWatchBuffer = 256
	DefaultFileMode    = fs.FileMode(0o600)
	DefaultLockTimeout = 5 * time.Second
)

var (
	bucketKV   = []byte("kv")
	bucketMeta = []byte("meta")
	keyRev     = []byte("rev")

	errCorrupt = errors.New("corrupt record")
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// Logger receives warnings, such as a watch dropped for falling behind.
	// Nil discards them.
	Logger *slog.Logger
	// History is how many recent transactions Watch can replay; a watch from
	// an older revision gets ErrCompacted. Default DefaultHistory.
	History int
	// HistorySize caps the bytes of keys and values the history holds, so
	// large values cannot exhaust memory; the newest transaction is always
	// kept. Default DefaultHistorySize.
	HistorySize int
	// WatchBuffer is how many responses a watcher may leave unread before
	// its watch ends with ErrCompacted, so a slow reader never blocks
	// writers. Default DefaultWatchBuffer.
	WatchBuffer int
	// FileMode is the permission of a newly created file. Default
	// DefaultFileMode.
	FileMode fs.FileMode
	// LockTimeout bounds how long Open waits for another process to release
	// the file. Default DefaultLockTimeout.
	LockTimeout time.Duration
}

// Store is a store.Store in one bbolt file.
type Store struct {
	db          *bbolt.DB
	log         *slog.Logger
	watchBuffer int

	// wmu serialises a transaction's commit with its publication, so that
	// watchers see revisions in order.
	wmu sync.Mutex

	mu       sync.Mutex // guards the fields below
	closed   bool
	lastRev  int64 // last revision published to watchers
	hist     ring
	watchers map[*watcher]struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.History < 0 || opts.HistorySize < 0 || opts.WatchBuffer < 0 || opts.LockTimeout < 0 {
		return nil, fmt.Errorf("bolt: open %s: %w: negative option", path, store.ErrInvalid)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.History == 0 {
		opts.History = DefaultHistory
	}
	if opts.HistorySize == 0 {
		opts.HistorySize = DefaultHistorySize
	}
	if opts.WatchBuffer == 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	if opts.FileMode == 0 {
		opts.FileMode = DefaultFileMode
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	db, err := bbolt.Open(path, opts.FileMode, &bbolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	var rev int64
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKV); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		rev, err = readRev(meta)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bolt: open %s: %w", path, err), db.Close())
	}
	return &Store{
		db:          db,
		log:         opts.Logger,
		watchBuffer: opts.WatchBuffer,
		lastRev:     rev,
		hist:        ring{buf: make([]record, opts.History), maxSize: opts.HistorySize},
		watchers:    make(map[*watcher]struct{}),
	}, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := ctx.Err(); err != nil {
		return store.KV{}, fmt.Errorf("bolt: get %q: %w", key, err)
	}
	if err := store.ValidateKey(key); err != nil {
		return store.KV{}, fmt.Errorf("bolt: get: %w", err)
	}
	var kv store.KV
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketKV).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		kv, err = decode(key, v)
		return err
	})
	if err != nil {
		return store.KV{}, fmt.Errorf("bolt: get %q: %w", key, closedErr(err))
	}
	return kv, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("bolt: list %q: %w", prefix, err)
	}
	var (
		kvs []store.KV
		rev int64
	)
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readRev(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			kv, err := decode(string(k), v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("bolt: list %q: %w", prefix, closedErr(err))
	}
	return kvs, rev, nil
}

// Txn implements store.Store. An op-bearing transaction is one bbolt
// read-write transaction, fsynced before Txn returns.
func (s *Store) Txn(ctx context.Context, conds []store.Cond, ops []store.Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bolt: txn: %w", err)
	}
	if err := store.Validate(conds, ops); err != nil {
		return 0, fmt.Errorf("bolt: txn: %w", err)
	}
	if len(ops) == 0 {
		var rev int64
		err := s.db.View(func(tx *bbolt.Tx) error {
			if err := checkConds(tx.Bucket(bucketKV), conds); err != nil {
				return err
			}
			var err error
			rev, err = readRev(tx.Bucket(bucketMeta))
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("bolt: txn: %w", closedErr(err))
		}
		return rev, nil
	}

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bolt: txn: %w", err)
	}
	var rec record
	err := s.db.Update(func(tx *bbolt.Tx) error {
		kvb, meta := tx.Bucket(bucketKV), tx.Bucket(bucketMeta)
		if err := checkConds(kvb, conds); err != nil {
			return err
		}
		cur, err := readRev(meta)
		if err != nil {
			return err
		}
		rec, err = apply(kvb, cur+1, ops)
		if err != nil {
			return err
		}
		if len(rec.events) == 0 {
			// Only deletes of missing keys: like etcd, no new revision.
			rec.rev = cur
			return nil
		}
		return meta.Put(keyRev, binary.BigEndian.AppendUint64(nil, uint64(rec.rev)))
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: txn: %w", closedErr(err))
	}
	if len(rec.events) > 0 {
		s.publish(rec)
	}
	return rec.rev, nil
}

// Watch implements store.Store. Watch can replay the last Options.History
// transactions committed by this process; event values are shared between
// watchers and must not be modified.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(err error) <-chan store.WatchResponse {
		ch := make(chan store.WatchResponse, 1)
		ch <- store.WatchResponse{Err: err}
		close(ch)
		return ch
	}
	switch {
	case s.closed:
		return fail(fmt.Errorf("bolt: watch %q: %w", prefix, store.ErrClosed))
	case fromRev < 0:
		return fail(fmt.Errorf("bolt: watch %q: %w: negative revision %d", prefix, store.ErrInvalid, fromRev))
	case fromRev == 0:
		fromRev = s.lastRev + 1
	case fromRev < s.hist.oldest(s.lastRev):
		return fail(fmt.Errorf("bolt: watch %q from revision %d, oldest kept is %d: %w",
			prefix, fromRev, s.hist.oldest(s.lastRev), store.ErrCompacted))
	}

	var replay []store.WatchResponse
	for _, rec := range s.hist.since(fromRev) {
		if resp, ok := rec.response(prefix); ok {
			replay = append(replay, resp)
		}
	}
	// One slot beyond the buffer is kept free for the terminal response.
	w := &watcher{prefix: prefix, from: fromRev, ch: make(chan store.WatchResponse, len(replay)+s.watchBuffer+1)}
	for _, resp := range replay {
		w.ch <- resp
	}
	s.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.watchers[w]; ok {
			s.end(w, nil)
		}
	})
	return w.ch
}

// Close ends every watch with ErrClosed and closes the file. Closing twice
// is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for w := range s.watchers {
		s.end(w, fmt.Errorf("bolt: watch %q: %w", w.prefix, store.ErrClosed))
	}
	s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close: %w", err)
	}
	return nil
}

// publish records a committed transaction and fans it out to the watchers.
func (s *Store) publish(rec record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.hist.add(rec)
	s.lastRev = rec.rev
	for w := range s.watchers {
		if rec.rev < w.from {
			continue
		}
		resp, ok := rec.response(w.prefix)
		if !ok {
			continue
		}
		if len(w.ch) >= cap(w.ch)-1 {
			s.log.Warn("watch dropped: reader too slow", "prefix", w.prefix, "revision", rec.rev, "buffer", s.watchBuffer)
			s.end(w, fmt.Errorf("bolt: watch %q: reader fell %d responses behind: %w", w.prefix, s.watchBuffer, store.ErrCompacted))
			continue
		}
		w.ch <- resp
	}
}

// end removes w, sends err if not nil, and closes its channel. s.mu is held.
func (s *Store) end(w *watcher, err error) {
	delete(s.watchers, w)
	w.stop()
	if err != nil {
		w.ch <- store.WatchResponse{Err: err}
	}
	close(w.ch)
}

type watcher struct {
	prefix string
	from   int64 // first revision to deliver
	ch     chan store.WatchResponse
	stop   func() bool
}

// record is one committed transaction: its revision, its events in key
// order, and their bytes of keys and values.
type record struct {
	rev    int64
	events []store.Event
	size   int
}

func (r record) response(prefix string) (store.WatchResponse, bool) {
	var evs []store.Event
	for _, ev := range r.events {
		if strings.HasPrefix(ev.KV.Key, prefix) {
			evs = append(evs, ev)
		}
	}
	return store.WatchResponse{Revision: r.rev, Events: evs}, len(evs) > 0
}

// ring holds the most recent records, oldest first; their revisions are
// consecutive because every revision is published.
type ring struct {
	buf     []record
	head    int // index of the oldest record
	n       int
	size    int // sum of the records' sizes
	maxSize int
}

func (r *ring) add(rec record) {
	for r.n > 0 && (r.n == len(r.buf) || r.size+rec.size > r.maxSize) {
		r.size -= r.buf[r.head].size
		r.buf[r.head] = record{}
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	r.buf[(r.head+r.n)%len(r.buf)] = rec
	r.n++
	r.size += rec.size
}

// oldest is the first revision a watch can start from, given the last
// published revision.
func (r *ring) oldest(lastRev int64) int64 {
	if r.n == 0 {
		return lastRev + 1
	}
	return r.buf[r.head].rev
}

// since returns the records at rev and later.
func (r *ring) since(rev int64) []record {
	if r.n == 0 {
		return nil
	}
	var out []record
	for i := int(max(rev-r.buf[r.head].rev, 0)); i < r.n; i++ {
		out = append(out, r.buf[(r.head+i)%len(r.buf)])
	}
	return out
}

func checkConds(kvb *bbolt.Bucket, conds []store.Cond) error {
	for i, c := range conds {
		v := kvb.Get([]byte(c.Key))
		switch {
		case c.ModRevision == 0 && v != nil:
			return fmt.Errorf("%w: conds[%d]: %q exists", store.ErrConflict, i, c.Key)
		case c.ModRevision == 0:
		case v == nil:
			return fmt.Errorf("%w: conds[%d]: %q does not exist", store.ErrConflict, i, c.Key)
		default:
			kv, err := decode(c.Key, v)
			if err != nil {
				return err
			}
			if kv.ModRevision != c.ModRevision {
				return fmt.Errorf("%w: conds[%d]: %q is at revision %d, want %d", store.ErrConflict, i, c.Key, kv.ModRevision, c.ModRevision)
			}
		}
	}
	return nil
}

// apply writes ops at revision rev and returns the resulting events in key
// order. Deleting a missing key makes no event.
func apply(kvb *bbolt.Bucket, rev int64, ops []store.Op) (record, error) {
	ops = slices.SortedFunc(slices.Values(ops), func(a, b store.Op) int { return strings.Compare(a.Key, b.Key) })
	rec := record{rev: rev}
	for _, op := range ops {
		old := kvb.Get([]byte(op.Key))
		if op.Delete {
			if old == nil {
				continue
			}
			if err := kvb.Delete([]byte(op.Key)); err != nil {
				return record{}, err
			}
			rec.events = append(rec.events, store.Event{Type: store.EventDelete, KV: store.KV{Key: op.Key, ModRevision: rev}})
			rec.size += len(op.Key)
			continue
		}
		kv := store.KV{Key: op.Key, Value: bytes.Clone(op.Value), CreateRevision: rev, ModRevision: rev}
		if old != nil {
			prev, err := decode(op.Key, old)
			if err != nil {
				return record{}, err
			}
			kv.CreateRevision = prev.CreateRevision
		}
		if err := kvb.Put([]byte(op.Key), encode(kv)); err != nil {
			return record{}, err
		}
		rec.events = append(rec.events, store.Event{Type: store.EventPut, KV: kv})
		rec.size += len(op.Key) + len(op.Value)
	}
	return rec, nil
}

// encode lays a record out as uvarint(create) uvarint(mod) value.
func encode(kv store.KV) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(kv.Value))
	b = binary.AppendUvarint(b, uint64(kv.CreateRevision))
	b = binary.AppendUvarint(b, uint64(kv.ModRevision))
	return append(b, kv.Value...)
}

// decode parses encode's layout, copying the value out of bbolt's memory.
func decode(key string, b []byte) (store.KV, error) {
	create, n := binary.Uvarint(b)
	if n <= 0 {
		return store.KV{}, fmt.Errorf("%w: key %q", errCorrupt, key)
	}
	mod, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return store.KV{}, fmt.Errorf("%w: key %q", errCorrupt, key)
	}
	return store.KV{Key: key, Value: bytes.Clone(b[n+m:]), CreateRevision: int64(create), ModRevision: int64(mod)}, nil
}

func readRev(meta *bbolt.Bucket) (int64, error) {
	v := meta.Get(keyRev)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("%w: revision of %d bytes", errCorrupt, len(v))
}

// closedErr reports bbolt's "not open" as store.ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}
