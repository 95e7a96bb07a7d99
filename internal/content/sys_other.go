//go:build !unix

package content

import "os"

const openNoFollow = os.O_RDONLY

// lockDir only creates the lock file: without flock, keeping two Stores off
// one directory is the caller's job.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, tempMode)
}
