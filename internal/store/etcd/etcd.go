package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/rolepull/rolepull/internal/store"
)

// Defaults for the zero Config fields.
const (
	DefaultPrefix      = "/rolepull/"
	DefaultDialTimeout = 5 * time.Second
)

// Config says which etcd to use and where in its key space.
type Config struct {
	// Endpoints are the client URLs, e.g. "http://127.0.0.1:2379".
	Endpoints []string
	// Prefix is prepended to every key, so several stores can share one
	// cluster. Default DefaultPrefix.
	Prefix string
	// DialTimeout bounds New's first round trip, together with its ctx.
	// Default DefaultDialTimeout.
	DialTimeout time.Duration
	// Logger receives the etcd client's logs. Nil discards them.
	Logger *slog.Logger
}

// Store is a store.Store in an etcd v3 cluster.
type Store struct {
	client *clientv3.Client
	prefix string
	closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// New connects to etcd and checks, within ctx and cfg.DialTimeout, that it
// answers.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd: %w: no endpoints", store.ErrInvalid)
	}
	if cfg.DialTimeout < 0 {
		return nil, fmt.Errorf("etcd: %w: negative dial timeout", store.ErrInvalid)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	logger := zap.NewNop()
	if cfg.Logger != nil {
		logger = zap.New(slogCore{cfg.Logger.Handler()})
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      logger,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %v: %w", cfg.Endpoints, err)
	}
	// Client creation does not dial; one read proves the cluster answers.
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := client.Get(ctx, cfg.Prefix, clientv3.WithCountOnly()); err != nil {
		return nil, errors.Join(fmt.Errorf("etcd: connect %v: %w", cfg.Endpoints, err), closeClient(client))
	}
	return &Store{client: client, prefix: cfg.Prefix}, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := store.ValidateKey(key); err != nil {
		return store.KV{}, fmt.Errorf("etcd: get: %w", err)
	}
	if s.closed.Load() {
		return store.KV{}, fmt.Errorf("etcd: get %q: %w", key, store.ErrClosed)
	}
	resp, err := s.client.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, fmt.Errorf("etcd: get %q: %w", key, s.closedErr(err))
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, fmt.Errorf("etcd: get %q: %w", key, store.ErrNotFound)
	}
	return s.kv(resp.Kvs[0]), nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if s.closed.Load() {
		return nil, 0, fmt.Errorf("etcd: list %q: %w", prefix, store.ErrClosed)
	}
	resp, err := s.client.Get(ctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: list %q: %w", prefix, s.closedErr(err))
	}
	kvs := make([]store.KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		kvs[i] = s.kv(kv)
	}
	return kvs, resp.Header.Revision, nil
}

// Txn implements store.Store as one etcd transaction.
func (s *Store) Txn(ctx context.Context, conds []store.Cond, ops []store.Op) (int64, error) {
	if err := store.Validate(conds, ops); err != nil {
		return 0, fmt.Errorf("etcd: txn: %w", err)
	}
	if s.closed.Load() {
		return 0, fmt.Errorf("etcd: txn: %w", store.ErrClosed)
	}
	cmps := make([]clientv3.Cmp, len(conds))
	for i, c := range conds {
		if c.ModRevision == 0 {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(s.prefix+c.Key), "=", 0)
		} else {
			cmps[i] = clientv3.Compare(clientv3.ModRevision(s.prefix+c.Key), "=", c.ModRevision)
		}
	}
	writes := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		if op.Delete {
			writes[i] = clientv3.OpDelete(s.prefix + op.Key)
		} else {
			writes[i] = clientv3.OpPut(s.prefix+op.Key, string(op.Value))
		}
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(writes...).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd: txn: %w", s.closedErr(err))
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("etcd: txn: %w: one of %d conditions", store.ErrConflict, len(conds))
	}
	return resp.Header.Revision, nil
}

// Watch implements store.Store. With fromRev 0 it first reads the current
// revision, one round trip, so that every write after Watch returns is seen.
// It relies on etcd never splitting one revision's events across watch
// responses, which holds unless a watch asks for fragments.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	fail := func(err error) <-chan store.WatchResponse {
		ch := make(chan store.WatchResponse, 1)
		if ctx.Err() == nil {
			ch <- store.WatchResponse{Err: fmt.Errorf("etcd: watch %q: %w", prefix, s.closedErr(err))}
		}
		close(ch)
		return ch
	}
	switch {
	case s.closed.Load():
		return fail(store.ErrClosed)
	case fromRev < 0:
		return fail(fmt.Errorf("%w: negative revision %d", store.ErrInvalid, fromRev))
	}
	if fromRev == 0 {
		resp, err := s.client.Get(ctx, s.prefix, clientv3.WithCountOnly())
		if err != nil {
			return fail(err)
		}
		fromRev = resp.Header.Revision + 1
	}

	// Require a leader so that a watch on a partitioned member ends instead
	// of going silent.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(wctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev))
	out := make(chan store.WatchResponse)
	go func() {
		defer close(out)
		defer cancel()
		send := func(resp store.WatchResponse) bool {
			select {
			case out <- resp:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for wresp := range wch {
			if wresp.CompactRevision != 0 {
				send(store.WatchResponse{Err: fmt.Errorf("etcd: watch %q from revision %d, compacted at %d: %w",
					prefix, fromRev, wresp.CompactRevision, store.ErrCompacted)})
				return
			}
			if err := wresp.Err(); err != nil {
				if ctx.Err() == nil {
					send(store.WatchResponse{Err: fmt.Errorf("etcd: watch %q: %w", prefix, s.closedErr(err))})
				}
				return
			}
			for _, resp := range s.responses(wresp.Events) {
				if !send(resp) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(store.WatchResponse{Err: fmt.Errorf("etcd: watch %q: %w", prefix, s.closedErr(errWatchEnded))})
		}
	}()
	return out
}

var errWatchEnded = errors.New("watch ended by the client")

// Close closes the client, which ends every watch. Closing twice is a no-op.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := closeClient(s.client); err != nil {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}

// closeClient closes c, ignoring the context.Canceled that closing reports
// about itself.
func closeClient(c *clientv3.Client) error {
	if err := c.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// closedErr reports a failure after Close as store.ErrClosed. Methods also
// check before calling the client, which retries for seconds once closed.
func (s *Store) closedErr(err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return err
}

func (s *Store) kv(kv *mvccpb.KeyValue) store.KV {
	return store.KV{
		Key:            strings.TrimPrefix(string(kv.Key), s.prefix),
		Value:          kv.Value,
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
	}
}

// responses groups events by revision, each group in key order.
func (s *Store) responses(evs []*clientv3.Event) []store.WatchResponse {
	var out []store.WatchResponse
	for _, ev := range evs {
		e := store.Event{Type: store.EventPut, KV: s.kv(ev.Kv)}
		if ev.Type == clientv3.EventTypeDelete {
			e.Type, e.KV.Value = store.EventDelete, nil
		}
		if n := len(out); n == 0 || out[n-1].Revision != ev.Kv.ModRevision {
			out = append(out, store.WatchResponse{Revision: ev.Kv.ModRevision})
		}
		out[len(out)-1].Events = append(out[len(out)-1].Events, e)
	}
	for _, resp := range out {
		slices.SortStableFunc(resp.Events, func(a, b store.Event) int { return strings.Compare(a.KV.Key, b.KV.Key) })
	}
	return out
}

// slogCore hands the etcd client's zap logs to a slog.Handler.
type slogCore struct{ h slog.Handler }

func (c slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

func (c slogCore) With(fields []zapcore.Field) zapcore.Core {
	return slogCore{c.h.WithAttrs(attrs(fields))}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	r.AddAttrs(attrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (slogCore) Sync() error { return nil }

func attrs(fields []zapcore.Field) []slog.Attr {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]slog.Attr, 0, len(enc.Fields))
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		out = append(out, slog.Any(k, enc.Fields[k]))
	}
	return out
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}
