package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// index is the mapped index file. Writers change it only while holding the
// writer lock and inside a journaled transaction; readers copy out of it
// without a lock and validate what they copied with the seqlock.
//
// The file is mapped in proportion to its size and mapped again, larger,
// when it grows (indexmap.go), so there are two views of the mapping: the
// newest one, which lock-free readers load atomically (mem), and the
// writer's (m), which only the holder of the writer lock reads or replaces.
type index struct {
	f *os.File
	// m is the writer's mapping; only [0, file size) is backed. Only the
	// holder of the writer lock (or Open, before the cache is shared) may
	// read or replace the field; readers use mem.
	m     []byte
	cur   atomic.Pointer[[]byte] // the newest mapping, for readers
	mapMu sync.Mutex             // serialises remaps
	maps  [][]byte               // every mapping made, unmapped by close
	limit int64                  // the largest the writer may grow the file
	rw    bool                   // mapped writable
	io    ioMode
	ctr   []byte // the statistics counters' page, shared (nil in network mode)
	ctrM  []byte // a separate mapping behind ctr, when there is one
	// cut says why the file was shorter than its header said when it was
	// opened (empty: it was not), found before the first mapping: on
	// Windows a writable mapping extends the file to its length, which
	// would hide the cut (validate reports it; a rebuild clears it).
	cut string
}

// openIndex opens and maps the index file, which may grow to limit bytes.
func openIndex(path string, mode os.FileMode, limit int64, readOnly bool, io ioMode) (*index, error) {
	flags := os.O_RDWR | os.O_CREATE
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := openFile(path, flags, mode)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", mapErrno(err))
	}
	x := &index{f: f, io: io, limit: limit, rw: !readOnly}
	size, err := x.cutShort()
	if err == nil {
		err = x.mapFirst(size)
	}
	if err == nil {
		switch io {
		case ioShared:
			// The first mapping stays until close, so the counters can
			// live in it whatever later mappings there are.
			x.ctr = x.m
		case ioOrdered:
			// The counters are updated outside transactions, so they need
			// a shared view of their own; a page past the end of a file
			// that is still empty is only touched once the header exists.
			x.ctrM, err = mapShared(f, 4096, !readOnly)
			x.ctr = x.ctrM
		}
	}
	if err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

func (x *index) close() error {
	var err error
	for _, m := range x.maps {
		if uerr := unmap(m); err == nil {
			err = uerr
		}
	}
	x.maps, x.m = nil, nil
	if uerr := unmap(x.ctrM); err == nil {
		err = uerr
	}
	x.ctrM, x.ctr = nil, nil
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (x *index) seqPtr() *uint64 { return (*uint64)(unsafe.Pointer(&x.mem()[offSeq])) }
func (x *index) seq() uint64     { return atomic.LoadUint64(x.seqPtr()) }

func (x *index) counter(off int64) *uint64 { return (*uint64)(unsafe.Pointer(&x.ctr[off])) }

// fileBytes is the size of the index file on disk.
func (x *index) fileBytes() (int64, error) {
	st, err := x.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// cutShort sets x.cut when the file, read before any mapping of this
// process, is shorter than the length its header records, and returns the
// file's size. Writers extend the file before they record a new length, so
// a header read between two equal sizes that records more than that size
// means the file was cut (a size that moved meanwhile is read again).
func (x *index) cutShort() (int64, error) {
	for {
		before, err := x.fileBytes()
		if err != nil || before < int64(len(idxMagic)) {
			return before, err
		}
		hdr := make([]byte, min(before, offFileSize+8))
		if _, err := x.f.ReadAt(hdr, 0); err != nil {
			return 0, fmt.Errorf("read index: %w", mapErrno(err))
		}
		after, err := x.fileBytes()
		if err != nil {
			return 0, err
		}
		if after != before {
			continue
		}
		switch {
		case string(hdr[:8]) != idxMagic:
			// No header to compare with: prepare lays one down or rebuilds.
		case after < headerSize:
			x.cut = fmt.Sprintf("index file of %d bytes, shorter than its header, when opened", after)
		case int64(getU64(hdr, offFileSize)) > after:
			x.cut = fmt.Sprintf("index size %d, file %d when opened", getU64(hdr, offFileSize), after)
		}
		return after, nil
	}
}

// initialised reports whether the file holds a complete header.
func (x *index) initialised() (bool, error) {
	n, err := x.fileBytes()
	if err != nil {
		return false, err
	}
	return n >= headerSize && string(x.m[:8]) == idxMagic, nil
}

// create lays down an empty index; called with the writer lock held, on a
// file whose header is missing or incomplete (a creator may have died).
func (x *index) create(nextSeg uint32) error {
	if err := x.layout(nextSeg); err != nil {
		return err
	}
	// The magic goes last: a file without it is re-created.
	copy(x.m[:8], idxMagic)
	return nil
}

// layout lays down an empty index without its magic. The sequence number
// is left as it is: readers of a mapping go by it.
func (x *index) layout(nextSeg uint32) error {
	first := int64(headerSize)
	entries := first
	buckets := entries + int64(chunkCap(0))*entrySize
	end := buckets + initBuckets*bucketSize
	if err := growFile(x.f, end); err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	clear(x.m[:offSeq])
	clear(x.m[offSeq+8 : end])
	m := x.m
	putU32(m, offVersion, formatVersion)
	putU32(m, offHdrSize, headerSize)
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	copy(m[offInstance:], id[:])
	putU32(m, offEntryHigh, firstEntryID)
	putU64(m, offBucketOff, uint64(buckets))
	putU64(m, offBucketCap, initBuckets)
	putU64(m, offEntryChunk, uint64(entries))
	putU64(m, offFileSize, uint64(end))
	putU32(m, offNextSeg, max(nextSeg, 1))
	putU64(m, offLogSeq, 1)
	x.sealState()
	return nil
}

// validate checks the header of an existing index and its size.
func (x *index) validate() error {
	if err := x.validateHeader(); err != nil {
		return err
	}
	if x.cut != "" {
		return fmt.Errorf("%w: %s", ErrCorrupted, x.cut)
	}
	n, err := x.fileBytes()
	if err != nil {
		return err
	}
	if fs := int64(getU64(x.m, offFileSize)); fs > n || fs < headerSize || fs > int64(len(x.mem())) {
		return fmt.Errorf("%w: index size %d, file %d", ErrCorrupted, fs, n)
	}
	return nil
}

// validateHeader checks magic, version and the state checksum.
func (x *index) validateHeader() error {
	m := x.m
	if string(m[:8]) != idxMagic {
		return fmt.Errorf("%w: index magic", ErrCorrupted)
	}
	if v := getU32(m, offVersion); v != formatVersion {
		if v > formatVersion && v < formatVersion+64 {
			return fmt.Errorf("%w: index format version %d, this build reads %d (%w)", ErrCorrupted, v, formatVersion, errNewerFormat)
		}
		return fmt.Errorf("%w: index format version %d, this build reads %d", ErrCorrupted, v, formatVersion)
	}
	if getU32(m, offHdrSize) != headerSize {
		return fmt.Errorf("%w: index header size", ErrCorrupted)
	}
	if !x.stateOK() {
		return fmt.Errorf("%w: index header checksum", ErrCorrupted)
	}
	return nil
}

// errNewerFormat marks an index written by a newer release: not damage,
// so it is never reset.
var errNewerFormat = errors.New("written by a newer diskcache-go")

func (x *index) stateSum() uint64 { return xxhash.Sum64(x.mem()[offState:offStateEnd]) }
func (x *index) stateOK() bool    { return getU64(x.mem(), offStateSum) == x.stateSum() }
func (x *index) sealState()       { putU64(x.m, offStateSum, x.stateSum()) }

func (x *index) instance() uint64 { return getU64(x.mem(), offInstance) }

// entryOff returns the offset of entry id, or -1 when id is out of range.
// Readers call it with ids read without a lock, so it checks everything.
func (x *index) entryOff(id uint32) int64 { return entryIn(x.mem(), id) }

// entryIn is entryOff in mapping m.
func entryIn(m []byte, id uint32) int64 {
	if id == nilID || id == tombstone || id >= getU32(m, offEntryHigh) {
		return -1
	}
	k, i := chunkOf(uint64(id))
	base := int64(getU64(m, offEntryChunk+int64(k)*8))
	if base < headerSize {
		return -1
	}
	off := base + int64(i)*entrySize
	if off+entrySize > int64(getU64(m, offFileSize)) || off+entrySize > int64(len(m)) {
		return -1
	}
	return off
}

// entry returns the 160 bytes of entry id (nil when out of range).
func (x *index) entry(id uint32) []byte { return entryAt(x.mem(), id) }

func entrySum(e []byte) uint64 { return xxhash.Sum64(e[:eSum]) }
func entryOK(e []byte) bool    { return getU64(e, eSum) == entrySum(e) }

// buckets returns the bucket table's offset and capacity.
func (x *index) buckets() (off int64, capacity uint64) {
	m := x.mem()
	return int64(getU64(m, offBucketOff)), getU64(m, offBucketCap)
}

func (x *index) u32(off int64) uint32 { return getU32(x.mem(), off) }
func (x *index) u64(off int64) uint64 { return getU64(x.mem(), off) }
