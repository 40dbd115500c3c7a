//go:build unix

package core

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock takes an exclusive flock without blocking.
func tryFlock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

func unFlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// flockUnsupported reports whether the filesystem refuses flock itself.
func flockUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}
