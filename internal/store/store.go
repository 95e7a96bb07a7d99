package store

import (
	"context"
	"errors"
	"fmt"
)

// Limits every backend enforces, chosen so that a transaction accepted by the
// embedded backend is also accepted by a default etcd server.
const (
	MaxKeyBytes   = 1024
	MaxValueBytes = 1 << 20        // etcd's default request cap is 1.5 MiB
	MaxTxnBytes   = 1<<20 + 64<<10 // keys and values of one transaction together, under etcd's 1.5 MiB
	MaxTxnOps     = 64             // etcd's default --max-txn-ops is 128 (conditions + operations)
)

var (
	// ErrNotFound reports that a key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict reports that a transaction's condition did not hold; nothing
	// was written. Callers re-read and retry or report the conflict.
	ErrConflict = errors.New("store: condition failed")
	// ErrCompacted reports that a watch asked for history the backend no
	// longer holds; the caller lists again and watches from the new revision.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrInvalid reports a malformed request (empty or oversized key, too
	// many operations, ...).
	ErrInvalid = errors.New("store: invalid request")
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
)

// KV is one stored key with its revisions.
type KV struct {
	Key   string
	Value []byte
	// CreateRevision is the revision of the transaction that created the key.
	CreateRevision int64
	// ModRevision is the revision of the transaction that last wrote it.
	ModRevision int64
}

// Cond is a precondition on one key, checked atomically with a transaction's
// operations.
type Cond struct {
	Key string
	// ModRevision 0 means the key must not exist; a positive value means the
	// key must exist and have been last written at exactly that revision.
	ModRevision int64
}

// Absent is the condition that key does not exist.
func Absent(key string) Cond { return Cond{Key: key} }

// At is the condition that key exists, unchanged since revision rev.
func At(key string, rev int64) Cond { return Cond{Key: key, ModRevision: rev} }

// Op is one write of a transaction.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Put writes value at key.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Delete removes key; deleting a missing key is not an error.
func Delete(key string) Op { return Op{Key: key, Delete: true} }

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change seen by a watch. For a delete, KV.Value is nil and
// KV.ModRevision is the revision of the deleting transaction.
type Event struct {
	Type EventType
	KV   KV
}

// WatchResponse carries the events of one transaction (in key order), or a
// terminal error after which the channel is closed.
type WatchResponse struct {
	Revision int64
	Events   []Event
	Err      error
}

// Store is the metadata store. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the current value of key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the prefix, sorted by key, and the store
	// revision the listing reflects.
	List(ctx context.Context, prefix string) ([]KV, int64, error)
	// Txn checks every condition and, only if all hold, applies every
	// operation as one atomic step at a single new revision, which it
	// returns. A failed condition returns an error wrapping ErrConflict and
	// writes nothing. A transaction with no operations writes nothing and
	// returns the current revision; so does one whose operations change
	// nothing (only deletes of missing keys), as etcd does. Deleting a
	// missing key makes no watch event.
	Txn(ctx context.Context, conds []Cond, ops []Op) (int64, error)
	// Watch streams the changes to keys with the prefix from revision
	// fromRev (inclusive) on; fromRev 0 means "changes after now". Responses
	// arrive in revision order. The channel is closed when ctx ends or after a
	// response carrying Err (ErrCompacted when fromRev is older than the
	// history the backend keeps).
	Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse
	// Close releases the store.
	Close() error
}

// Validate checks a transaction against the limits every backend enforces.
func Validate(conds []Cond, ops []Op) error {
	if len(conds)+len(ops) > MaxTxnOps {
		return fmt.Errorf("%w: %d conditions and operations, at most %d", ErrInvalid, len(conds)+len(ops), MaxTxnOps)
	}
	seen := make(map[string]bool, len(ops))
	total := 0
	for i, c := range conds {
		if err := ValidateKey(c.Key); err != nil {
			return fmt.Errorf("conds[%d]: %w", i, err)
		}
		if c.ModRevision < 0 {
			return fmt.Errorf("%w: conds[%d]: negative revision %d", ErrInvalid, i, c.ModRevision)
		}
	}
	for i, op := range ops {
		if err := ValidateKey(op.Key); err != nil {
			return fmt.Errorf("ops[%d]: %w", i, err)
		}
		if seen[op.Key] {
			return fmt.Errorf("%w: ops[%d]: key %q written twice in one transaction", ErrInvalid, i, op.Key)
		}
		seen[op.Key] = true
		if !op.Delete && len(op.Value) > MaxValueBytes {
			return fmt.Errorf("%w: ops[%d]: value of %d bytes, at most %d", ErrInvalid, i, len(op.Value), MaxValueBytes)
		}
		total += len(op.Key) + len(op.Value)
		if total > MaxTxnBytes {
			return fmt.Errorf("%w: transaction of more than %d bytes", ErrInvalid, MaxTxnBytes)
		}
	}
	return nil
}

// ValidateKey checks one key.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > MaxKeyBytes {
		return fmt.Errorf("%w: key of %d bytes, at most %d", ErrInvalid, len(key), MaxKeyBytes)
	}
	return nil
}
