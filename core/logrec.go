package core

import (
	"fmt"
	"os"

	"github.com/cespare/xxhash/v2"
)

// The records a writer appends besides a set's: a new put record whenever
// an entry changes without a set (incr, touch), and a delete record
// whenever an entry goes (delete, pop, pull, cull, evict, expire, clear,
// check), so that the segments alone say what the cache holds.

// nextSeq hands out the next record sequence number.
func (t *tx) nextSeq() (uint64, error) {
	seq := t.x.u64(offLogSeq)
	return seq, t.setU64(offLogSeq, seq+1)
}

// encode numbers and encodes a record into the writer's buffer.
func (t *tx) encode(key, tag Typed, file string, val Typed, mode Mode, m *recMeta) (record, error) {
	seq, err := t.nextSeq()
	if err != nil {
		return nil, err
	}
	m.seq = seq
	n := int(recordLen(len(key.Bytes), len(tag.Bytes), len(file), len(val.Bytes)))
	if cap(t.recBuf) < n {
		t.recBuf = make([]byte, n)
	}
	return encodeRecord(t.recBuf[:n], key, tag, file, val, mode, m), nil
}

// storedKey reads the key of entry e's record: its header and key only,
// checked against the hash the entry holds rather than by the record's
// checksum, so a delete does not hash the whole value (a delete record is
// the only thing it needs the key for).
func (t *tx) storedKey(e []byte) (Typed, error) {
	id, off := getU32(e, eSegID), int64(getU32(e, eRecOff))
	var hdr [recHdr]byte
	if ok, err := t.segs.readInto(id, off, hdr[:]); err != nil {
		return Typed{}, err
	} else if !ok {
		return Typed{}, errCorruptEntry(id)
	}
	kl := int(getU32(hdr[:], 16))
	if kl > int(getU32(e, eRecLen))-recHdr || kl < 0 {
		return Typed{}, errKeyMismatch
	}
	if cap(t.keyBuf) < kl {
		t.keyBuf = make([]byte, kl)
	}
	key := Typed{Kind: Kind(hdr[12]), Bytes: t.keyBuf[:kl]}
	if ok, err := t.segs.readInto(id, off+recHdr, key.Bytes); err != nil {
		return Typed{}, err
	} else if !ok || hashTyped(key) != getU64(e, eHash) {
		return Typed{}, errKeyMismatch
	}
	return key, nil
}

// errKeyMismatch: an entry's record does not hold the key the entry's hash
// says (the record is damaged).
var errKeyMismatch = fmt.Errorf("%w: record key does not match its entry", ErrCorrupted)

// appendDelete appends a delete record for key. No entry points at it, so
// its bytes count as dead at once; tombBytes tells compaction how much of
// the dead space such records hold.
func (t *tx) appendDelete(key Typed) error {
	rec, err := t.encode(key, Typed{}, "", Typed{}, ModeNone, &recMeta{op: opDelete})
	if err != nil {
		return err
	}
	return t.appendDead(rec)
}

// appendDead appends a record no entry owns (a delete record, or one that
// compaction carries forward).
func (t *tx) appendDead(rec record) error {
	if _, _, _, err := t.append(rec, false); err != nil {
		return err
	}
	return t.addU64(offTombBytes, int64(len(rec)))
}

// rewriteRecord appends a new put record for entry id as it now stands
// (its times, expiry and flags), with the value of its current record, or
// num (the 8 bytes of an Int or Float) when given, and points the entry at
// it. incr and touch change only the entry otherwise, and a rebuild would
// bring back the value or expiry of the record before them.
func (c *Cache) rewriteRecord(t *tx, id uint32, num []byte) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	fl := getU32(e, eFlags)
	m := recMeta{op: opPut, rowid: getU64(e, eRowid), store: getF64(e, eStoreTime), size: getU64(e, eSize)}
	if fl&flagExpire != 0 {
		m.flags |= recExpire
		m.expire = getF64(e, eExpireTime)
	}
	if fl&flagTag != 0 {
		m.flags |= recTag
	}
	var rec record
	err = t.segs.withRecord(e, func(r record) error {
		val := Typed{Kind: Kind(fl >> shiftVal & kindMask), Bytes: r.value()}
		if num != nil {
			val.Bytes = num
		}
		// The mode byte keeps the compressed bit of a copied value.
		mode := Mode(r[14])
		if num != nil {
			mode = Mode(fl >> shiftMode & kindMask)
		}
		// r lives in a mapping; encode copies out of it before the append.
		var err error
		rec, err = t.encode(Typed{Kind: r.keyKind(), Bytes: r.key()}, Typed{Kind: r.tagKind(), Bytes: r.tag()}, string(r.file()), val, mode, &m)
		return err
	})
	if err != nil {
		return err
	}
	old, oldSlot := int64(getU32(e, eRecLen)), getU32(e, eSegSlot)
	seg, slot, off, err := t.appendRecord(rec)
	if err != nil {
		return err
	}
	w, err := t.ent(id)
	if err != nil {
		return err
	}
	putU32(w, eSegID, seg)
	putU32(w, eSegSlot, slot)
	putU32(w, eRecOff, uint32(off))
	putU32(w, eRecLen, uint32(len(rec)))
	if err := t.segLive(oldSlot, -old); err != nil {
		return err
	}
	return t.addU64(offInline, int64(len(rec))-old)
}

// trimLog removes what a rolled-back transaction appended to the segments:
// the active segment's bytes past its committed length, and segments made
// after the committed state. Left there, a rebuild would read them as
// changes that happened (the rollback also gives their sequence numbers
// out again). The caller holds the writer lock and has just rolled back.
func (c *Cache) trimLog() {
	state := c.idx.m[offState : offStateSum+8]
	if c.idx.io == ioNetwork {
		// The private copy is not the file's state until it is read again.
		state = make([]byte, len(state))
		if _, err := c.idx.f.ReadAt(state, offState); err != nil {
			return
		}
	}
	if getU64(state, offStateSum-offState) != xxhash.Sum64(state[:offStateEnd-offState]) {
		return
	}
	active := getU32(state, offActiveSeg-offState)
	end := int64(getU64(state, offActiveLen-offState))
	next := getU32(state, offNextSeg-offState)
	if active != 0 && end >= segHeader {
		// Zeroes, not a truncation: another process's writer may have
		// mapped the file and extended it ahead of its appends, and a
		// store past a shrunk end would fault. Best effort: a failure
		// only leaves what was there before this change.
		if f, err := openFile(segPath(c.dir, active), os.O_WRONLY, 0); err == nil {
			if st, err := f.Stat(); err == nil && st.Size() > end {
				writeZeros(f, end, st.Size()-end)
			}
			f.Close()
		}
	}
	files, err := segmentFiles(c.dir)
	if err != nil {
		return
	}
	var gone []uint32
	for id, name := range files {
		if id >= next && os.Remove(name) == nil {
			gone = append(gone, id)
		}
	}
	c.segs.forget(gone)
	if c.segs.wf != nil && c.segs.wid >= next {
		c.segs.closeWriter()
	}
}
