package core

// Three doubly linked lists run through the entries (a fourth, the
// never-counted list, is frequency.go's). The insertion list is
// rowid order: iteration, peekitem and the batches of clear and evict. The
// store list is sorted by (store time, rowid) and the access list by
// (access time, rowid), the orders python-diskcache's cull queries use for
// least-recently-stored and least-recently-used. Entries stored or read now
// go to the tail, so keeping them sorted costs O(1) unless the clock went
// back. All are kept under every policy, so a policy change needs no
// rebuild.

type listFields struct{ head, tail, prev, next, key int64 }

var (
	insList = listFields{offInsHead, offInsTail, eInsPrev, eInsNext, eRowid}
	polList = listFields{offPolHead, offPolTail, ePolPrev, ePolNext, eStoreTime}
	lruList = listFields{offLruHead, offLruTail, eLruPrev, eLruNext, eAccessTime}
)

// link inserts id after entry `after` (nilID: at the head).
func (t *tx) link(l listFields, id, after uint32) error {
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	var next uint32
	if after == nilID {
		next = t.x.u32(l.head)
		if err := t.setU32(l.head, id); err != nil {
			return err
		}
	} else {
		a, err := t.ent(after)
		if err != nil {
			return err
		}
		next = getU32(a, l.next)
		putU32(a, l.next, id)
	}
	if next == nilID {
		if err := t.setU32(l.tail, id); err != nil {
			return err
		}
	} else {
		n, err := t.ent(next)
		if err != nil {
			return err
		}
		putU32(n, l.prev, id)
	}
	putU32(e, l.prev, after)
	putU32(e, l.next, next)
	return nil
}

// unlink removes id from the list.
func (t *tx) unlink(l listFields, id uint32) error {
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	prev, next := getU32(e, l.prev), getU32(e, l.next)
	if prev == nilID {
		if err := t.setU32(l.head, next); err != nil {
			return err
		}
	} else {
		p, err := t.ent(prev)
		if err != nil {
			return err
		}
		putU32(p, l.next, next)
	}
	if next == nilID {
		if err := t.setU32(l.tail, prev); err != nil {
			return err
		}
	} else {
		n, err := t.ent(next)
		if err != nil {
			return err
		}
		putU32(n, l.prev, prev)
	}
	putU32(e, l.prev, nilID)
	putU32(e, l.next, nilID)
	return nil
}

// relink moves id to its (time, rowid) place in a sorted list, searching
// back from the tail; id may or may not be linked already.
func (t *tx) relink(l listFields, id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	if getU32(e, l.prev) != nilID || t.x.u32(l.head) == id {
		if err := t.unlink(l, id); err != nil {
			return err
		}
	}
	st, row := getF64(e, l.key), getU64(e, eRowid)
	after := t.x.u32(l.tail)
	limit := uint64(t.x.u32(offEntryHigh)) + 1
	for steps := uint64(0); after != nilID; steps++ {
		if steps > limit {
			return errCycle
		}
		a, err := t.rd(after)
		if err != nil {
			return err
		}
		at := getF64(a, l.key)
		if at < st || (at == st && getU64(a, eRowid) < row) {
			break
		}
		after = getU32(a, l.prev)
	}
	return t.link(l, id, after)
}
