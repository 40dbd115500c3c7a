//go:build linux

package core

import (
	"errors"
	"os"
	"syscall"
)

func fallocate(f *os.File, off, n int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, off, n)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		// Some filesystems (tmpfs on old kernels, FUSE) lack fallocate.
		return writeZeros(f, off, n)
	}
	return err
}
