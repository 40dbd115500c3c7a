package core

import (
	"sync/atomic"
	"unsafe"
)

// The index is mapped in proportion to its file (mapSize: the power of two
// at or above twice its size, at least minIndexMap), not at the largest
// size it may reach, so a small cache costs a few MiB of address space and
// a process can hold thousands of caches, or open one under ulimit -v. The
// mapping must then grow with the file: when this process's writer extends
// it (tx.alloc), and when a reader or a new writer finds the header
// describing a file longer than the mapping (another process grew it).
//
// Readers hold no lock, so one may be reading the old mapping while the new
// one is made: growing never unmaps. It maps the file again, larger, and
// publishes the new mapping atomically (x.cur); the old ones stay until
// close. Each is at least twice the one before, so together they come to
// less than twice the last. A reader loads the newest mapping at every
// accessor; in the shared mode all of them show the same page cache, so a
// read that spans two mappings reads the same bytes.
//
// In the private modes the writer's uncommitted changes live in its own
// mapping only (copy-on-write pages in the ordered mode, the whole copy in
// the network mode). There the writer grows its mapping itself, with the
// sequence number odd, and copies into the new mapping what only the old
// one holds; a reader of this process that saw both retries. The rule that
// follows for writer code: in those modes a slice of the writer's mapping
// taken before a tx.alloc must not be used after it (the code re-reads
// entries with t.ent or t.rd after any call that may allocate). A reader
// of the ordered mode never maps while the writer holds changes: it only
// remaps when the header shows a file longer than the newest mapping, and
// while this process's writer has changed anything the header it sees is
// the writer's, which its mapping covers.

// minIndexMap is the least the index is mapped: an empty index is 184 KiB,
// so this covers a few thousand entries before the first remap.
const minIndexMap = 1 << 20

// mem returns the newest mapping: what readers read.
func (x *index) mem() []byte { return *x.cur.Load() }

// mapFirst makes the first mapping, for a file of size bytes.
func (x *index) mapFirst(size int64) error {
	m, err := x.mapFile(mapSize(size, minIndexMap))
	if err != nil {
		return err
	}
	x.maps = append(x.maps, m)
	x.cur.Store(&m)
	x.m = m
	return nil
}

// mapFile maps size bytes of the index as this process's mode has it.
func (x *index) mapFile(size int64) ([]byte, error) {
	switch x.io {
	case ioOrdered:
		return mapPrivate(x.f, size)
	case ioNetwork:
		return mapAnon(size)
	}
	return mapShared(x.f, size, x.rw)
}

// sizeFor is the mapping size for a file that must show n bytes: mapSize,
// but not past the growth limit (a reader may still need more: then n).
func (x *index) sizeFor(n int64) int64 {
	size := mapSize(n, minIndexMap)
	if lim := (x.limit + 4095) &^ 4095; size > lim {
		size = max(lim, n)
	}
	return size
}

// follow is called with the size n that the header of the newest mapping
// gives for the file, when that passes the mapping: another process grew
// the file. It maps the file again if the file really is that long (a torn
// read can show any size); the caller re-reads either way, and its bounds
// checks turn a mapping that is still too short into a retry. The network
// mode's copy is only grown by its loader (loadNetAt), under the lock.
func (x *index) follow(n int64) {
	if x.io == ioNetwork {
		return
	}
	if size, err := x.fileBytes(); err != nil || size < n {
		return
	}
	x.mapMu.Lock()
	defer x.mapMu.Unlock()
	if n <= int64(len(x.mem())) {
		return // another thread did it
	}
	m, err := x.mapFile(x.sizeFor(n))
	if err != nil {
		return
	}
	x.maps = append(x.maps, m)
	x.cur.Store(&m)
}

// takeWriter readies the mapping for a writer that just took the lock
// with no transaction open: the newest mapping, covering the file as its
// header describes (another process may have grown it since this process
// last looked).
func (x *index) takeWriter() {
	if x.io != ioNetwork {
		m := x.mem()
		if fs := int64(getU64(m, offFileSize)); fs > int64(len(m)) {
			x.follow(fs)
		}
	}
	x.m = x.mem()
}

// grow makes the writer's mapping cover n bytes of the file; the caller
// holds the writer lock and, in the private modes, has made the sequence
// number odd. In the shared mode a mapping some reader already made may
// do. In the private modes the writer always maps anew and copies what
// only its mapping holds: the regions changed, for the ordered mode (its
// copy-on-write pages; see tx.spans), or the whole copy, for the network
// mode; the old mapping's pages are then given back (it stays mapped, for
// a reader still reading it, who will retry).
func (x *index) grow(n int64, changed []span) error {
	x.mapMu.Lock()
	defer x.mapMu.Unlock()
	if x.io == ioShared && n <= int64(len(x.mem())) {
		x.m = x.mem()
		return nil
	}
	m, err := x.mapFile(x.sizeFor(n))
	if err != nil {
		return err
	}
	old := x.m
	switch x.io {
	case ioOrdered:
		// The sequence number is odd: readers that see the new mapping
		// before the writer's changes wait for it like the others.
		atomic.StoreUint64(seqIn(m), atomic.LoadUint64(seqIn(old)))
		for _, s := range changed {
			copy(m[s.off:s.end], old[s.off:s.end])
		}
	case ioNetwork:
		end := int64(headerSize)
		if int64(len(old)) > offFileSize+8 {
			end = max(end, int64(getU64(old, offFileSize)))
		}
		copy(m, old[:min(end, int64(len(old)))])
	}
	x.maps = append(x.maps, m)
	x.cur.Store(&m)
	x.m = m
	if x.io != ioShared {
		// Only once the new mapping is published: a reader that reads the
		// old one after this sees the file (ordered) or zeros (network),
		// with a sequence number the new mapping never has, so its final
		// check, which loads the new one, fails. Before publishing, a read
		// could have begun and ended in the emptied mapping.
		dropPages(old, 0, int64(len(old)))
	}
	return nil
}

// seqIn points at the sequence number in mapping m.
func seqIn(m []byte) *uint64 { return (*uint64)(unsafe.Pointer(&m[offSeq])) }
