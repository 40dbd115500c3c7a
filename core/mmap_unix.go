//go:build unix

package core

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// mapShared maps length bytes of f read-write and shared, so stores are seen
// by every process and survive the death of this one (they live in the page
// cache). length may exceed the file: the file grows into the reservation.
func mapShared(f *os.File, length int64, writable bool) ([]byte, error) {
	prot := syscall.PROT_READ
	if writable {
		prot |= syscall.PROT_WRITE
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(length), prot, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
	}
	return b, nil
}

func unmap(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}

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

// growFile extends f to size bytes with real blocks, so a later store into
// the mapping can not fault with SIGBUS on a full disk.
func growFile(f *os.File, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return nil
	}
	if err := fallocate(f, st.Size(), size-st.Size()); err != nil {
		return mapErrno(err)
	}
	return nil
}
