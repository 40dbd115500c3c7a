//go:build unix

package core

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// mapSize is how many bytes to map of a file that must show n bytes: the
// power of two at or above 2n, and no less than least (a power of two). Mapping
// in proportion to the file, rather than reserving its largest size up
// front, is what lets a process under an address-space limit (ulimit -v)
// open caches at all, and hold thousands of them; the headroom makes the
// remaps a growing file needs rare (one per doubling).
func mapSize(n, least int64) int64 { return pow2At(2*n, least) }

// mapShared maps length bytes of f read-write and shared, so stores are seen
// by every process and survive the death of this one (they live in the page
// cache). length may exceed the file: pages past its end fault until the
// file grows over them.
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

// mapPrivate maps length bytes of f copy-on-write: untouched pages show the
// file (and so every other process's committed writes), pages this process
// writes become its own until dropPages gives them back. A writer that must
// order its writes to the file (Options.Sync) changes the index this way
// and then writes the changed regions with pwrite.
func mapPrivate(f *os.File, length int64) ([]byte, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, int(length), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
	}
	return b, nil
}

// mapAnon reserves length bytes of private memory (pages are only
// allocated when touched): network mode keeps its copy of the index there.
func mapAnon(length int64) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, int(length), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", mapErrno(err))
	}
	return b, nil
}

// dropPages discards this process's copies of the pages of a private file
// mapping that cover b, so the next access reads the file again.
func dropPages(m []byte, off, n int64) error {
	const page = 4096
	start := off &^ (page - 1)
	end := (off + n + page - 1) &^ (page - 1)
	if end > int64(len(m)) {
		end = int64(len(m))
	}
	if start >= end {
		return nil
	}
	return syscall.Madvise(m[start:end], syscall.MADV_DONTNEED)
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
	logOp("extend", f, size, nil)
	return nil
}

// pow2At is the power of two at or above n, and no less than least (a
// power of two).
func pow2At(n, least int64) int64 {
	s := least
	for s < n {
		s *= 2
	}
	return s
}
