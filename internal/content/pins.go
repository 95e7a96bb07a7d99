package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/store"
)

// PinPrefix is where the pins live in the metadata store: one key
// PinPrefix+owner per owner, whose value is the JSON list of the digests it
// pins, sorted and without duplicates.
const PinPrefix = "content/pins/"

// Pin replaces the set of digests owner pins with digests, in one metadata
// transaction; an empty set is Unpin. Pinned blobs are never collected. A
// digest may be pinned before it is ingested — pinning first is the way to
// protect the blobs of a pull that takes longer than Options.GCGrace.
func (s *Store) Pin(ctx context.Context, owner string, digests []digest.Digest) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	var errs []error
	for i, d := range digests {
		if err := checkDigest(d); err != nil {
			errs = append(errs, fmt.Errorf("digests[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("content: pin %.100q: %w", owner, err)
	}
	set := slices.Clone(digests)
	slices.Sort(set)
	set = slices.Compact(set)
	if len(set) == 0 {
		return s.Unpin(ctx, owner)
	}
	val, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("content: pin %.100q: %w", owner, err)
	}
	if len(val) > store.MaxValueBytes {
		return fmt.Errorf("content: pin %.100q: %w: %d digests take %d bytes, at most %d", owner, store.ErrInvalid, len(set), len(val), store.MaxValueBytes)
	}
	// Shared with other pins and commits, exclusive with GC's removal phase.
	s.gcMu.RLock()
	defer s.gcMu.RUnlock()
	if _, err := s.meta.Txn(ctx, nil, []store.Op{store.Put(PinPrefix+owner, val)}); err != nil {
		return fmt.Errorf("content: pin %.100q: %w", owner, err)
	}
	return nil
}

// Unpin removes owner's pins; unpinning an owner with none is not an error.
func (s *Store) Unpin(ctx context.Context, owner string) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if _, err := s.meta.Txn(ctx, nil, []store.Op{store.Delete(PinPrefix + owner)}); err != nil {
		return fmt.Errorf("content: unpin %.100q: %w", owner, err)
	}
	return nil
}

// Pins returns the digests owner pins, sorted; none is a nil slice.
func (s *Store) Pins(ctx context.Context, owner string) ([]digest.Digest, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	kv, err := s.meta.Get(ctx, PinPrefix+owner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("content: pins of %.100q: %w", owner, err)
	}
	return decodePins(kv)
}

// allPins returns the union of every owner's pins. A record it cannot
// decode is an error, so GC removes nothing rather than guess.
func (s *Store) allPins(ctx context.Context) (map[digest.Digest]bool, error) {
	kvs, _, err := s.meta.List(ctx, PinPrefix)
	if err != nil {
		return nil, fmt.Errorf("content: list pins: %w", err)
	}
	pinned := make(map[digest.Digest]bool)
	for _, kv := range kvs {
		ds, err := decodePins(kv)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			pinned[d] = true
		}
	}
	return pinned, nil
}

func decodePins(kv store.KV) ([]digest.Digest, error) {
	var ds []digest.Digest
	if err := json.Unmarshal(kv.Value, &ds); err != nil {
		return nil, fmt.Errorf("content: pins record %.200q: %w", kv.Key, err)
	}
	for i, d := range ds {
		if err := checkDigest(d); err != nil {
			return nil, fmt.Errorf("content: pins record %.200q: [%d]: %w", kv.Key, i, err)
		}
	}
	return ds, nil
}

func checkOwner(owner string) error {
	if owner == "" || len(owner) > MaxOwnerBytes {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidOwner, len(owner), MaxOwnerBytes)
	}
	return nil
}

// Usage returns the total size of the committed blobs.
func (s *Store) Usage(ctx context.Context) (int64, error) {
	var total int64
	err := s.walkBlobs(func(d digest.Digest, _ string, fi fs.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if trusted(d, fi) {
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// OwnerUsage returns the total size of the committed blobs owner pins;
// pinned digests not (yet) committed count zero.
func (s *Store) OwnerUsage(ctx context.Context, owner string) (int64, error) {
	ds, err := s.Pins(ctx, owner)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, d := range ds {
		fi, err := s.stat(d)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}
