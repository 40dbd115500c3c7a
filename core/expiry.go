package core

// Entries with an expiry sit in a binary min-heap ordered by (expire time,
// rowid), the order of python-diskcache's expire_time index. The heap is an
// array of entry ids in chunks of the index file; each entry keeps its
// 1-based heap position so it can be removed or moved in O(log n).

func (t *tx) heapSlot(i uint64) (int64, error) {
	off := t.x.heapOff(i)
	if off < 0 {
		return 0, errIndexFull
	}
	return off, nil
}

func (t *tx) heapGet(i uint64) (uint32, error) {
	off, err := t.heapSlot(i)
	if err != nil {
		return 0, err
	}
	return t.x.u32(off), nil
}

// heapPut stores id at slot i and records the position in the entry.
func (t *tx) heapPut(i uint64, id uint32) error {
	off, err := t.heapSlot(i)
	if err != nil {
		return err
	}
	if err := t.saveRange(off, 4); err != nil {
		return err
	}
	putU32(t.x.m, off, id)
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	putU32(e, eHeapPos, uint32(i+1))
	return nil
}

func (t *tx) heapLess(a, b uint32) (bool, error) {
	ea, err := t.rd(a)
	if err != nil {
		return false, err
	}
	eb, err := t.rd(b)
	if err != nil {
		return false, err
	}
	ta, tb := getF64(ea, eExpireTime), getF64(eb, eExpireTime)
	if ta != tb {
		return ta < tb, nil
	}
	return getU64(ea, eRowid) < getU64(eb, eRowid), nil
}

// heapPush adds id, whose expire time is already set.
func (t *tx) heapPush(id uint32) error {
	n := t.x.u64(offHeapLen)
	k, i := chunkOf(n)
	if i == 0 && getU64(t.x.m, offHeapChunk+int64(k)*8) == 0 {
		off, err := t.alloc(int64(chunkCap(k)) * 4)
		if err != nil {
			return err
		}
		if err := t.setU64(offHeapChunk+int64(k)*8, uint64(off)); err != nil {
			return err
		}
	}
	if err := t.setU64(offHeapLen, n+1); err != nil {
		return err
	}
	if err := t.heapPut(n, id); err != nil {
		return err
	}
	return t.heapUp(n)
}

// heapRemove takes id out of the heap.
func (t *tx) heapRemove(id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	pos := uint64(getU32(e, eHeapPos))
	if pos == 0 {
		return nil
	}
	i := pos - 1
	n := t.x.u64(offHeapLen) - 1
	if err := t.setU64(offHeapLen, n); err != nil {
		return err
	}
	w, err := t.ent(id)
	if err != nil {
		return err
	}
	putU32(w, eHeapPos, 0)
	if i == n {
		return nil
	}
	last, err := t.heapGet(n)
	if err != nil {
		return err
	}
	if err := t.heapPut(i, last); err != nil {
		return err
	}
	return t.heapFix(i)
}

// heapFix restores order around slot i after its key changed.
func (t *tx) heapFix(i uint64) error {
	if i > 0 {
		id, err := t.heapGet(i)
		if err != nil {
			return err
		}
		parent, err := t.heapGet((i - 1) / 2)
		if err != nil {
			return err
		}
		less, err := t.heapLess(id, parent)
		if err != nil {
			return err
		}
		if less {
			return t.heapUp(i)
		}
	}
	return t.heapDown(i)
}

// heapUpdate re-positions id after its expire time changed.
func (t *tx) heapUpdate(id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	pos := uint64(getU32(e, eHeapPos))
	if pos == 0 {
		return t.heapPush(id)
	}
	return t.heapFix(pos - 1)
}

func (t *tx) heapUp(i uint64) error {
	id, err := t.heapGet(i)
	if err != nil {
		return err
	}
	for i > 0 {
		p := (i - 1) / 2
		pid, err := t.heapGet(p)
		if err != nil {
			return err
		}
		less, err := t.heapLess(id, pid)
		if err != nil {
			return err
		}
		if !less {
			break
		}
		if err := t.heapPut(i, pid); err != nil {
			return err
		}
		i = p
	}
	return t.heapPut(i, id)
}

func (t *tx) heapDown(i uint64) error {
	n := t.x.u64(offHeapLen)
	id, err := t.heapGet(i)
	if err != nil {
		return err
	}
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		cid, err := t.heapGet(c)
		if err != nil {
			return err
		}
		if c+1 < n {
			rid, err := t.heapGet(c + 1)
			if err != nil {
				return err
			}
			less, err := t.heapLess(rid, cid)
			if err != nil {
				return err
			}
			if less {
				c, cid = c+1, rid
			}
		}
		less, err := t.heapLess(cid, id)
		if err != nil {
			return err
		}
		if !less {
			break
		}
		if err := t.heapPut(i, cid); err != nil {
			return err
		}
		i = c
	}
	return t.heapPut(i, id)
}

// heapMin returns the entry expiring first, nilID when none has an expiry.
func (t *tx) heapMin() (uint32, error) {
	if t.x.u64(offHeapLen) == 0 {
		return nilID, nil
	}
	return t.heapGet(0)
}
