package core

import (
	"errors"
	"runtime"
)

// The bucket table is open addressing with linear probing over u64 slots:
// low 32 bits the entry id (0 empty, tombstone deleted), high 32 bits the
// high half of the key hash, so most mismatches are rejected without
// touching the entry. It is rebuilt twice as large (or the same size, to
// drop tombstones) into a fresh region when occupancy passes 60%.

// errRetry means a lock-free reader saw an inconsistent index; it re-reads.
var errRetry = errors.New("diskcache: retry read")

// lookup finds key's entry. It is shared by readers, which hold no lock and
// must survive any garbage, and writers, which see a consistent index.
// It returns the entry id and its bucket slot, or nilID.
func (c *Cache) lookup(key Typed, h uint64) (uint32, uint64, error) {
	m := c.idx.mem()
	off, capacity, ok := bucketTable(m)
	if !ok {
		return 0, 0, errRetry
	}
	mask := capacity - 1
	pos := h & mask
	tag := uint32(h >> 32)
	for n := uint64(0); n < capacity; n++ {
		b := getU64(m, off+int64(pos)*bucketSize)
		id := uint32(b)
		if id == nilID {
			return nilID, 0, nil
		}
		if id != tombstone && uint32(b>>32) == tag {
			e := entryAt(m, id)
			if e == nil {
				return 0, 0, errRetry
			}
			if getU64(e, eHash) == h && getU32(e, eFlags)&flagLive != 0 {
				ok, err := c.keyMatches(e, key)
				if err != nil {
					return 0, 0, err
				}
				if ok {
					return id, pos, nil
				}
			}
		}
		pos = (pos + 1) & mask
	}
	return nilID, 0, nil
}

// probe calls fn with the entry and record of key, if it is present (live
// flag set; expiry is the caller's business), reading each candidate's
// record once.
func (c *Cache) probe(key Typed, h uint64, fn func(e []byte, r record) error) error {
	m := c.idx.mem()
	off, capacity, ok := bucketTable(m)
	if !ok {
		return errRetry
	}
	mask := capacity - 1
	pos := h & mask
	tag := uint32(h >> 32)
	for n := uint64(0); n < capacity; n++ {
		b := getU64(m, off+int64(pos)*bucketSize)
		id := uint32(b)
		if id == nilID {
			return nil
		}
		if id != tombstone && uint32(b>>32) == tag {
			e := entryAt(m, id)
			if e == nil {
				return errRetry
			}
			if getU64(e, eHash) == h && getU32(e, eFlags)&flagLive != 0 {
				// Start the misses of the entry's other cache lines now, so
				// they overlap with the record's.
				runtime.KeepAlive(warm(e))
				kk := Kind(getU32(e, eFlags) >> shiftKey & kindMask)
				done := false
				err := c.segs.recordIn(e, func(r record) error {
					if !equalTyped(key, kk, r.key()) {
						return nil
					}
					done = true
					return fn(e, r)
				})
				if err != nil || done {
					return err
				}
			}
		}
		pos = (pos + 1) & mask
	}
	return nil
}

// bucketTable returns the bucket table's offset and capacity in mapping m,
// checked against the file and the mapping (a reader holds no lock, so
// they may be torn); false when they do not fit.
func bucketTable(m []byte) (off int64, capacity uint64, ok bool) {
	off, capacity = int64(getU64(m, offBucketOff)), getU64(m, offBucketCap)
	end := min(getU64(m, offFileSize), uint64(len(m)))
	if capacity == 0 || capacity&(capacity-1) != 0 || off < headerSize || uint64(off) > end || capacity > (end-uint64(off))/bucketSize {
		return 0, 0, false
	}
	return off, capacity, true
}

// entryAt is index.entry in mapping m.
func entryAt(m []byte, id uint32) []byte {
	off := entryIn(m, id)
	if off < 0 {
		return nil
	}
	return m[off : off+entrySize : off+entrySize]
}

// keyMatches compares key with the key stored in e's record.
func (c *Cache) keyMatches(e []byte, key Typed) (bool, error) {
	kk := Kind(getU32(e, eFlags) >> shiftKey & kindMask)
	var ok bool
	err := c.segs.recordIn(e, func(r record) error {
		ok = equalTyped(key, kk, r.key())
		return nil
	})
	return ok, err
}

// bucketInsert puts id in the first free slot of its probe sequence. The
// caller has made room with ensureBuckets.
func (t *tx) bucketInsert(h uint64, id uint32) error {
	x := t.x
	off, capacity := x.buckets()
	mask := capacity - 1
	pos := h & mask
	for n := uint64(0); n < capacity; n++ {
		slot := off + int64(pos)*bucketSize
		b := getU64(x.m, slot)
		if uint32(b) == nilID || uint32(b) == tombstone {
			if err := t.saveRange(slot, bucketSize); err != nil {
				return err
			}
			putU64(x.m, slot, uint64(id)|(h>>32)<<32)
			if uint32(b) == nilID {
				return t.addU64(offBucketUsed, 1)
			}
			return nil
		}
		pos = (pos + 1) & mask
	}
	return errIndexFull
}

// bucketDelete marks slot pos deleted.
func (t *tx) bucketDelete(pos uint64) error {
	off, _ := t.x.buckets()
	slot := off + int64(pos)*bucketSize
	if err := t.saveRange(slot, bucketSize); err != nil {
		return err
	}
	putU64(t.x.m, slot, tombstone)
	return nil
}

// ensureBuckets rebuilds the table before an insert would pass the load
// limit. Rebuilding reads every live entry's hash once: O(n), amortised
// O(1) per insert because the table doubles.
func (t *tx) ensureBuckets() error {
	x := t.x
	_, capacity := x.buckets()
	used := x.u64(offBucketUsed)
	if (used+1)*maxLoadDen <= capacity*maxLoadNum {
		return nil
	}
	live := x.u64(offCount)
	newCap := capacity
	for (live+1)*maxLoadDen*2 > newCap*maxLoadNum {
		newCap *= 2
	}
	if newCap > 1<<32 {
		return errIndexFull
	}
	off, err := t.alloc(int64(newCap) * bucketSize)
	if err != nil {
		return err
	}
	mask := newCap - 1
	var n uint64
	for id := x.u32(offInsHead); id != nilID; {
		if n > live {
			return errCycle
		}
		e, err := t.rd(id)
		if err != nil {
			return err
		}
		h := getU64(e, eHash)
		pos := h & mask
		for getU64(x.m, off+int64(pos)*bucketSize) != 0 {
			pos = (pos + 1) & mask
		}
		putU64(x.m, off+int64(pos)*bucketSize, uint64(id)|(h>>32)<<32)
		n++
		id = getU32(e, eInsNext)
	}
	if err := t.addU64(offWasted, int64(capacity)*bucketSize); err != nil {
		return err
	}
	if err := t.setU64(offBucketOff, uint64(off)); err != nil {
		return err
	}
	if err := t.setU64(offBucketCap, newCap); err != nil {
		return err
	}
	return t.setU64(offBucketUsed, n)
}

// warm loads one byte of each cache line of b: the loads' misses are then
// in flight together instead of one after another as later code reaches
// them (a read of a cache spread over more memory than the CPU caches is
// a chain of misses: bucket, entry, record). The result only keeps the
// loads from being removed. About 5% of such a read here.
func warm(b []byte) byte {
	var s byte
	for i := 0; i < len(b); i += 64 {
		s |= b[i]
	}
	return s | b[len(b)-1]
}
