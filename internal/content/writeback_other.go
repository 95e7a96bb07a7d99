//go:build !linux

package content

func writeback(tempFile) func(off, n int64) { return nil }
