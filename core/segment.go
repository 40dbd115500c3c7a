package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Segments ("cache.dcg-XXXXXXXX.seg") hold records. The writer appends with
// pwrite; every process reads through a read-only mapping made once per
// segment and kept until Close. Segment ids only grow, so an id never names
// two files.
//
//	0   magic "DCGSEG01"
//	8   version u32 | id u32
//	16  index instance id u64
//	24  createSeq u64: the cache's record sequence number when the segment
//	    was made (compaction drops a delete record only when every other
//	    segment was made after it: see compact.go)
//	64  records
//
// The segment table in the index header holds, per slot, the segment id,
// its length (the top bit marks a segment compaction gave up on) and the
// bytes of live records in it.
const (
	segMagic  = "DCGSEG01"
	segHeader = 64
	segStuck  = 1 << 31 // slot length flag: compaction gave up on it
)

type segView struct {
	m []byte   // the read-only mapping (local modes)
	f *os.File // the descriptor read with pread (network mode)
}

func (v *segView) close() error {
	if v.f != nil {
		return v.f.Close()
	}
	return unmap(v.m)
}

type segments struct {
	dir     string
	mode    os.FileMode
	segSize int64
	inst    uint64
	net     bool // read records with pread: a mapping is not kept coherent
	durable bool // Options.Sync: fsync appends before the commit

	wDirty bool // the writer appended since the last fsync

	mu      sync.RWMutex
	views   map[uint32]*segView
	inTable func(id uint32) bool // whether the index still lists a segment

	// othersCanWrite is set once a segment file this handle maps could
	// have been written by another user (othersCanWrite). The Python layer
	// checks the files at open; a segment made later, by a process of the
	// owner whose file mode lets others write, is seen only here, when a
	// record in it is first read (SegmentOthersCanWrite).
	othersCanWrite atomic.Bool

	// trusted skips verifying records' checksums while a rebuild, which
	// has just verified every record it links, compares keys (a third of
	// its time); readers wait out a rebuild on the sequence number.
	trusted atomic.Bool

	wid uint32   // segment the writer's descriptor is open on
	wf  *os.File // writer's descriptor
	// wm maps the active segment writable (local mode without Sync), so an
	// append is a copy into the page cache instead of a pwrite: a write
	// system call was most of the cost a delete record added to a delete
	// (about 1 µs of 9). The file is extended ahead of the appends, in
	// steps, so a store never lands past its end (SIGBUS); wEnd is how far
	// it is known to reach. Segment files never shrink while they are
	// listed (trimLog zeroes instead of truncating), so wEnd stays true
	// across transactions and processes.
	wm   []byte
	wEnd int64
}

// mapAppends reports whether appends go through the writable mapping.
// Network mode needs pwrite (a mapping is not coherent between machines);
// Sync needs every write seen by the power-loss test and ordered by fsync.
func (s *segments) mapAppends() bool { return !s.net && !s.durable }

// growStep is how far ahead of the appends the active segment's file is
// extended.
func (s *segments) growStep() int64 { return max(64<<10, min(1<<20, s.segSize/8)) }

// put writes rec at off of the active segment.
func (s *segments) put(f *os.File, rec []byte, off int64) error {
	end := off + int64(len(rec))
	// A record of pages of its own is written with pwrite: through the
	// mapping each new page costs a fault (a 16 KiB set was a third
	// slower); small records share pages, and one fault serves many.
	if !s.mapAppends() || end > s.segSize || len(rec) > 2048 {
		return writeAt(f, rec, off)
	}
	if end > int64(len(s.wm)) {
		// The mapping grows with the file, as readers' do, so that a
		// small cache holds little address space.
		if err := s.remapWriter(f, end); err != nil {
			return err
		}
	}
	if end > s.wEnd {
		want := min(int64(len(s.wm)), (end+s.growStep()-1)/s.growStep()*s.growStep())
		if err := growFile(f, want); err != nil {
			return err
		}
		s.wEnd = want
	}
	copy(s.wm[off:end], rec)
	return nil
}

// writerMapSize is the length of the writer's mapping when it must reach
// need: a power of two from 1 MiB, at most the segment size.
func (s *segments) writerMapSize(need int64) int64 {
	n := int64(1 << 20)
	for n < need {
		n *= 2
	}
	return max(min(n, s.segSize), need)
}

// remapWriter maps the writer's segment again to reach need bytes. Only
// the writer (holding the lock) uses this mapping, so the old one can go.
func (s *segments) remapWriter(f *os.File, need int64) error {
	m, err := mapShared(f, s.writerMapSize(need), true)
	if err != nil {
		return err
	}
	if err := unmap(s.wm); err != nil {
		unmap(m)
		return err
	}
	s.wm = m
	return nil
}

func segPath(dir string, id uint32) string {
	return filepath.Join(dir, fmt.Sprintf("cache.dcg-%08x.seg", id))
}

func (s *segments) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for id, v := range s.views {
		if err := v.close(); err != nil && first == nil {
			first = err
		}
		delete(s.views, id)
	}
	if s.wf != nil {
		if err := s.wf.Close(); err != nil && first == nil {
			first = err
		}
		s.wf = nil
	}
	if s.wm != nil {
		if err := unmap(s.wm); err != nil && first == nil {
			first = err
		}
		s.wm, s.wEnd = nil, 0
	}
	return first
}

// minSegMap is the least a segment is mapped.
const minSegMap = 1 << 20

// view returns the view of segment id, mapping it on first use. A segment
// is mapped in proportion to its file (mapSize, up to the segment size),
// not at the segment size, so a small cache stays small; when a caller
// needs bytes up to need past the mapping (the active segment grew), the
// file is mapped again, larger, if it has them. Readers hold s.mu for
// reading while they use a view, so the outgrown mapping is unmapped at
// once, under the write lock. The caller holds s.mu for reading and checks
// its bounds against the view: a short view means a torn read or a
// truncated file.
func (s *segments) view(id uint32, need int64) (*segView, error) {
	if v := s.views[id]; v != nil && (v.f != nil || need <= int64(len(v.m))) {
		return v, nil
	}
	s.mu.RUnlock()
	defer s.mu.RLock()
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[id]
	if v != nil && (v.f != nil || need <= int64(len(v.m))) {
		return v, nil
	}
	f, err := openFile(segPath(s.dir, id), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		if v != nil {
			return v, nil // deleted since: the caller finds it short
		}
		// A torn read named a segment that is gone or not yet made.
		return nil, errRetry
	}
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", mapErrno(err))
	}
	if !s.othersCanWrite.Load() {
		if othersCanWriteFile(f) {
			s.othersCanWrite.Store(true)
		}
	}
	if s.net {
		v := &segView{f: f}
		s.prune()
		s.views[id] = v
		return v, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if v != nil && size < need {
		return v, nil
	}
	length := min(mapSize(size, minSegMap), max(s.segSize, size))
	m, err := mapShared(f, length, false)
	if err != nil {
		return nil, err
	}
	if v != nil {
		unmap(v.m)
		v.m = m
		return v, nil
	}
	v = &segView{m: m}
	// Prune before adding: the segment asked for may be one the table no
	// longer lists (a reader holding an old entry, or rebuild reading the
	// records of the index it replaces).
	s.prune()
	s.views[id] = v
	return v, nil
}

// prune unmaps views of segments that are no longer in the segment table
// (compacted away by some process), so their disk space comes back. It runs
// when a new segment is first mapped, which writes bring about regularly.
// The caller holds the write lock.
func (s *segments) prune() {
	if s.inTable == nil {
		return
	}
	for id, v := range s.views {
		if !s.inTable(id) {
			v.close()
			delete(s.views, id)
		}
	}
}

// forget unmaps this process's views of deleted segments. Readers hold the
// read lock while they use a view, so taking the write lock waits them out.
func (s *segments) forget(ids []uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if v := s.views[id]; v != nil {
			v.close()
			delete(s.views, id)
		}
	}
}

// withRecord calls fn with the record entry e points at, straight from the
// mapping. A fault while reading a mapping (a segment truncated under this
// process) becomes errRetry instead of killing the process. fn runs holding
// the segments' read lock and must not read another record: that read may
// map a segment again (view), which takes the write lock.
func (s *segments) withRecord(e []byte, fn func(r record) error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			err = errRetry
		}
	}()
	return s.recordIn(e, fn)
}

// recordIn is withRecord without a guard of its own, for the hot paths
// (probe, lookup), which only run under one already: readOnce's or a
// writer's (update). A fault there reaches that guard; one guard per get
// instead of two saves about 10 ns (BenchmarkGuard).
func (s *segments) recordIn(e []byte, fn func(r record) error) error {
	id, off, n := getU32(e, eSegID), int64(getU32(e, eRecOff)), int64(getU32(e, eRecLen))
	if n < recHdr || off < segHeader {
		return errRetry
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.view(id, off+n)
	if err != nil {
		return err
	}
	var r record
	if v.f != nil {
		r = make(record, n)
		if _, err := v.f.ReadAt(r, off); err != nil {
			return errRetry
		}
	} else {
		if off+n > int64(len(v.m)) {
			return errRetry
		}
		r = record(v.m[off : off+n : off+n])
		runtime.KeepAlive(warm(r))
	}
	if !s.trusted.Load() {
		if err := r.check(int(n)); err != nil {
			return err
		}
	} else if int64(getU32(r, 8)) != n {
		return errRetry
	}
	return fn(r)
}

// readInto copies len(buf) bytes at off of segment id into buf, from the
// mapping or, in network mode, with pread. false when they are not all
// there (a torn or damaged length).
func (s *segments) readInto(id uint32, off int64, buf []byte) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.view(id, off+int64(len(buf)))
	if err != nil {
		return false, err
	}
	if v.f != nil {
		n, err := v.f.ReadAt(buf, off)
		if n == len(buf) {
			return true, nil
		}
		if err == nil || errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("read segment: %w", err)
	}
	if off < 0 || off+int64(len(buf)) > int64(len(v.m)) {
		return false, nil
	}
	// A file truncated under the mapping reads as a damaged record.
	if guard(func() error {
		copy(buf, v.m[off:])
		return nil
	}) != nil {
		return false, nil
	}
	return true, nil
}

// record returns a copy of the record e points at (writer side and key
// comparison; hot readers use withRecord).
func (s *segments) record(e []byte) (record, error) {
	var out record
	err := s.withRecord(e, func(r record) error {
		out = append(record(nil), r...)
		return nil
	})
	return out, err
}

// writer returns the descriptor of the active segment for appending,
// reopening it when another process started a new one.
func (s *segments) writer(active uint32) (*os.File, error) {
	if s.wf != nil && s.wid == active {
		return s.wf, nil
	}
	if err := s.closeWriter(); err != nil {
		return nil, err
	}
	f, err := openFile(segPath(s.dir, active), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", mapErrno(err))
	}
	if err := s.mapWriter(f); err != nil {
		f.Close()
		return nil, err
	}
	s.wf, s.wid = f, active
	return f, nil
}

// mapWriter maps the writer's segment for appends (see mapAppends).
func (s *segments) mapWriter(f *os.File) error {
	if !s.mapAppends() {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := mapShared(f, s.writerMapSize(st.Size()), true)
	if err != nil {
		return err
	}
	s.wm, s.wEnd = m, st.Size()
	return nil
}

// appendRecord writes rec at the end of the active segment, starting a new
// segment when it would pass the size limit. Nothing in the index refers to
// the bytes until the caller links them, so a failed or torn append is
// invisible. It returns the record's location.
func (t *tx) appendRecord(rec []byte) (id uint32, slot uint32, off int64, err error) {
	return t.append(rec, true)
}

// append is appendRecord; a record no entry will own (live false) does not
// count in its segment's live bytes.
func (t *tx) append(rec []byte, live bool) (id uint32, slot uint32, off int64, err error) {
	x, s := t.x, t.segs
	id, slot, off = x.u32(offActiveSeg), x.u32(offActiveSlot), int64(x.u64(offActiveLen))
	if id == 0 || off+int64(len(rec)) > s.segSize && off > segHeader {
		if id, slot, err = t.newSegment(); err != nil {
			return 0, 0, 0, err
		}
		off = segHeader
	}
	f, err := s.writer(id)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := s.put(f, rec, off); err != nil {
		return 0, 0, 0, fmt.Errorf("append record: %w", err)
	}
	s.wDirty = true
	if off+int64(len(rec)) > 1<<32-1 {
		return 0, 0, 0, fmt.Errorf("%w: record too large", ErrInvalid)
	}
	end := uint64(off) + uint64(len(rec))
	if err := t.setU64(offActiveLen, end); err != nil {
		return 0, 0, 0, err
	}
	if err := t.addU64(offSegBytes, int64(len(rec))); err != nil {
		return 0, 0, 0, err
	}
	if live {
		if err := t.segLive(slot, int64(len(rec))); err != nil {
			return 0, 0, 0, err
		}
	} else if err := t.saveRange(offSegTable+int64(slot)*segSlotSize, segSlotSize); err != nil {
		return 0, 0, 0, err
	}
	so := offSegTable + int64(slot)*segSlotSize
	putU32(x.m, so+4, getU32(x.m, so+4)&segStuck|uint32(end))
	return id, slot, off, nil
}

// newSegment creates the next segment file and makes it active.
func (t *tx) newSegment() (uint32, uint32, error) {
	x, s := t.x, t.segs
	slot := uint32(maxSegSlots)
	for i := uint32(0); i < maxSegSlots; i++ {
		if getU32(x.m, offSegTable+int64(i)*segSlotSize) == 0 {
			slot = i
			break
		}
	}
	if slot == maxSegSlots {
		return 0, 0, fmt.Errorf("%w: segment table full", ErrFull)
	}
	id := x.u32(offNextSeg)
	if err := s.closeWriter(); err != nil {
		return 0, 0, err
	}
	f, err := openFile(segPath(s.dir, id), os.O_RDWR|os.O_CREATE|os.O_TRUNC, s.mode)
	if err != nil {
		return 0, 0, fmt.Errorf("create segment: %w", mapErrno(err))
	}
	logOp("create", f, 0, nil)
	var hdr [segHeader]byte
	copy(hdr[:], segMagic)
	putU32(hdr[:], 8, formatVersion)
	putU32(hdr[:], 12, id)
	putU64(hdr[:], 16, s.inst)
	putU64(hdr[:], 24, x.u64(offLogSeq))
	if err := writeAt(f, hdr[:], 0); err != nil {
		f.Close()
		os.Remove(f.Name())
		return 0, 0, fmt.Errorf("create segment: %w", err)
	}
	if s.durable {
		// The name must be durable before the index can refer to it.
		if err := syncDir(s.dir); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := s.mapWriter(f); err != nil {
		f.Close()
		return 0, 0, err
	}
	s.wf, s.wid, s.wDirty = f, id, true
	so := offSegTable + int64(slot)*segSlotSize
	if err := t.saveRange(so, segSlotSize); err != nil {
		return 0, 0, err
	}
	putU32(x.m, so, id)
	putU32(x.m, so+4, segHeader)
	putU64(x.m, so+8, 0)
	for _, kv := range [][2]uint64{{offNextSeg, uint64(id + 1)}, {offActiveSeg, uint64(id)}, {offActiveSlot, uint64(slot)}} {
		if err := t.setU32(int64(kv[0]), uint32(kv[1])); err != nil {
			return 0, 0, err
		}
	}
	if err := t.setU32(offSegCount, x.u32(offSegCount)+1); err != nil {
		return 0, 0, err
	}
	return id, slot, t.setU64(offActiveLen, segHeader)
}

// closeWriter closes the writer's descriptor, first making its appends
// durable when the commit will need them to be.
func (s *segments) closeWriter() error {
	if s.wf == nil {
		return nil
	}
	if err := s.syncWriter(); err != nil {
		return err
	}
	err := s.wf.Close()
	s.wf = nil
	if uerr := unmap(s.wm); err == nil {
		err = uerr
	}
	s.wm, s.wEnd = nil, 0
	return err
}

// syncWriter fsyncs the active segment if it was appended to since the
// last time (Options.Sync only).
func (s *segments) syncWriter() error {
	if !s.durable || !s.wDirty || s.wf == nil {
		return nil
	}
	if err := syncFile(s.wf); err != nil {
		return err
	}
	s.wDirty = false
	return nil
}

// segLive adjusts the live byte count of a segment slot.
func (t *tx) segLive(slot uint32, delta int64) error {
	if slot >= maxSegSlots {
		return errCorruptEntry(slot)
	}
	so := offSegTable + int64(slot)*segSlotSize
	if err := t.saveRange(so, segSlotSize); err != nil {
		return err
	}
	putU64(t.x.m, so+8, uint64(int64(getU64(t.x.m, so+8))+delta))
	return nil
}
