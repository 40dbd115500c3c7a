package core

import (
	"os"

	"github.com/cespare/xxhash/v2"
)

// Compaction gives back the space of overwritten and deleted records. Once
// dead bytes outweigh live ones across the segments (and exceed one
// segment), writers pick the sealed segment with the fewest live bytes and,
// a little with each write, copy its live records to the active segment:
// each record names its key, so the entry that owns it is found by lookup,
// and a record no entry points at is dead. When the scan reaches the end
// the segment is empty and its file is deleted after the commit. The work
// per write is bounded, so compaction never stalls a writer for long, and
// the segments stay within about twice the live data plus one segment.
//
// Delete records belong to no entry, yet they must outlive every older
// record of their key, or a rebuild of the index from the segments would
// bring the key back. A record that a delete record (sequence number T)
// made dead was in its segment at T, so that segment was made before T.
// Compaction therefore carries a delete record forward while some other
// segment was made before it, and drops it otherwise. So that delete
// records do not pile up behind one old segment that is mostly live,
// the oldest segment is compacted first whenever they fill a quarter of
// the live bytes.

// compactStep does up to budget bytes of compaction work.
func (c *Cache) compactStep(t *tx, budget int64) error {
	x := t.x
	slot := x.u32(offCompSlot)
	if slot == 0 {
		var err error
		if slot, err = c.pickVictimSegment(t); err != nil || slot == 0 {
			return err
		}
	}
	so := offSegTable + int64(slot-1)*segSlotSize
	id := getU32(x.m, so)
	length := int64(getU32(x.m, so+4) &^ segStuck)
	off := int64(x.u64(offCompOff))
	for budget > 0 && off < length {
		n, err := c.moveRecord(t, id, off, length)
		if err != nil {
			return err
		}
		if n <= 0 {
			// A damaged record: its length can not be trusted, so the rest
			// of the segment can not be walked. Leave the segment alone.
			if err := markStuck(t, so); err != nil {
				return err
			}
			return t.setU32(offCompSlot, 0)
		}
		off += n
		budget -= n
	}
	if off < length {
		return t.setU64(offCompOff, uint64(off))
	}
	if err := t.setU32(offCompSlot, 0); err != nil {
		return err
	}
	if getU64(x.m, so+8) != 0 {
		// Live bytes no lookup found: refuse to delete the segment.
		return markStuck(t, so)
	}
	return c.dropSegment(t, slot-1)
}

// markStuck flags the segment table slot at so as one compaction gives up
// on. The slot is journaled like every other index change, so a rollback
// clears the flag with the work it belonged to and network mode writes it
// back to the file.
func markStuck(t *tx, so int64) error {
	if err := t.saveRange(so, segSlotSize); err != nil {
		return err
	}
	putU32(t.x.m, so+4, getU32(t.x.m, so+4)|segStuck)
	return nil
}

// pickVictimSegment starts compacting the sealed segment with the fewest
// live bytes, if dead bytes outweigh live ones. It returns the slot + 1.
func (c *Cache) pickVictimSegment(t *tx) (uint32, error) {
	x := t.x
	total, inline := int64(x.u64(offSegBytes)), int64(x.u64(offInline))
	if dead := total - inline; dead <= inline || dead <= t.segs.segSize {
		return 0, nil
	}
	oldestFirst := int64(x.u64(offTombBytes))*4 > inline+t.segs.segSize
	best, bestLive, bestMade := uint32(0), int64(-1), uint64(0)
	active := x.u32(offActiveSlot)
	for i := uint32(0); i < maxSegSlots; i++ {
		so := offSegTable + int64(i)*segSlotSize
		if getU32(x.m, so) == 0 || i == active || getU32(x.m, so+4)&segStuck != 0 {
			continue
		}
		made, err := t.segMade(i)
		if err != nil {
			return 0, err
		}
		live := int64(getU64(x.m, so+8))
		better := bestLive < 0 || live < bestLive
		if oldestFirst {
			better = bestLive < 0 || made < bestMade
		}
		if better {
			best, bestLive, bestMade = i+1, live, made
		}
	}
	if best == 0 {
		return 0, nil
	}
	return c.startCompaction(t, best)
}

// segMade reads the createSeq of the segment in table slot i from its
// header (0, the safe side, when it can not be read).
func (t *tx) segMade(i uint32) (uint64, error) {
	var hdr [8]byte
	ok, err := t.segs.readInto(getU32(t.x.m, offSegTable+int64(i)*segSlotSize), 24, hdr[:])
	if err != nil || !ok {
		return 0, err
	}
	return getU64(hdr[:], 0), nil
}

// startCompaction makes the segment in table slot slot-1 the one being
// compacted and sets the floor below which it drops delete records: the
// making of the oldest other segment (0 when one can not be read).
func (c *Cache) startCompaction(t *tx, slot uint32) (uint32, error) {
	x := t.x
	floor := uint64(1<<64 - 1)
	for i := uint32(0); i < maxSegSlots; i++ {
		so := offSegTable + int64(i)*segSlotSize
		if getU32(x.m, so) == 0 || i == slot-1 {
			continue
		}
		made, err := t.segMade(i)
		if err != nil {
			return 0, err
		}
		floor = min(floor, made)
	}
	if err := t.setU64(offTombFloor, floor); err != nil {
		return 0, err
	}
	if err := t.saveRange(offSegTable+int64(slot-1)*segSlotSize, segSlotSize); err != nil {
		return 0, err
	}
	if err := t.setU64(offCompOff, segHeader); err != nil {
		return 0, err
	}
	return slot, t.setU32(offCompSlot, slot)
}

// moveRecord looks at the record at off in segment id (whose records end
// at length) and, if an entry owns it, copies it to the active segment. It
// returns the record's length (0 or less when the record is damaged).
//
// Most records a compaction walks are dead (overwritten or deleted), so
// only the header and the key are read to find the owner; a dead record is
// skipped without reading, hashing or copying its value (which made a
// 16 KiB overwrite pay for 36 KiB of hashing). Only the record an entry
// points at is read whole and verified. A damaged length in a dead record
// can only make the walk skip live records, whose bytes then keep the
// segment's live count above zero, so compactStep never deletes it.
func (c *Cache) moveRecord(t *tx, id uint32, off, length int64) (int64, error) {
	var hdr [recHdr]byte
	if ok, err := t.segs.readInto(id, off, hdr[:]); err != nil || !ok {
		return 0, err
	}
	r := record(hdr[:])
	n := int64(getU32(r, 8))
	kl, vl, tl, fl := r.lens()
	if n < recHdr || n%8 != 0 || off+n > length || recHdr+int64(kl)+int64(vl)+int64(tl)+int64(fl) > n {
		return 0, nil
	}
	if r[72] == opDelete {
		return n, c.moveDelete(t, id, off, n, getU64(r, 32))
	}
	key := Typed{Kind: r.keyKind(), Bytes: make([]byte, kl)}
	if ok, err := t.segs.readInto(id, off+recHdr, key.Bytes); err != nil || !ok {
		return 0, err
	}
	owner, _, err := c.lookup(key, hashTyped(key))
	if err != nil {
		return 0, err
	}
	if owner == nilID {
		return n, nil
	}
	e, err := t.rd(owner)
	if err != nil {
		return 0, err
	}
	if getU32(e, eSegID) != id || int64(getU32(e, eRecOff)) != off {
		return n, nil // an older version of the key: dead
	}
	rec := make([]byte, n)
	if ok, err := t.segs.readInto(id, off, rec); err != nil || !ok {
		return 0, err
	}
	if getU64(rec, 0) != xxhash.Sum64(rec[8:]) {
		return 0, nil
	}
	oldSlot := getU32(e, eSegSlot)
	seg, slot, newOff, err := t.appendRecord(rec)
	if err != nil {
		return 0, err
	}
	w, err := t.ent(owner)
	if err != nil {
		return 0, err
	}
	putU32(w, eSegID, seg)
	putU32(w, eSegSlot, slot)
	putU32(w, eRecOff, uint32(newOff))
	return n, t.segLive(oldSlot, -n)
}

// moveDelete carries the delete record at off of segment id forward when
// an older segment may still hold a record it keeps dead (see above), and
// lets it go otherwise.
func (c *Cache) moveDelete(t *tx, id uint32, off, n int64, seq uint64) error {
	if err := t.addU64(offTombBytes, -n); err != nil {
		return err
	}
	if seq < t.x.u64(offTombFloor) {
		return nil
	}
	rec := make(record, n)
	if ok, err := t.segs.readInto(id, off, rec); err != nil {
		return err
	} else if !ok || rec.check(int(n)) != nil {
		// A damaged delete record deletes nothing: the record it kept
		// dead comes back at a rebuild, with a CorruptionWarning.
		return nil
	}
	return t.appendDead(rec)
}

// dropSegment frees an empty segment's slot; its file is deleted after the
// commit (readers that mapped it keep reading their mapping).
func (c *Cache) dropSegment(t *tx, slot uint32) error {
	x := t.x
	so := offSegTable + int64(slot)*segSlotSize
	id, length := getU32(x.m, so), int64(getU32(x.m, so+4)&^segStuck)
	if err := t.saveRange(so, segSlotSize); err != nil {
		return err
	}
	clear(x.m[so : so+segSlotSize])
	if err := t.setU32(offSegCount, x.u32(offSegCount)-1); err != nil {
		return err
	}
	if err := t.addU64(offSegBytes, -(length - segHeader)); err != nil {
		return err
	}
	t.segRemoves = append(t.segRemoves, id)
	return nil
}

// removeSegments deletes the files of segments a committed transaction
// dropped, and forgets this process's mappings of them.
func (c *Cache) removeSegments(ids []uint32) {
	for _, id := range ids {
		// Mark it dead first: a file whose removal fails (still open on
		// some systems) must not be read by a rebuild, since the delete
		// records that kept its records dead may be gone.
		if f, err := openFile(segPath(c.dir, id), os.O_WRONLY, 0); err == nil {
			f.WriteAt(make([]byte, 8), 0)
			f.Close()
		}
		os.Remove(segPath(c.dir, id))
	}
	c.segs.forget(ids)
}

// segmentListed reports whether the segment table lists segment id. Called
// without the seqlock: a stale answer only delays or repeats a prune, and a
// view wrongly dropped is mapped again on next use.
func (c *Cache) segmentListed(id uint32) bool {
	for i := int64(0); i < maxSegSlots; i++ {
		if c.idx.u32(offSegTable+i*segSlotSize) == id {
			return true
		}
	}
	return false
}
