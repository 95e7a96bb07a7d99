package content

import (
	"context"
	_ "crypto/sha256" // registers digest.SHA256
	_ "crypto/sha512" // registers digest.SHA512
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rolepull/rolepull/internal/clock"
	"github.com/rolepull/rolepull/internal/store"
)

// Defaults for the zero Options.
const (
	DefaultMaxBlobBytes = 64 << 30
	DefaultGCGrace      = 10 * time.Minute
)

// MaxOwnerBytes bounds an owner name.
const MaxOwnerBytes = 256

// copyBufferBytes is the buffer of every streaming copy and re-hash.
const copyBufferBytes = 1 << 20

const (
	dirMode  = 0o700
	blobMode = 0o444
	tempMode = 0o600
)

var (
	// ErrNotFound reports that no committed blob has the digest.
	ErrNotFound = errors.New("content: blob not found")
	// ErrDigestMismatch reports that the bytes fetched do not hash to the
	// digest asked for; nothing was committed.
	ErrDigestMismatch = errors.New("content: digest mismatch")
	// ErrSizeMismatch reports that the bytes fetched are not as many as the
	// size asked for; nothing was committed.
	ErrSizeMismatch = errors.New("content: size mismatch")
	// ErrWrongSize is the ErrSizeMismatch that fetching again cannot mend:
	// more bytes arrived than the size asked for, or the blob already
	// stored under the digest has another size. The size is wrong.
	ErrWrongSize = fmt.Errorf("%w: the size asked for is wrong", ErrSizeMismatch)
	// ErrTooLarge reports a blob larger than Options.MaxBlobBytes.
	ErrTooLarge = errors.New("content: blob too large")
	// ErrInvalidDigest reports a digest that is malformed or not sha256 or
	// sha512; it is rejected before it names any file.
	ErrInvalidDigest = errors.New("content: invalid digest")
	// ErrInvalidOwner reports an empty owner or one over MaxOwnerBytes.
	ErrInvalidOwner = errors.New("content: invalid owner")
	// ErrLocked reports that another Store (in this or another process)
	// has the directory open.
	ErrLocked = errors.New("content: directory in use")
	// ErrClosed reports use of a closed Store.
	ErrClosed = errors.New("content: store closed")
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// Logger receives what the store repairs or removes. Nil discards.
	Logger *slog.Logger
	// Clock stamps commit times and ages blobs for GC. Nil is the real clock.
	Clock clock.Clock
	// MaxBlobBytes caps one blob. Default DefaultMaxBlobBytes.
	MaxBlobBytes int64
	// GCGrace is how long an unpinned blob survives after it was committed
	// or last asked for by Ingest. Default DefaultGCGrace.
	GCGrace time.Duration
}

// GCStats says what one GC removed.
type GCStats struct {
	BlobsRemoved  int
	BytesRemoved  int64
	IngestRemoved int
}

// Store is the node's content-addressed blob store. It is safe for
// concurrent use. See the package documentation for the layout and the
// commit protocol.
type Store struct {
	dir     string
	meta    store.Store
	log     *slog.Logger
	clock   clock.Clock
	maxBlob int64
	grace   time.Duration
	lock    *os.File // holds the exclusive flock on dir/lock

	// createTemp creates an ingest file exclusively; a seam so tests can
	// inject a failing disk.
	createTemp func(path string) (tempFile, error)
	// hook, when set, is called at each named step of the commit protocol;
	// the crash test kills the process there.
	hook func(step string)

	// gcMu orders GC's decide-and-remove phase against everything that
	// makes a blob live: a commit's rename, Ingest's refresh of a present
	// blob and Pin's transaction hold it shared; GC holds it exclusively
	// from reading the pins to the last removal. See gc.go for why that is
	// enough.
	gcMu sync.RWMutex

	mu      sync.Mutex // guards the fields below
	closed  bool
	flights map[digest.Digest]*flight
	active  map[string]bool // base names in ingest/ that an Ingest is writing
}

// tempFile is what Ingest needs of an ingest file.
type tempFile interface {
	io.Writer
	Chmod(fs.FileMode) error
	Sync() error
	Close() error
}

func createTemp(path string) (tempFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, tempMode)
}

// emptyDigests are the digests of the empty blob, the only blobs a zero-byte
// file may hold.
var emptyDigests = map[digest.Digest]bool{
	digest.SHA256.FromBytes(nil): true,
	digest.SHA512.FromBytes(nil): true,
}

// Open opens the store in dir, creating it if needed, and makes it
// consistent: every file a previous process left in ingest/ is deleted
// (partial writes are never resumed into visibility) and every blob file
// that cannot be a committed blob — not a regular file, or empty while its
// digest is not the empty blob's — is removed. A full re-hash is Verify's
// job. meta holds the pins under "content/pins/".
//
// Only one Store may have dir open at a time, in any process; Close
// releases it.
func Open(dir string, meta store.Store, opts Options) (*Store, error) {
	if meta == nil {
		return nil, errors.New("content: open: nil metadata store")
	}
	if opts.MaxBlobBytes < 0 || opts.GCGrace < 0 {
		return nil, fmt.Errorf("content: open %s: negative option", dir)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBlobBytes == 0 {
		opts.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if opts.GCGrace == 0 {
		opts.GCGrace = DefaultGCGrace
	}
	s := &Store{
		dir:        filepath.Clean(dir),
		meta:       meta,
		log:        opts.Logger,
		clock:      clock.Or(opts.Clock),
		maxBlob:    opts.MaxBlobBytes,
		grace:      opts.GCGrace,
		createTemp: createTemp,
		flights:    make(map[digest.Digest]*flight),
		active:     make(map[string]bool),
	}
	for _, d := range []string{s.dir, s.ingestDir(), s.blobDir(digest.SHA256), s.blobDir(digest.SHA512)} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, fmt.Errorf("content: open: %w", err)
		}
	}
	lock, err := lockDir(filepath.Join(s.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("content: open %s: %w", s.dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		_ = s.lock.Close()
		return nil, err
	}
	return s, nil
}

// recover deletes the previous process's ingest files and the blob files
// that cannot be committed blobs.
func (s *Store) recover() error {
	entries, err := os.ReadDir(s.ingestDir())
	if err != nil {
		return fmt.Errorf("content: open: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.ingestDir(), e.Name())); err != nil {
			return fmt.Errorf("content: open: remove stale ingest file: %w", err)
		}
	}
	if len(entries) > 0 {
		s.log.Info("removed stale ingest files", "count", len(entries))
	}
	removed := 0
	err = s.walkBlobsForeign(func(d digest.Digest, path string, fi fs.FileInfo) error {
		if trusted(d, fi) {
			return nil
		}
		s.log.Warn("removing untrusted blob file", "digest", d, "size", fi.Size(), "mode", fi.Mode().String())
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("content: open: %s: remove untrusted blob file: %w", d, err)
		}
		removed++
		return nil
	}, func(path string) {
		s.log.Warn("ignoring foreign file in blob directory", "path", path)
	})
	if err != nil {
		return err
	}
	if removed > 0 {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			if err := syncDir(s.blobDir(alg)); err != nil {
				return fmt.Errorf("content: open: %w", err)
			}
		}
	}
	return nil
}

// Close cancels the fetches in flight, waits for them to end and releases
// the directory. Blobs already committed stay.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	flights := make([]*flight, 0, len(s.flights))
	for _, f := range s.flights {
		f.cancel()
		flights = append(flights, f)
	}
	s.mu.Unlock()
	for _, f := range flights {
		<-f.done
	}
	return s.lock.Close() // closing the descriptor drops the flock
}

// Has reports whether a committed blob has the digest.
func (s *Store) Has(ctx context.Context, dgst digest.Digest) (bool, error) {
	_, err := s.Size(ctx, dgst)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Size returns the size of the committed blob, or ErrNotFound.
func (s *Store) Size(ctx context.Context, dgst digest.Digest) (int64, error) {
	if err := checkDigest(dgst); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := s.stat(dgst)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Open opens the committed blob for reading, or returns ErrNotFound. The
// reader is an *os.File, so it also implements io.ReaderAt and io.Seeker; it
// stays readable even if GC removes the blob meanwhile.
func (s *Store) Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error) {
	if err := checkDigest(dgst); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.blobPath(dgst), openNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dgst)
	}
	if err != nil {
		return nil, fmt.Errorf("content: %s: %w", dgst, err)
	}
	fi, err := f.Stat()
	if err == nil && !trusted(dgst, fi) {
		err = fmt.Errorf("%w: %s: untrusted blob file", ErrNotFound, dgst)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// Path returns where the committed blob with the digest lives, for
// read-only use (a reader that needs a path, such as an unpacker). It is ""
// for an invalid digest. The file may not exist; check with Has.
func (s *Store) Path(dgst digest.Digest) string {
	if checkDigest(dgst) != nil {
		return ""
	}
	return s.blobPath(dgst)
}

// checkOpen fails once Close was called: the directory lock is gone, so
// nothing may remove files any more.
func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// stat returns the blob file's info if it holds a committed blob.
func (s *Store) stat(dgst digest.Digest) (fs.FileInfo, error) {
	fi, err := os.Lstat(s.blobPath(dgst))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dgst)
	}
	if err != nil {
		return nil, fmt.Errorf("content: %s: %w", dgst, err)
	}
	if !trusted(dgst, fi) {
		return nil, fmt.Errorf("%w: %s: untrusted blob file (%s, %d bytes)", ErrNotFound, dgst, fi.Mode().Type(), fi.Size())
	}
	return fi, nil
}

// trusted is the cheap check on a blob file: a regular file, and not empty
// unless the digest is the empty blob's (zero-byte layers after an unclean
// shutdown are the classic failure of stores that skip it).
func trusted(dgst digest.Digest, fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && (fi.Size() > 0 || emptyDigests[dgst])
}

// checkDigest accepts only well-formed sha256 and sha512 digests; every
// other input is rejected before it is used in a path.
func checkDigest(dgst digest.Digest) error {
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("%w %.100q: %v", ErrInvalidDigest, string(dgst), err)
	}
	switch dgst.Algorithm() {
	case digest.SHA256, digest.SHA512:
		return nil
	}
	return fmt.Errorf("%w %.100q: algorithm %s is not accepted, only sha256 and sha512", ErrInvalidDigest, string(dgst), dgst.Algorithm())
}

func (s *Store) ingestDir() string { return filepath.Join(s.dir, "ingest") }

func (s *Store) blobDir(alg digest.Algorithm) string {
	return filepath.Join(s.dir, "blobs", string(alg))
}

// blobPath is only ever called with a digest checkDigest accepted.
func (s *Store) blobPath(dgst digest.Digest) string {
	return filepath.Join(s.blobDir(dgst.Algorithm()), dgst.Encoded())
}

// walkBlobs calls fn for every file in blobs/ whose name is a valid digest
// of its directory's algorithm; other names are skipped (Open logs them).
func (s *Store) walkBlobs(fn func(d digest.Digest, path string, fi fs.FileInfo) error) error {
	return s.walkBlobsForeign(fn, nil)
}

func (s *Store) walkBlobsForeign(fn func(d digest.Digest, path string, fi fs.FileInfo) error, foreign func(path string)) error {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		dir := s.blobDir(alg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("content: read %s: %w", dir, err)
		}
		for _, e := range entries {
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if checkDigest(d) != nil {
				if foreign != nil {
					foreign(filepath.Join(dir, e.Name()))
				}
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return fmt.Errorf("content: %s: %w", d, err)
			}
			if err := fn(d, filepath.Join(dir, e.Name()), fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncDir fsyncs a directory, making the renames and removals in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err // an *fs.PathError naming the directory
}

// step calls the crash-test hook.
func (s *Store) step(name string) {
	if s.hook != nil {
		s.hook(name)
	}
}
