package core

import (
	"sync/atomic"

	"github.com/pierrec/lz4/v4"
)

// tx is the writer's handle on the index while it holds the writer lock.
// Every change goes through it, so every changed region is journaled first,
// every changed entry gets a fresh checksum and the seqlock is odd while the
// index is inconsistent.
type tx struct {
	x          *index
	j          *journal
	segs       *segments
	opOpen     bool
	dirty      []int64 // entry offsets changed in the current operation
	isDirty    map[int64]struct{}
	state      bool     // state block changed in the current operation
	removes    []string // value files to delete once the transaction commits
	segRemoves []uint32 // segments to delete once the transaction commits
	recBuf     []byte   // reused to encode records
	keyBuf     []byte   // reused for the key of a delete record
	zBuf       []byte   // reused to compress values
	z          lz4.Compressor
	allocs     []span // regions allocated in this transaction (private modes)
}

func newTx(x *index, j *journal, s *segments) *tx {
	return &tx{x: x, j: j, segs: s, isDirty: make(map[int64]struct{})}
}

// beginOp makes the seqlock odd before the first change of an operation.
func (t *tx) beginOp() {
	if !t.opOpen {
		// AddUint64 is a full barrier, so no later store is seen before it.
		atomic.AddUint64(t.x.seqPtr(), 1)
		t.opOpen = true
	}
}

// endOp re-seals what the operation changed and makes the seqlock even.
func (t *tx) endOp() {
	if !t.opOpen {
		return
	}
	m := t.x.m
	for _, off := range t.dirty {
		e := m[off : off+entrySize]
		putU64(e, eSum, entrySum(e))
	}
	t.dirty = t.dirty[:0]
	clear(t.isDirty)
	if t.state {
		t.x.sealState()
		t.state = false
	}
	atomic.AddUint64(t.x.seqPtr(), 1)
	t.opOpen = false
}

// saveState journals the state block (and its checksum) once per
// transaction and marks it for re-sealing.
func (t *tx) saveState() error {
	t.beginOp()
	t.state = true
	return t.j.save(t.x.m, offState, offStateSum+8-offState)
}

func (t *tx) setU32(off int64, v uint32) error {
	if err := t.saveState(); err != nil {
		return err
	}
	putU32(t.x.m, off, v)
	return nil
}

func (t *tx) setU64(off int64, v uint64) error {
	if err := t.saveState(); err != nil {
		return err
	}
	putU64(t.x.m, off, v)
	return nil
}

// addU64 adds a signed delta to a state counter.
func (t *tx) addU64(off int64, delta int64) error {
	return t.setU64(off, uint64(int64(t.x.u64(off))+delta))
}

// ent returns entry id for writing.
func (t *tx) ent(id uint32) ([]byte, error) {
	off := t.x.entryOff(id)
	if off < 0 {
		return nil, errCorruptEntry(id)
	}
	t.beginOp()
	if err := t.j.save(t.x.m, off, entrySize); err != nil {
		return nil, err
	}
	if _, ok := t.isDirty[off]; !ok {
		t.isDirty[off] = struct{}{}
		t.dirty = append(t.dirty, off)
	}
	return t.x.m[off : off+entrySize : off+entrySize], nil
}

// rd returns entry id for reading (the writer sees a consistent index).
func (t *tx) rd(id uint32) ([]byte, error) {
	e := t.x.entry(id)
	if e == nil {
		return nil, errCorruptEntry(id)
	}
	return e, nil
}

// saveRange journals an arbitrary region (buckets, heap slots, segment
// table slots).
func (t *tx) saveRange(off, n int64) error {
	t.beginOp()
	return t.j.save(t.x.m, off, n)
}

// alloc reserves n bytes at the end of the index file for a new region.
// The region is fresh, so it needs no journaling; only the state change is.
// It may move the writer's mapping (see indexmap.go): in the private modes
// slices of it taken before must not be used after.
func (t *tx) alloc(n int64) (int64, error) {
	off := int64(t.x.u64(offFileSize))
	off = (off + 63) &^ 63
	end := off + n
	if end > t.x.limit {
		return 0, errIndexFull
	}
	if err := growFile(t.x.f, end); err != nil {
		return 0, err
	}
	if end > int64(len(t.x.m)) {
		if err := t.growMap(end); err != nil {
			return 0, err
		}
	}
	clear(t.x.m[off:end])
	if t.x.io.private() {
		t.allocs = append(t.allocs, span{off, end})
	}
	if err := t.setU64(offFileSize, uint64(end)); err != nil {
		return 0, err
	}
	return off, nil
}

// growMap extends the writer's mapping over end bytes of the index. The
// sequence number is made odd first, so this process's readers that see
// both mappings in one read retry, and in the ordered mode the regions this
// transaction changed go with it.
func (t *tx) growMap(end int64) error {
	t.beginOp()
	var changed []span
	if t.x.io == ioOrdered {
		var err error
		if changed, err = t.spans(); err != nil {
			return err
		}
	}
	return t.x.grow(end, changed)
}
