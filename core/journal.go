package core

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"
)

// The journal ("cache.dcg-journal") is an undo log, mapped like the index.
// Before a writer first changes a region of the index inside a transaction,
// it copies the region's old bytes here. Committing sets used back to 0. A
// writer that takes the lock and finds used > 0 knows its predecessor died
// mid-transaction and copies the old bytes back, newest first.
//
//	0   magic "DCGJRNL1"
//	8   used u64: end of the last complete record; 0 = nothing to undo
//	64  records: off u64 | len u32 | pad u32 | old bytes, padded to 8
//
// A record is complete before used covers it, and the index region it saves
// is changed only after that, so a kill at any point leaves either an
// unchanged region or a record that restores it.
const (
	jrnMagic    = "DCGJRNL1"
	jrnOffUsed  = 8
	jrnStart    = 64
	jrnRecHdr   = 16
	jrnGrowStep = 1 << 20
	jrnReserve  = 1 << 30
)

type journal struct {
	f     *os.File
	m     []byte
	size  int64              // bytes of the file
	used  int64              // writer's copy of the used field
	saved map[int64]struct{} // index offsets saved in this transaction
}

func openJournal(path string, mode os.FileMode, readOnly bool) (*journal, error) {
	flags := os.O_RDWR | os.O_CREATE
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", mapErrno(err))
	}
	j := &journal{f: f, saved: make(map[int64]struct{})}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	j.size = st.Size()
	if j.m, err = mapShared(f, jrnReserve, !readOnly); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *journal) close() error {
	err := unmap(j.m)
	j.m = nil
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (j *journal) usedPtr() *uint64 { return (*uint64)(unsafe.Pointer(&j.m[jrnOffUsed])) }

// init writes the header of a new journal; called with the writer lock held.
func (j *journal) init() error {
	if j.size < jrnGrowStep {
		if err := growFile(j.f, jrnGrowStep); err != nil {
			return fmt.Errorf("grow journal: %w", err)
		}
		j.size = jrnGrowStep
	}
	if string(j.m[:8]) != jrnMagic {
		copy(j.m, jrnMagic)
		atomic.StoreUint64(j.usedPtr(), 0)
	}
	return nil
}

// pending reports whether a dead writer left an unfinished transaction.
func (j *journal) pending() bool {
	return j.size >= jrnStart && atomic.LoadUint64(j.usedPtr()) > 0
}

// begin starts a transaction's undo record.
func (j *journal) begin() {
	j.used = jrnStart
	clear(j.saved)
}

// save copies idx[off:off+n] into the journal unless this transaction
// already saved that region.
func (j *journal) save(idx []byte, off, n int64) error {
	if _, ok := j.saved[off]; ok {
		return nil
	}
	rec := jrnRecHdr + (n+7)&^7
	if j.used+rec > j.size {
		grow := j.size + jrnGrowStep
		for j.used+rec > grow {
			grow += jrnGrowStep
		}
		if grow > jrnReserve {
			return fmt.Errorf("%w: transaction too large for the journal", ErrFull)
		}
		if err := growFile(j.f, grow); err != nil {
			return fmt.Errorf("grow journal: %w", err)
		}
		j.size = grow
	}
	p := j.used
	putU64(j.m, p, uint64(off))
	putU32(j.m, p+8, uint32(n))
	copy(j.m[p+jrnRecHdr:p+jrnRecHdr+n], idx[off:off+n])
	j.used += rec
	// Publish the record only once it is complete.
	atomic.StoreUint64(j.usedPtr(), uint64(j.used))
	j.saved[off] = struct{}{}
	return nil
}

// commit forgets the undo records: the transaction's changes stand.
func (j *journal) commit() {
	atomic.StoreUint64(j.usedPtr(), 0)
	j.used = jrnStart
	clear(j.saved)
}

// rollback copies every saved region back into idx, newest first, then
// empties the journal. It validates each record against both files, so a
// damaged journal is reported instead of scribbling over the index.
func (j *journal) rollback(idx []byte) error {
	used := int64(atomic.LoadUint64(j.usedPtr()))
	if used == 0 {
		return nil
	}
	if used < jrnStart || used > j.size {
		return fmt.Errorf("%w: journal length %d", ErrCorrupted, used)
	}
	var recs []int64
	for p := int64(jrnStart); p < used; {
		if p+jrnRecHdr > used {
			return fmt.Errorf("%w: journal record at %d", ErrCorrupted, p)
		}
		off, n := int64(getU64(j.m, p)), int64(getU32(j.m, p+8))
		if off < 0 || n < 0 || off+n > int64(len(idx)) || p+jrnRecHdr+n > used {
			return fmt.Errorf("%w: journal record at %d", ErrCorrupted, p)
		}
		recs = append(recs, p)
		p += jrnRecHdr + (n+7)&^7
	}
	for i := len(recs) - 1; i >= 0; i-- {
		p := recs[i]
		off, n := int64(getU64(j.m, p)), int64(getU32(j.m, p+8))
		copy(idx[off:off+n], j.m[p+jrnRecHdr:p+jrnRecHdr+n])
	}
	j.commit()
	return nil
}
