//go:build windows

package core

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/windows"
)

// mapErrno turns the Windows errors users can act on into sentinels, as
// errno_unix.go does with errnos. A sharing violation is not one of them:
// it means another handle is in the way, which the callers retry or report.
func mapErrno(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED:
		return fmt.Errorf("%w: %w", ErrFull, err)
	case windows.ERROR_ACCESS_DENIED, windows.ERROR_WRITE_PROTECT,
		// Go's stand-ins for the POSIX errnos, which portable code
		// (os, and this package's own checks) may return on Windows too.
		syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}
