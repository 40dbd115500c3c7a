package core

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
)

// rebuild makes the index again from the segments, the truth (logscan.go):
// every key whose newest record is a whole put record comes back with its
// value (inline, or its value file if that is still there), tag, expiry,
// store time and place in insertion order; keys whose newest record is a
// delete record stay deleted. What only the index held is lost: access
// times (they become the store times), access counts (0), and the hit and
// miss counters.
//
// It points the new entries at the records where they are, so no segment
// is rewritten and none is removed: a crash at any instant leaves the
// segments as they were. The caller holds the writer lock. The index is
// made in place, so processes that have it open see the new one: the
// sequence number stays odd and the magic is cleared while it is built,
// so their readers wait, and a crash leaves a file without its magic,
// which the next process to open it or to find it so rebuilds again.
//
// RebuildReport says what it found.
type RebuildReport struct {
	Reason   string // why the index was rebuilt
	Entries  int    // entries that came back
	Deleted  int    // keys whose newest record is a delete record
	Refuted  int    // keys left out because the index shows them deleted or their newest record damaged
	Missing  int    // entries left out because their value file is gone
	Records  int    // whole records read
	Damaged  int64  // bytes of damaged records skipped
	Segments int    // segment files read
	Legacy   int    // segments of format 1 left out (see upgrade.go)
}

func (r RebuildReport) String() string {
	s := fmt.Sprintf("%s: the index was rebuilt from %d segment files: %d entries came back", r.Reason, r.Segments, r.Entries)
	if r.Refuted > 0 {
		s += fmt.Sprintf(", %d left out because the index shows them deleted or their newest record damaged", r.Refuted)
	}
	if r.Missing > 0 {
		s += fmt.Sprintf(", %d left out because their value file is missing", r.Missing)
	}
	if r.Damaged > 0 {
		s += fmt.Sprintf(", %d damaged bytes skipped", r.Damaged)
	}
	if r.Legacy > 0 {
		s += fmt.Sprintf(", %d segments of format 1 set aside", r.Legacy)
	}
	return s
}

// LastRepair describes the last rebuild of the index this handle made or
// found on opening (empty when none).
func (c *Cache) LastRepair() string {
	c.repairMu.Lock()
	defer c.repairMu.Unlock()
	return c.repairNote
}

func (c *Cache) noteRepair(s string) {
	c.repairMu.Lock()
	c.repairNote = s
	c.repairMu.Unlock()
}

// rebuildLocked rebuilds the index from the segments; the caller holds the
// writer lock and has no transaction open.
func (c *Cache) rebuildLocked(reason string, upgrade bool) (RebuildReport, error) {
	rep := RebuildReport{Reason: reason}
	// While the index header holds, its entries witness which keys exist
	// and which record is each one's newest: a key it does not have was
	// deleted, even if damage to a segment took the delete record with it,
	// and a key whose newest record is damaged must not come back with an
	// older one.
	var wit *witness
	var listed func(uint32) bool
	if ok, _ := c.idx.initialised(); ok && !upgrade && c.idx.validate() == nil {
		// (validate, not only the header: the entries must all be in the
		// file; a fault reading them leaves the rebuild without a witness.)
		if guard(func() error { wit = c.witness(); return nil }) == nil {
			listed = c.segmentListed
		} else {
			wit = nil
		}
	}
	scan, err := scanLog(c.dir, listed)
	if err != nil {
		return rep, err
	}
	rep.Records, rep.Damaged, rep.Segments, rep.Legacy = scan.records, scan.damaged, len(scan.segs), len(scan.legacy)
	keep := make([]*logRec, 0, len(scan.keys))
	for k, r := range scan.keys {
		if r.deleted {
			rep.Deleted++
			continue
		}
		if wit != nil && !wit.vouches(k, r) {
			rep.Refuted++
			continue
		}
		keep = append(keep, r)
	}
	slices.SortFunc(keep, func(a, b *logRec) int { return cmp.Compare(a.rowid, b.rowid) })

	x, t := c.idx, c.tx
	nextSeg := c.nextFreeSegment()
	// A missing or emptied file first gets room for a header, so that
	// the stores below do not fault.
	if err := growFile(x.f, headerSize); err != nil {
		return rep, fmt.Errorf("rebuild index: %w", err)
	}
	if x.io == ioShared {
		t.beginOp()
		clear(x.m[:8])
	}
	if x.io.private() {
		if err := c.closeJournalFile(); err != nil {
			return rep, err
		}
	}
	c.jrn.commit()
	odd := x.seq() | 1
	if err := x.layout(nextSeg); err != nil {
		return rep, err
	}
	atomic.StoreUint64(x.seqPtr(), odd)
	t.opOpen = true
	// Segments a compaction of an open transaction dropped are listed
	// again; value files it released stay released.
	t.segRemoves, t.allocs = t.segRemoves[:0], t.allocs[:0]
	c.jrn.bypass = true
	c.segs.trusted.Store(true)
	err = c.refill(scan, keep, &rep)
	c.segs.trusted.Store(false)
	c.jrn.bypass = false
	if err != nil {
		return rep, err
	}
	if x.io.private() {
		err = c.publishPrivate()
	} else {
		copy(x.m[:8], idxMagic)
		t.endOp()
	}
	if err != nil {
		return rep, err
	}
	c.segs.inst = x.instance()
	// Records of format 1 carry no sequence numbers and no delete records,
	// so they can not say which of them are still true: an upgrade has
	// copied what was, and any other rebuild sets them aside.
	for _, id := range scan.legacy {
		if upgrade {
			os.Remove(segPath(c.dir, id))
		} else if err := c.quarantine(segPath(c.dir, id)); err != nil {
			return rep, err
		}
	}
	c.segs.forget(scan.legacy)
	c.idx.cut = "" // the file is whole again
	c.noteRepair(rep.String())
	return rep, nil
}

// witness is what a readable index says about its live entries: where
// each key's newest record is (by key hash), and how many entries are too
// damaged to say anything.
type witness struct {
	at      map[uint64]uint64 // key hash -> segment id << 32 | offset
	damaged int
}

// witness reads the index's entries.
func (c *Cache) witness() *witness {
	x := c.idx
	w := &witness{at: map[uint64]uint64{}}
	high := x.u32(offEntryHigh)
	for id := uint32(firstEntryID); id < high; id++ {
		e := x.entry(id)
		if e == nil {
			break
		}
		if !entryOK(e) {
			w.damaged++
			continue
		}
		if getU32(e, eFlags)&flagLive != 0 {
			w.at[getU64(e, eHash)] = uint64(getU32(e, eSegID))<<32 | uint64(getU32(e, eRecOff))
		}
	}
	return w
}

// vouches reports whether the winning record r of key k (kind byte and
// bytes) may come back: the index points at that very record, or it does
// not know the key but has damaged entries that may have been the key's.
func (w *witness) vouches(k string, r *logRec) bool {
	at, ok := w.at[hashTyped(Typed{Kind: Kind(k[0]), Bytes: []byte(k[1:])})]
	if !ok {
		return w.damaged > 0
	}
	return at == uint64(r.seg)<<32|uint64(r.off)
}

// refill lays the segment table and the entries into a fresh layout.
func (c *Cache) refill(scan *logScan, keep []*logRec, rep *RebuildReport) error {
	x, t := c.idx, c.tx
	slots := map[uint32]uint32{}
	var segBytes, inline, tomb uint64
	for i, f := range scan.segs {
		if i >= maxSegSlots {
			return fmt.Errorf("%w: %d segment files, the table holds %d", ErrFull, len(scan.segs), maxSegSlots)
		}
		so := offSegTable + int64(i)*segSlotSize
		putU32(x.m, so, f.id)
		putU32(x.m, so+4, uint32(f.end))
		slots[f.id] = uint32(i)
		segBytes += uint64(f.end - segHeader)
		tomb += uint64(f.dead)
	}
	putU32(x.m, offSegCount, uint32(len(scan.segs)))
	putU64(x.m, offSegBytes, segBytes)
	putU64(x.m, offTombBytes, tomb)
	putU64(x.m, offLogSeq, scan.maxSeq+1)
	// New records go to a new segment: the old ones' tails may hold the
	// appends of a writer whose transaction never committed.
	putU32(x.m, offActiveSeg, 0)
	live := map[uint32]int64{}
	var placed []uint32
	for _, r := range keep {
		slot := slots[r.seg]
		id, size, err := c.linkRecord(t, r, slot)
		if errors.Is(err, os.ErrNotExist) {
			rep.Missing++
			continue
		}
		if err != nil {
			return err
		}
		placed = append(placed, id)
		live[slot] += int64(r.n)
		inline += uint64(r.n)
		if err := t.addU64(offSize, size); err != nil {
			return err
		}
	}
	for slot, n := range live {
		putU64(x.m, offSegTable+int64(slot)*segSlotSize+8, uint64(n))
	}
	putU64(x.m, offInline, inline)
	// The store and access orders, by (store time, rowid): appended in
	// that order, each finds its place at the tail at once.
	slices.SortStableFunc(placed, func(a, b uint32) int {
		ea, eb := x.entry(a), x.entry(b)
		if c := cmp.Compare(getF64(ea, eStoreTime), getF64(eb, eStoreTime)); c != 0 {
			return c
		}
		return cmp.Compare(getU64(ea, eRowid), getU64(eb, eRowid))
	})
	for _, id := range placed {
		if err := t.relink(polList, id); err != nil {
			return err
		}
		if err := t.relink(lruList, id); err != nil {
			return err
		}
	}
	rep.Entries = len(placed)
	return nil
}

// linkRecord makes an entry for the put record r (in segment table slot
// slot), at the end of insertion order. It returns os.ErrNotExist when the
// record names a value file that is gone, and the file's size otherwise.
func (c *Cache) linkRecord(t *tx, lr *logRec, slot uint32) (uint32, int64, error) {
	loc := make([]byte, entrySize)
	putU32(loc, eSegID, lr.seg)
	putU32(loc, eRecOff, lr.off)
	putU32(loc, eRecLen, lr.n)
	r, err := c.segs.record(loc)
	if err != nil {
		return 0, 0, err
	}
	m := r.meta()
	var size int64
	if f := string(r.file()); f != "" {
		full, ok := c.valuePath(f)
		if !ok {
			return 0, 0, os.ErrNotExist
		}
		st, err := os.Stat(full)
		if err != nil {
			return 0, 0, os.ErrNotExist
		}
		size = st.Size()
	}
	key := Typed{Kind: r.keyKind(), Bytes: r.key()}
	h := hashTyped(key)
	id, err := c.insertEntry(t, h, key, m.rowid)
	if err != nil {
		return 0, 0, err
	}
	e, err := t.ent(id)
	if err != nil {
		return 0, 0, err
	}
	flags := uint32(flagLive) | uint32(r.keyKind())<<shiftKey | uint32(r.valKind())<<shiftVal | uint32(r.mode())<<shiftMode
	if m.flags&recTag != 0 {
		flags |= flagTag | uint32(r.tagKind())<<shiftTag
	}
	if len(r.file()) > 0 {
		flags |= flagFile
	}
	if m.flags&recExpire != 0 {
		flags |= flagExpire
		putF64(e, eExpireTime, m.expire)
	}
	putU32(e, eFlags, flags)
	putU32(e, eSegID, lr.seg)
	putU32(e, eSegSlot, slot)
	putU32(e, eRecOff, lr.off)
	putU32(e, eRecLen, lr.n)
	putF64(e, eStoreTime, m.store)
	putF64(e, eAccessTime, m.store)
	putU64(e, eSize, uint64(size))
	if k := r.valKind(); (k == KindInt || k == KindFloat) && len(r.value()) == 8 {
		putU64(e, eNum, getU64(r.value(), 0))
	}
	if err := t.freqPlace(id); err != nil {
		return 0, 0, err
	}
	if m.flags&recExpire != 0 {
		if err := t.heapUpdate(expiryHeap, id); err != nil {
			return 0, 0, err
		}
	}
	return id, size, nil
}

// publishPrivate writes a private copy of the index rebuilt in memory
// (ordered and network modes) to the file: the sequence number made odd
// first, so processes in local mode wait, then everything but the magic,
// then the magic and an even sequence number.
func (c *Cache) publishPrivate() error {
	x, t := c.idx, c.tx
	var b [8]byte
	if _, err := x.f.ReadAt(b[:], offSeq); err != nil {
		return fmt.Errorf("read index: %w", mapErrno(err))
	}
	fileSeq := getU64(b[:], 0) | 1
	putU64(b[:], 0, fileSeq)
	if err := writeAt(x.f, b[:], offSeq); err != nil {
		return err
	}
	t.endOp()
	atomic.StoreUint64(x.seqPtr(), fileSeq)
	clear(x.m[:8])
	end := int64(x.u64(offFileSize))
	if err := writeAt(x.f, x.m[:end], 0); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if c.opts.Sync {
		if err := syncFile(x.f); err != nil {
			return err
		}
	}
	copy(x.m[:8], idxMagic)
	atomic.StoreUint64(x.seqPtr(), fileSeq+1)
	if err := writeAt(x.f, x.m[:offSeq+8], 0); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if c.opts.Sync {
		if err := syncFile(x.f); err != nil {
			return err
		}
	}
	t.allocs = t.allocs[:0]
	if x.io == ioOrdered {
		return dropPages(x.m, 0, end)
	}
	c.netSeq, c.netLoaded = fileSeq+1, true
	return nil
}
