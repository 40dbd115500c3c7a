package core

// allocEntry takes an entry from the free list, or the next never-used id,
// allocating a new chunk when the id starts one. The entry comes back zeroed.
func (t *tx) allocEntry() (uint32, []byte, error) {
	x := t.x
	id := x.u32(offFreeHead)
	if id != nilID {
		e, err := t.ent(id)
		if err != nil {
			return 0, nil, err
		}
		if err := t.setU32(offFreeHead, getU32(e, eInsNext)); err != nil {
			return 0, nil, err
		}
		clear(e)
		return id, e, nil
	}
	id = x.u32(offEntryHigh)
	if id >= tombstone-1 {
		return 0, nil, errIndexFull
	}
	k, i := chunkOf(uint64(id))
	if i == 0 || getU64(x.m, offEntryChunk+int64(k)*8) == 0 {
		off, err := t.alloc(int64(chunkCap(k)) * entrySize)
		if err != nil {
			return 0, nil, err
		}
		if err := t.setU64(offEntryChunk+int64(k)*8, uint64(off)); err != nil {
			return 0, nil, err
		}
	}
	if err := t.setU32(offEntryHigh, id+1); err != nil {
		return 0, nil, err
	}
	e, err := t.ent(id)
	if err != nil {
		return 0, nil, err
	}
	clear(e)
	return id, e, nil
}

// freeEntry clears entry id and pushes it on the free list.
func (t *tx) freeEntry(id uint32) error {
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	clear(e)
	putU32(e, eInsNext, t.x.u32(offFreeHead))
	return t.setU32(offFreeHead, id)
}
