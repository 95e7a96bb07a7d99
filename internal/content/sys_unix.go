//go:build unix

package content

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openNoFollow opens a blob for reading without following a symlink planted
// in its place.
const openNoFollow = os.O_RDONLY | syscall.O_NOFOLLOW

// lockDir takes an exclusive, non-blocking flock on path, so that a second
// Store — whose Open would delete this one's ingest files — fails instead.
// The kernel drops the lock when the process dies, even by SIGKILL.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, tempMode)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by another store", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
