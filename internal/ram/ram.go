package ram

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/policy"
	"github.com/rolepull/rolepull/internal/store"
)

// Options configure a Service.
type Options struct {
	Clock  clock.Clock  // nil: the system clock
	Logger *slog.Logger // nil: discard
}

// Service is RAM over a store. It is safe for concurrent use.
type Service struct {
	st    store.Store
	keys  *keyring.Keyring
	clock clock.Clock
	log   *slog.Logger

	system map[string]systemPolicy // lower-case name → compiled system policy

	// compiled caches parsed documents by their text: evaluation re-reads
	// attachments from the store every time (so revocation is immediate) but
	// need not re-parse a document it has seen.
	mu       sync.Mutex
	compiled map[string]*policy.Policy
	// stored caches a custom policy's compiled default version by its
	// store key and revision: a decision still reads the key, so a change
	// or a deletion applies at once, but need not decode a record it has
	// seen at that revision.
	stored map[string]storedPolicy
}

type storedPolicy struct {
	rev   int64
	named policy.Named
}

// New returns a Service over st, deriving secrets with keys.
func New(st store.Store, keys *keyring.Keyring, opts Options) (*Service, error) {
	if st == nil || keys == nil {
		return nil, errors.New("ram: a store and a keyring are required")
	}
	system, err := compileSystemPolicies()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		st:       st,
		keys:     keys,
		clock:    clock.Or(opts.Clock),
		log:      log,
		system:   system,
		compiled: make(map[string]*policy.Policy),
		stored:   make(map[string]storedPolicy),
	}, nil
}

// maxCompiled bounds the document cache; past it the cache starts over.
const maxCompiled = 4096

// compile parses a stored document through the cache. Stored documents were
// validated when written, so a failure here means the store was tampered
// with or the grammar narrowed; the caller fails closed.
func (s *Service) compile(kind policy.Kind, doc string) (*policy.Policy, error) {
	key := string(rune('0'+kind)) + doc
	s.mu.Lock()
	p, ok := s.compiled[key]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse(kind, []byte(doc))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.compiled) >= maxCompiled {
		clear(s.compiled)
	}
	s.compiled[key] = p
	s.mu.Unlock()
	return p, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Second) }

// Store keys. Names are folded to lower case in keys so that uniqueness is
// case-insensitive; the entity keeps its original spelling.
const prefix = "ram/"

func accountKey(uid string) string      { return prefix + "account/" + uid }
func accountNameKey(name string) string { return prefix + "account-name/" + strings.ToLower(name) }
func userKey(uid, name string) string   { return prefix + "user/" + uid + "/" + strings.ToLower(name) }
func userPrefix(uid string) string      { return prefix + "user/" + uid + "/" }
func accessKeyKey(id string) string     { return prefix + "accesskey/" + id }
func accessKeysOfKey(uid, user string) string {
	return prefix + "accesskeys-of/" + uid + "/" + strings.ToLower(user) // user "" is root: a trailing "/"
}
func roleKey(uid, name string) string { return prefix + "role/" + uid + "/" + strings.ToLower(name) }
func rolePrefix(uid string) string    { return prefix + "role/" + uid + "/" }
func policyKey(uid, name string) string {
	return prefix + "policy/" + uid + "/" + strings.ToLower(name)
}
func policyPrefix(uid string) string { return prefix + "policy/" + uid + "/" }

// attachKey records that a policy is attached to a principal; a second key
// indexes the same fact by policy, so a policy in use cannot be deleted.
func attachKey(uid string, kind PrincipalType, principal string, ptype PolicyType, pname string) string {
	return attachPrefix(uid, kind, principal) + string(ptype) + "/" + strings.ToLower(pname)
}
func attachPrefix(uid string, kind PrincipalType, principal string) string {
	return prefix + "attach/" + uid + "/" + string(kind) + "/" + strings.ToLower(principal) + "/"
}
func attachedToKey(uid string, ptype PolicyType, pname string, kind PrincipalType, principal string) string {
	return attachedToPrefix(uid, ptype, pname) + string(kind) + "/" + strings.ToLower(principal)
}
func attachedToPrefix(uid string, ptype PolicyType, pname string) string {
	return prefix + "attached-to/" + uid + "/" + string(ptype) + "/" + strings.ToLower(pname) + "/"
}

// get decodes the JSON value at key into v and returns its revision.
func (s *Service) get(ctx context.Context, key string, v any) (int64, error) {
	kv, err := s.st.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return 0, fmt.Errorf("ram: decode %s: %w", key, err)
	}
	return kv.ModRevision, nil
}

// list decodes every value under prefix.
func list[T any](ctx context.Context, st store.Store, prefix string) ([]T, error) {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(kvs))
	for _, kv := range kvs {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, fmt.Errorf("ram: decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs are marshalled here.
		panic(fmt.Sprintf("ram: marshal %T: %v", v, err))
	}
	return b
}

// randomDigits returns n random decimal digits, the first non-zero.
func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		d, err := rand.Int(rand.Reader, big.NewInt(10-lo))
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b.WriteByte(byte('0' + lo + d.Int64()))
	}
	return b.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n random characters of [A-Za-z0-9].
func randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			panic(err)
		}
		b[i] = alnum[d.Int64()]
	}
	return string(b)
}

// isConflict reports a lost compare-and-swap race.
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
