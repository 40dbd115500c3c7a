//go:build windows

package core

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// The writer lock on Windows: LockFileEx on the lock file's first byte,
// the call and range github.com/gofrs/flock uses, so the two exclude each
// other (see flock_unix.go for why the hot path does not go through
// gofrs/flock itself). Windows byte-range locks are mandatory: nothing
// reads or writes cache.dcg-lock, so that costs nothing here. The lock
// dies with its handle, so a killed writer releases it, as flock does.

// tryFlock takes the exclusive lock without waiting.
func tryFlock(f *os.File) (bool, error) {
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

func unFlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &windows.Overlapped{})
}

// flockUnsupported reports whether the filesystem refuses byte-range locks
// (some SMB servers and WebDAV redirectors).
func flockUnsupported(err error) bool {
	return errors.Is(err, windows.ERROR_NOT_SUPPORTED) || errors.Is(err, windows.ERROR_INVALID_FUNCTION)
}
