//go:build windows

package core

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows maps files with CreateFileMapping and MapViewOfFile, which differ
// from mmap in two ways this file absorbs:
//
//   - A writable mapping longer than its file extends the file to the
//     mapping's length (mmap leaves pages past the end to fault instead).
//     The engine already extends its files ahead of their data (growFile)
//     and keeps the lengths that matter in the index, so a file grown to
//     its mapping is the same as one grown by growFile, only sooner.
//   - A read-only mapping can not be longer than its file. mapShared then
//     maps the file as it is and returns a shorter slice; the callers
//     already handle a mapping shorter than the header describes (another
//     process grew the file) by mapping again.
//
// A mapped file can not be truncated, and one with an open handle can be
// renamed or removed only if every handle was opened with
// FILE_SHARE_DELETE: openFile (openfile_windows.go) opens all of the
// engine's files so.

// mapKind is how a view was made, which decides what dropPages may do.
type mapKind uint8

const (
	kindFile mapKind = iota // a view of a file, shared or copy-on-write
	kindAnon                // private memory from VirtualAlloc
)

// views records the kind of every mapping by its base address: unmap must
// free anonymous memory with VirtualFree and views with UnmapViewOfFile.
var views = struct {
	sync.Mutex
	kind map[uintptr]mapKind
}{kind: make(map[uintptr]mapKind)}

func remember(addr uintptr, k mapKind) {
	views.Lock()
	views.kind[addr] = k
	views.Unlock()
}

// mapShared maps length bytes of f shared, so stores are seen by every
// process and survive the death of this one. A writable mapping extends
// the file to length; a read-only one is cut to the file's size.
func mapShared(f *os.File, length int64, writable bool) ([]byte, error) {
	prot, access := uint32(windows.PAGE_READONLY), uint32(windows.FILE_MAP_READ)
	if writable {
		prot, access = windows.PAGE_READWRITE, windows.FILE_MAP_WRITE
	} else {
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
		}
		length = min(length, st.Size())
	}
	return mapView(f, length, prot, access)
}

// mapPrivate maps length bytes of f copy-on-write. The ordered mode, its
// only user on unix, is not chosen on Windows (see orderedMappings), so
// this serves nothing but symmetry with mmap_unix.go; it is a real
// FILE_MAP_COPY view all the same. The file must already be length bytes
// long: a copy-on-write mapping does not extend it.
func mapPrivate(f *os.File, length int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
	}
	return mapView(f, min(length, st.Size()), windows.PAGE_WRITECOPY, windows.FILE_MAP_COPY)
}

func mapView(f *os.File, length int64, prot, access uint32) ([]byte, error) {
	if length <= 0 {
		// CreateFileMapping refuses an empty file; there is nothing to map.
		return []byte{}, nil
	}
	h, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, prot, uint32(uint64(length)>>32), uint32(length), nil)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
	}
	// The view keeps the mapping object alive; its handle is not needed.
	defer windows.CloseHandle(h)
	addr, err := windows.MapViewOfFile(h, access, 0, 0, uintptr(length))
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), mapErrno(err))
	}
	remember(addr, kindFile)
	return sliceAt(addr, length), nil
}

// mapAnon returns length bytes of private, zeroed memory: network mode keeps
// its copy of the index there. Windows charges committed memory against
// the commit limit at once but gives it pages only when touched.
func mapAnon(length int64) ([]byte, error) {
	addr, err := windows.VirtualAlloc(0, uintptr(length), windows.MEM_RESERVE|windows.MEM_COMMIT, windows.PAGE_READWRITE)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", mapErrno(err))
	}
	remember(addr, kindAnon)
	return sliceAt(addr, length), nil
}

// copyOnWriteDiscard says whether dropPages can hand a copy-on-write
// view's private pages back to the file: not on Windows, short of
// unmapping the view, which readers may be reading. So Options.Sync, whose
// ordered mode needs it, uses the network mode's private copy on Windows
// (mode.go).
const copyOnWriteDiscard = false

// errNoDiscard is dropPages's answer for a copy-on-write view: Windows can
// not hand such pages back to the file short of unmapping the view.
var errNoDiscard = errors.New("the private pages of a copy-on-write view can not be discarded on Windows")

// dropPages discards the bytes of m that cover [off, off+n): for
// anonymous memory (network mode's copies, the only private mappings
// that reach it on Windows) they read as zeros afterwards, as after
// MADV_DONTNEED. Zeroing by hand rather than with MEM_RESET, whose
// contents afterwards are undefined, keeps that promise.
func dropPages(m []byte, off, n int64) error {
	const page = 4096
	start := off &^ (page - 1)
	end := min((off+n+page-1)&^(page-1), int64(len(m)))
	if start >= end {
		return nil
	}
	views.Lock()
	k, ok := views.kind[uintptr(unsafe.Pointer(&m[0]))]
	views.Unlock()
	if ok && k == kindFile {
		return errNoDiscard
	}
	clear(m[start:end])
	return nil
}

func unmap(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	views.Lock()
	k := views.kind[addr]
	delete(views.kind, addr)
	views.Unlock()
	if k == kindAnon {
		return windows.VirtualFree(addr, 0, windows.MEM_RELEASE)
	}
	return windows.UnmapViewOfFile(addr)
}

// sliceAt makes a slice over n bytes of memory the system gave at addr,
// outside Go's heap. Filling in the slice header, rather than converting
// the address to a pointer, keeps go vet's unsafe.Pointer check meaningful
// for the rest of the package.
func sliceAt(addr uintptr, n int64) []byte {
	var b []byte
	h := (*struct {
		data     uintptr
		len, cap int
	})(unsafe.Pointer(&b))
	h.data, h.len, h.cap = addr, int(n), int(n)
	return b
}
