package core

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// The journal ("cache.dcg-journal") is an undo log, mapped like the index.
// Before a writer first changes a region of the index inside a transaction,
// it copies the region's old bytes here. Committing sets used back to 0. A
// writer that takes the lock and finds used > 0 knows its predecessor died
// mid-transaction and copies the old bytes back, newest first.
//
//	0   magic "DCGJRNL1"
//	8   used u64: end of the last complete record; 0 = nothing to undo
//	16  batched u64: 1 when the records were written in one go before any
//	    change to the index file (the ordered and network modes)
//	24  epoch u64: advanced after every commit and covered by each
//	    record's sum, so records of finished transactions never validate
//	    (a damaged used field must not replay them over newer data)
//	64  records: off u64 | len u32 | sum u32 | old bytes, padded to 8
//
// A record is complete before used covers it, and the index region it saves
// is changed only after that, so a kill at any point leaves either an
// unchanged region or a record that restores it. sum (the low 32 bits of
// xxhash64 of the epoch, off, len and the bytes) catches records a power
// loss tore or the disk damaged; such a journal is dropped (see
// errBadJournal).
const (
	jrnMagic    = "DCGJRNL1"
	jrnOffUsed  = 8
	jrnOffBatch = 16
	jrnOffEpoch = 24
	jrnStart    = 64
	jrnRecHdr   = 16
	jrnGrowStep = 1 << 20
	// jrnMax is the largest a journal may grow: a transaction that would
	// need more fails with ErrFull rather than fill the disk.
	jrnMax = 1 << 30
)

// The journal is mapped (or, in the private modes, buffered) in proportion
// to its file, and mapped again when a transaction grows the file past it.
// Only the writer uses m, so an outgrown mapping is unmapped at once;
// readers only load the used field, through head, the first mapping,
// which stays until close.
type journal struct {
	f    *os.File
	m    []byte // the writer's mapping, or the private modes' buffer
	head []byte // the first mapping (shared mode): readers' view of used
	// ready says the file holds a header (at least jrnStart bytes), so
	// head may be read; set once, read by readers without a lock.
	ready atomic.Bool
	rw    bool  // mapped writable
	size  int64 // bytes of the file
	used  int64 // writer's copy of the used field
	// saved remembers recently saved offsets of this transaction, direct
	// mapped (off+1, 0 = empty): a region found here is not saved again. A
	// region that was pushed out is saved twice, which rollback handles
	// (newest first, so the oldest copy wins); a map cost more per write.
	saved   [512]int64
	private bool // m is this process's buffer, written out at commit
	// bypass skips saving: a rebuild writes a whole new index that a crash
	// makes the next process build again, so there is nothing to undo.
	bypass bool
}

func openJournal(path string, mode os.FileMode, readOnly bool, io ioMode) (*journal, error) {
	flags := os.O_RDWR | os.O_CREATE
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := openFile(path, flags, mode)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", mapErrno(err))
	}
	j := &journal{f: f, rw: !readOnly}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	j.setSize(st.Size())
	j.private = io.private()
	if j.m, err = j.mapFile(pow2At(j.size, jrnGrowStep)); err != nil {
		f.Close()
		return nil, err
	}
	j.head = j.m
	return j, nil
}

// mapFile maps size bytes of the journal, or makes a buffer of that size.
func (j *journal) mapFile(size int64) ([]byte, error) {
	if j.private {
		return mapAnon(size)
	}
	return mapShared(j.f, size, j.rw)
}

// setSize records the file's size, which says whether it holds a header.
func (j *journal) setSize(n int64) {
	j.size = n
	if n >= jrnStart {
		j.ready.Store(true)
	}
}

// reach makes the writer's mapping show n bytes of the journal (a large
// transaction grew the file, here or in a dead writer's process). A
// private buffer keeps what it held.
func (j *journal) reach(n int64) error {
	if n <= int64(len(j.m)) {
		return nil
	}
	m, err := j.mapFile(pow2At(n, jrnGrowStep))
	if err != nil {
		return err
	}
	if j.private {
		copy(m, j.m[:min(int64(len(j.m)), max(j.used, jrnStart))])
	}
	if &j.m[0] != &j.head[0] {
		unmap(j.m)
	}
	j.m = m
	return nil
}

func (j *journal) close() error {
	var err error
	if j.m != nil && &j.m[0] != &j.head[0] {
		err = unmap(j.m)
	}
	if uerr := unmap(j.head); err == nil {
		err = uerr
	}
	j.m, j.head = nil, nil
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// usedPtr points at the used field in the writer's mapping.
func (j *journal) usedPtr() *uint64 { return (*uint64)(unsafe.Pointer(&j.m[jrnOffUsed])) }

// repairTruncated finds out, holding the writer lock after a fault,
// whether the journal file was truncated under this process, and if so
// grows it back and writes a new header: whatever it held is gone, and
// every later write would fault on it.
func (j *journal) repairTruncated() error {
	st, err := j.f.Stat()
	if err != nil || st.Size() >= j.size {
		return err
	}
	j.size = st.Size()
	if j.private {
		return j.init()
	}
	if err := growFile(j.f, jrnGrowStep); err != nil {
		return fmt.Errorf("grow journal: %w", err)
	}
	j.setSize(max(j.size, jrnGrowStep))
	copy(j.m, jrnMagic)
	atomic.StoreUint64(j.usedPtr(), 0)
	j.used = jrnStart
	j.saved = [len(j.saved)]int64{}
	return nil
}

// init writes the header of a new journal; called with the writer lock held.
func (j *journal) init() error {
	if j.size < jrnGrowStep {
		if err := growFile(j.f, jrnGrowStep); err != nil {
			return fmt.Errorf("grow journal: %w", err)
		}
		j.setSize(jrnGrowStep)
	}
	if j.private {
		var magic [8]byte
		if _, err := j.f.ReadAt(magic[:], 0); err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
		if string(magic[:]) != jrnMagic {
			var hdr [jrnStart]byte
			copy(hdr[:], jrnMagic)
			if err := writeAt(j.f, hdr[:], 0); err != nil {
				return fmt.Errorf("write journal: %w", err)
			}
		}
		copy(j.m, jrnMagic)
		return nil
	}
	if string(j.m[:8]) != jrnMagic {
		copy(j.m, jrnMagic)
		atomic.StoreUint64(j.usedPtr(), 0)
	}
	return nil
}

// pending reports whether a dead writer left an unfinished transaction.
// A private journal buffer only holds this process's transaction, so the
// answer comes from the file.
func (j *journal) pending() bool {
	if !j.ready.Load() {
		return false
	}
	if j.private {
		used, err := j.fileUsed()
		return err != nil || used > 0
	}
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&j.head[jrnOffUsed]))) > 0
}

// fileUsed reads the used field from the file.
func (j *journal) fileUsed() (int64, error) {
	var b [8]byte
	if _, err := j.f.ReadAt(b[:], jrnOffUsed); err != nil {
		return 0, fmt.Errorf("read journal: %w", err)
	}
	return int64(getU64(b[:], 0)), nil
}

// begin starts a transaction's undo record.
func (j *journal) begin() {
	j.used = jrnStart
	j.saved = [len(j.saved)]int64{}
	putU64(j.m, jrnOffBatch, 0)
}

// recSum is the checksum of a journal record of epoch: xxhash64 of the old
// bytes, with the offset, length and epoch mixed in by odd multipliers (a
// record of another epoch or place never matches; no hasher state to set
// up on the writer's hot path).
func recSum(epoch uint64, off int64, old []byte) uint32 {
	h := xxhash.Sum64(old)
	h += uint64(off)*0x9E3779B97F4A7C15 + uint64(len(old))*0xC2B2AE3D27D4EB4F + epoch*0x165667B19E3779F9
	return uint32(h ^ h>>32)
}

// save copies idx[off:off+n] into the journal unless this transaction
// saved that region recently.
func (j *journal) save(idx []byte, off, n int64) error {
	if j.bypass {
		return nil
	}
	slot := &j.saved[uint64(off)/8%uint64(len(j.saved))]
	if *slot == off+1 {
		return nil
	}
	rec := jrnRecHdr + (n+7)&^7
	if j.used+rec > j.size {
		grow := j.size + jrnGrowStep
		for j.used+rec > grow {
			grow += jrnGrowStep
		}
		if grow > jrnMax {
			return fmt.Errorf("%w: transaction too large for the journal", ErrFull)
		}
		if err := growFile(j.f, grow); err != nil {
			return fmt.Errorf("grow journal: %w", err)
		}
		j.setSize(grow)
		if err := j.reach(grow); err != nil {
			return err
		}
	}
	p := j.used
	putU64(j.m, p, uint64(off))
	putU32(j.m, p+8, uint32(n))
	copy(j.m[p+jrnRecHdr:p+jrnRecHdr+n], idx[off:off+n])
	putU32(j.m, p+12, recSum(getU64(j.m, jrnOffEpoch), off, idx[off:off+n]))
	j.used += rec
	// Publish the record only once it is complete.
	atomic.StoreUint64(j.usedPtr(), uint64(j.used))
	*slot = off + 1
	return nil
}

// commit forgets the undo records: the transaction's changes stand.
func (j *journal) commit() {
	atomic.StoreUint64(j.usedPtr(), 0)
	putU64(j.m, jrnOffEpoch, getU64(j.m, jrnOffEpoch)+1)
	j.used = jrnStart
	j.saved = [len(j.saved)]int64{}
}

// rollback copies every saved region back into the index x, newest
// first, then empties the journal. It validates each record against both
// files, so a damaged journal is reported instead of scribbling over the
// index. A record can restore a region past the end of the index file
// (the file's growth did not survive a power loss while the journal did),
// so in the shared mode the file is grown first, as the transaction had
// grown it, and the mapping with it. The caller holds the writer lock.
func (j *journal) rollback(x *index) error {
	used := int64(atomic.LoadUint64(j.usedPtr()))
	if used == 0 {
		return nil
	}
	if used > j.size && !j.private {
		// Another process grew the journal since this one looked.
		if st, err := j.f.Stat(); err == nil {
			j.setSize(st.Size())
		}
	}
	if used <= j.size {
		if err := j.reach(used); err != nil {
			return err
		}
	}
	recs, err := j.records(used, x.limit)
	if errors.Is(err, errBadJournal) {
		j.commit()
		return nil
	}
	if err != nil {
		return err
	}
	var end int64
	for _, r := range recs {
		end = max(end, r.off+r.n)
	}
	if !j.private {
		if err := growFile(x.f, end); err != nil {
			return fmt.Errorf("roll back: %w", err)
		}
		if err := x.grow(end, nil); err != nil {
			return fmt.Errorf("roll back: %w", err)
		}
	} else if end > int64(len(x.m)) {
		// This process's own transaction: it never reaches past its
		// mapping.
		return fmt.Errorf("%w: journal record past the index", ErrCorrupted)
	}
	idx := x.m
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		copy(idx[r.off:r.off+r.n], j.m[r.at:r.at+r.n])
	}
	j.commit()
	return nil
}

// errBadJournal means the journal's records do not all validate. Either a
// power loss tore a batched journal, and then the index file was never
// changed (it is written only after the journal is synced), or the journal
// was damaged on disk. No record of it can be trusted, so none is applied:
// what a dead writer half changed is then caught by the entry and state
// checksums, reported as corruption and repaired by check(fix).
var errBadJournal = errors.New("journal records do not validate")

// jrec is one parsed journal record: the index region [off, off+n) and
// where its old bytes are in the journal.
type jrec struct{ off, n, at int64 }

// records parses and verifies the records in j.m[jrnStart:used] for an
// index of limit bytes.
func (j *journal) records(used, limit int64) ([]jrec, error) {
	if used < jrnStart || used > j.size || used > int64(len(j.m)) {
		return nil, fmt.Errorf("%w: length %d", errBadJournal, used)
	}
	var recs []jrec
	for p := int64(jrnStart); p < used; {
		bad := p+jrnRecHdr > used
		var off, n int64
		if !bad {
			off, n = int64(getU64(j.m, p)), int64(getU32(j.m, p+8))
			bad = off < 0 || n < 0 || off+n > limit || p+jrnRecHdr+n > used ||
				getU32(j.m, p+12) != recSum(getU64(j.m, jrnOffEpoch), off, j.m[p+jrnRecHdr:p+jrnRecHdr+n])
		}
		if bad {
			return nil, fmt.Errorf("%w: record at %d", errBadJournal, p)
		}
		recs = append(recs, jrec{off: off, n: n, at: p + jrnRecHdr})
		p += jrnRecHdr + (n+7)&^7
	}
	return recs, nil
}
