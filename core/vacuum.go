package core

// Compaction normally runs a little with each write once dead bytes
// outweigh live ones (compact.go). Compact does all of it at once, for
// vacuum(): every segment holding dead bytes, the active one included, is
// compacted and its file removed, so the segments shrink to about the live
// data (plus the delete records that must stay; see compact.go).

// compactBatch bounds the bytes one transaction of Compact walks, so the
// writer lock is given up between batches and the journal stays small.
const compactBatch = 4 << 20

// Compact compacts every segment that holds dead bytes and returns how many
// bytes of segment files it gave back. Other writers can run between its
// batches.
func (c *Cache) Compact(call Call) (int64, error) {
	var before, after int64
	var todo []uint32 // segment ids, taken once: moved records are live
	err := c.update(call, func(t *tx) error {
		x := t.x
		before = int64(x.u64(offSegBytes))
		for i := uint32(0); i < maxSegSlots; i++ {
			so := offSegTable + int64(i)*segSlotSize
			id, length := getU32(x.m, so), int64(getU32(x.m, so+4)&^segStuck)
			if id == 0 || getU32(x.m, so+4)&segStuck != 0 || length-segHeader <= int64(getU64(x.m, so+8)) {
				continue
			}
			todo = append(todo, id)
		}
		// Seal the active segment, so that it can be compacted too: the
		// next append starts a new one.
		return t.setU32(offActiveSeg, 0)
	})
	if err != nil {
		return 0, err
	}
	for _, id := range todo {
		for more := true; more; {
			err := c.update(call, func(t *tx) error {
				var err error
				more, err = c.compactSegment(t, id, compactBatch)
				return err
			})
			if err != nil {
				return 0, err
			}
		}
	}
	err = c.read(func() error {
		after = int64(c.idx.u64(offSegBytes))
		return nil
	})
	return max(before-after, 0), err
}

// compactSegment does up to budget bytes of compaction towards removing
// segment id: it finishes a compaction under way first, then starts id's.
// It reports whether id is still there to work on.
func (c *Cache) compactSegment(t *tx, id uint32, budget int64) (bool, error) {
	x := t.x
	slot := uint32(maxSegSlots)
	for i := uint32(0); i < maxSegSlots; i++ {
		if getU32(x.m, offSegTable+int64(i)*segSlotSize) == id {
			slot = i
			break
		}
	}
	if slot == maxSegSlots || getU32(x.m, offSegTable+int64(slot)*segSlotSize+4)&segStuck != 0 {
		return false, nil // removed, or given up on as damaged
	}
	if slot == x.u32(offActiveSlot) && x.u32(offActiveSeg) != 0 {
		return false, nil // active again: another writer made it so
	}
	if x.u32(offCompSlot) == 0 {
		if _, err := c.startCompaction(t, slot+1); err != nil {
			return false, err
		}
	}
	return true, c.compactStep(t, budget)
}
