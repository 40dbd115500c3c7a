//go:build unix

package core

import (
	"errors"
	"fmt"
	"syscall"
)

// mapErrno turns the errnos users can act on into sentinels.
func mapErrno(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case syscall.ENOSPC, syscall.EDQUOT:
		return fmt.Errorf("%w: %w", ErrFull, err)
	case syscall.EACCES, syscall.EPERM, syscall.EROFS:
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}
