//go:build unix

package core

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

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
	// x/sys/unix, not syscall: the standard library has no Madvise on
	// darwin.
	return unix.Madvise(m[start:end], unix.MADV_DONTNEED)
}

func unmap(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}

// copyOnWriteDiscard says dropPages can hand a copy-on-write mapping's
// private pages back to the file (MADV_DONTNEED), which the ordered mode
// needs.
const copyOnWriteDiscard = true
