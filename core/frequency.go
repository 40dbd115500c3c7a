package core

// The least-frequently-used order is (access count, rowid). Only that
// policy's reads count (as python-diskcache's do), so under every other
// policy all counts stay 0 and the order is rowid order. Keeping every
// entry in the frequency heap then made each eviction of the oldest entry
// (what a cull does under least-recently-stored) remove the heap's root and
// sift the newest entry down the whole heap: O(log n) journaled steps at
// random places, a third of a culling set at 1,000,000 entries.
//
// So an entry starts in the zero list instead: new keys have count 0 and
// the largest rowid so far, so appending keeps the list in rowid order, in
// O(1). An entry moves into the heap when its count first becomes
// positive, and stays there (a later count of 0, after an overwrite,
// orders itself in the heap). The order's first entry is the smaller of
// the heap's root and the list's head. An entry with a heap position is in
// the heap; one without is in the list. Indexes written before the list
// existed have it empty (the fields were reserved, zero) and every entry in
// the heap, which is the same order.

var zeroList = listFields{offZeroHead, offZeroTail, eZeroPrev, eZeroNext, eRowid}

// inZeroList reports whether entry id (e) is linked in the zero list.
func (t *tx) inZeroList(e []byte, id uint32) bool {
	return getU32(e, eZeroPrev) != nilID || t.x.u32(offZeroHead) == id
}

// freqPlace puts id in its place in the frequency order after its access
// count (or, for a new entry, everything) was set.
func (t *tx) freqPlace(id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	if getU32(e, eLfuPos) != 0 {
		return t.heapUpdate(lfuHeap, id)
	}
	listed := t.inZeroList(e, id)
	if getU64(e, eAccessCnt) != 0 {
		if listed {
			if err := t.unlink(zeroList, id); err != nil {
				return err
			}
		}
		return t.heapUpdate(lfuHeap, id)
	}
	if listed {
		return nil
	}
	// Not placed yet: a new key, which has the largest rowid and goes at
	// the tail. Anything else goes to the heap, which orders itself.
	tail := t.x.u32(offZeroTail)
	if tail != nilID {
		te, err := t.rd(tail)
		if err != nil {
			return err
		}
		if getU64(te, eRowid) >= getU64(e, eRowid) {
			return t.heapUpdate(lfuHeap, id)
		}
	}
	return t.link(zeroList, id, tail)
}

// freqRemove takes id out of the frequency order.
func (t *tx) freqRemove(id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	if getU32(e, eLfuPos) != 0 {
		return t.heapRemove(lfuHeap, id)
	}
	if t.inZeroList(e, id) {
		return t.unlink(zeroList, id)
	}
	return nil
}

// freqMin returns the first entry of the frequency order, nilID if none.
func (t *tx) freqMin() (uint32, error) {
	root, err := t.heapMin(lfuHeap)
	if err != nil {
		return nilID, err
	}
	head := t.x.u32(offZeroHead)
	if head == nilID {
		return root, nil
	}
	if root == nilID {
		return head, nil
	}
	less, err := t.heapLess(lfuHeap, root, head)
	if err != nil {
		return nilID, err
	}
	if less {
		return root, nil
	}
	return head, nil
}
