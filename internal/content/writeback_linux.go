//go:build linux

package content

import "syscall"

// writeback returns a function that starts the writeback of a range of f
// (sync_file_range SYNC_FILE_RANGE_WRITE: asynchronous, no metadata, no
// durability by itself — the fsync before the rename still gives that).
func writeback(f tempFile) func(off, n int64) {
	sc, ok := f.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func(off, n int64) {
		_ = rc.Control(func(fd uintptr) {
			_ = syscall.SyncFileRange(int(fd), off, n, 0x2 /* SYNC_FILE_RANGE_WRITE */)
		})
	}
}
