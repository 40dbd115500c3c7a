package core

// Two binary min-heaps of entry ids live in chunks of the index file:
// the expiry heap, ordered by (expire time, rowid) like python-diskcache's
// expire_time index, and the frequency heap, ordered by (access count,
// rowid) for least-frequently-used. Each entry keeps its 1-based position
// in each heap so it can be moved or removed in O(log n).

type heapKind struct {
	lenOff   int64 // state field holding the length
	chunkOff int64 // state table of chunk offsets
	posField int64 // entry field holding the 1-based position
	keyField int64 // entry field of the primary order key
	isFloat  bool  // whether keyField is a float64 (else uint64)
}

var (
	expiryHeap = heapKind{offHeapLen, offHeapChunk, eHeapPos, eExpireTime, true}
	lfuHeap    = heapKind{offLfuLen, offLfuChunk, eLfuPos, eAccessCnt, false}
)

func (t *tx) heapSlot(hk heapKind, i uint64) (int64, error) {
	k, j := chunkOf(i)
	base := int64(getU64(t.x.m, hk.chunkOff+int64(k)*8))
	if base < headerSize {
		return 0, errIndexFull
	}
	return base + int64(j)*4, nil
}

func (t *tx) heapGet(hk heapKind, i uint64) (uint32, error) {
	off, err := t.heapSlot(hk, i)
	if err != nil {
		return 0, err
	}
	return t.x.u32(off), nil
}

// heapPut stores id at slot i and records the position in the entry.
func (t *tx) heapPut(hk heapKind, i uint64, id uint32) error {
	off, err := t.heapSlot(hk, i)
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
	putU32(e, hk.posField, uint32(i+1))
	return nil
}

func (t *tx) heapLess(hk heapKind, a, b uint32) (bool, error) {
	ea, err := t.rd(a)
	if err != nil {
		return false, err
	}
	eb, err := t.rd(b)
	if err != nil {
		return false, err
	}
	if hk.isFloat {
		ta, tb := getF64(ea, hk.keyField), getF64(eb, hk.keyField)
		if ta != tb {
			return ta < tb, nil
		}
	} else {
		ta, tb := getU64(ea, hk.keyField), getU64(eb, hk.keyField)
		if ta != tb {
			return ta < tb, nil
		}
	}
	return getU64(ea, eRowid) < getU64(eb, eRowid), nil
}

// heapPush adds id, whose key field is already set.
func (t *tx) heapPush(hk heapKind, id uint32) error {
	n := t.x.u64(hk.lenOff)
	k, i := chunkOf(n)
	if i == 0 && getU64(t.x.m, hk.chunkOff+int64(k)*8) == 0 {
		off, err := t.alloc(int64(chunkCap(k)) * 4)
		if err != nil {
			return err
		}
		if err := t.setU64(hk.chunkOff+int64(k)*8, uint64(off)); err != nil {
			return err
		}
	}
	if err := t.setU64(hk.lenOff, n+1); err != nil {
		return err
	}
	if err := t.heapPut(hk, n, id); err != nil {
		return err
	}
	return t.heapUp(hk, n)
}

// heapRemove takes id out of the heap (a no-op if it is not in it).
func (t *tx) heapRemove(hk heapKind, id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	pos := uint64(getU32(e, hk.posField))
	if pos == 0 {
		return nil
	}
	i := pos - 1
	n := t.x.u64(hk.lenOff) - 1
	if err := t.setU64(hk.lenOff, n); err != nil {
		return err
	}
	w, err := t.ent(id)
	if err != nil {
		return err
	}
	putU32(w, hk.posField, 0)
	if i == n {
		return nil
	}
	last, err := t.heapGet(hk, n)
	if err != nil {
		return err
	}
	if err := t.heapPut(hk, i, last); err != nil {
		return err
	}
	return t.heapFix(hk, i)
}

// heapFix restores order around slot i after its key changed.
func (t *tx) heapFix(hk heapKind, i uint64) error {
	if i > 0 {
		id, err := t.heapGet(hk, i)
		if err != nil {
			return err
		}
		parent, err := t.heapGet(hk, (i-1)/2)
		if err != nil {
			return err
		}
		less, err := t.heapLess(hk, id, parent)
		if err != nil {
			return err
		}
		if less {
			return t.heapUp(hk, i)
		}
	}
	return t.heapDown(hk, i)
}

// heapUpdate positions id after its key changed, adding it if absent.
func (t *tx) heapUpdate(hk heapKind, id uint32) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	pos := uint64(getU32(e, hk.posField))
	if pos == 0 {
		return t.heapPush(hk, id)
	}
	return t.heapFix(hk, pos-1)
}

func (t *tx) heapUp(hk heapKind, i uint64) error {
	id, err := t.heapGet(hk, i)
	if err != nil {
		return err
	}
	for i > 0 {
		p := (i - 1) / 2
		pid, err := t.heapGet(hk, p)
		if err != nil {
			return err
		}
		less, err := t.heapLess(hk, id, pid)
		if err != nil {
			return err
		}
		if !less {
			break
		}
		if err := t.heapPut(hk, i, pid); err != nil {
			return err
		}
		i = p
	}
	return t.heapPut(hk, i, id)
}

func (t *tx) heapDown(hk heapKind, i uint64) error {
	n := t.x.u64(hk.lenOff)
	id, err := t.heapGet(hk, i)
	if err != nil {
		return err
	}
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		cid, err := t.heapGet(hk, c)
		if err != nil {
			return err
		}
		if c+1 < n {
			rid, err := t.heapGet(hk, c+1)
			if err != nil {
				return err
			}
			less, err := t.heapLess(hk, rid, cid)
			if err != nil {
				return err
			}
			if less {
				c, cid = c+1, rid
			}
		}
		less, err := t.heapLess(hk, cid, id)
		if err != nil {
			return err
		}
		if !less {
			break
		}
		if err := t.heapPut(hk, i, cid); err != nil {
			return err
		}
		i = c
	}
	return t.heapPut(hk, i, id)
}

// heapMin returns the heap's first entry, nilID when it is empty.
func (t *tx) heapMin(hk heapKind) (uint32, error) {
	if t.x.u64(hk.lenOff) == 0 {
		return nilID, nil
	}
	return t.heapGet(hk, 0)
}
