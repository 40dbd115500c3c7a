package core

// cursor remembers where a walk of insertion order stopped: the entry and
// its rowid, so a walk can resume after the entry was deleted.
type cursor struct {
	id    uint32
	rowid uint64
}

// resume returns the first entry after cur in insertion order (the head for
// a zero cursor). If cur's entry is gone it walks from the head to the
// first rowid past cur, which only costs O(n) when a concurrent writer
// deleted exactly the entry the walk stopped on.
func (c *Cache) resume(t *tx, cur *cursor) (uint32, error) {
	x := c.idx
	if cur.id == nilID {
		return x.u32(offInsHead), nil
	}
	if e := x.entry(cur.id); e != nil && getU32(e, eFlags)&flagLive != 0 && getU64(e, eRowid) == cur.rowid {
		return getU32(e, eInsNext), nil
	}
	limit := uint64(x.u32(offEntryHigh)) + 1
	for id, steps := x.u32(offInsHead), uint64(0); id != nilID; steps++ {
		e := x.entry(id)
		if e == nil || steps > limit {
			return 0, errCycle
		}
		if getU64(e, eRowid) > cur.rowid {
			return id, nil
		}
		id = getU32(e, eInsNext)
	}
	return nilID, nil
}

// Cursor is a position in insertion order for Keys.
type Cursor struct {
	ID    uint32
	Rowid uint64
}

// MaxRowid returns the largest rowid (0 when empty): the bound python-
// diskcache's iterators capture when they start.
func (c *Cache) MaxRowid() (uint64, error) {
	var r uint64
	err := c.read(func() error {
		r = 0
		if tail := c.idx.u32(offInsTail); tail != nilID {
			e := c.idx.entry(tail)
			if e == nil {
				return errRetry
			}
			r = getU64(e, eRowid)
		}
		return nil
	})
	return r, err
}

// Keys returns up to max keys in insertion order after cur (before cur when
// reverse; a zero cursor starts at the end), skipping rowids at or beyond
// bound. The keys are copied into buf; it returns the items and the cursor
// to continue from. Fewer than max items means the walk is complete.
func (c *Cache) Keys(cur Cursor, bound uint64, reverse bool, max int, buf []byte) ([]Item, Cursor, error) {
	var items []Item
	var next Cursor
	err := c.read(func() error {
		items, next = items[:0], cur
		x := c.idx
		id, err := c.start(cur, reverse)
		if err != nil {
			return err
		}
		p := 0
		limit := uint64(x.u32(offEntryHigh)) + 1
		for steps := uint64(0); id != nilID && len(items) < max; steps++ {
			if steps > limit {
				return errRetry // a cycle: damaged links
			}
			e := x.entry(id)
			if e == nil {
				return errRetry
			}
			row := getU64(e, eRowid)
			link := eInsNext
			if reverse {
				link = eInsPrev
			}
			nextID := getU32(e, int64(link))
			if row < bound && (cur.ID == nilID || (reverse && row < cur.Rowid) || (!reverse && row > cur.Rowid)) {
				var key []byte
				var kind Kind
				if err := c.segs.withRecord(e, func(r record) error {
					key, kind = r.key(), r.keyKind()
					if p+len(key) > len(buf) {
						return ErrShortBuffer
					}
					return nil
				}); err != nil {
					if err == ErrShortBuffer && len(items) > 0 {
						break
					}
					return err
				}
				n := copy(buf[p:], key)
				items = append(items, Item{Key: Typed{Kind: kind, Bytes: buf[p : p+n : p+n]}, Rowid: row})
				p += n
				next = Cursor{ID: id, Rowid: row}
			}
			id = nextID
		}
		return nil
	})
	return items, next, err
}

// start finds where a Keys walk begins.
func (c *Cache) start(cur Cursor, reverse bool) (uint32, error) {
	x := c.idx
	head, link := offInsHead, int64(eInsNext)
	if reverse {
		head, link = offInsTail, eInsPrev
	}
	if cur.ID == nilID {
		return x.u32(int64(head)), nil
	}
	if e := x.entry(cur.ID); e != nil && getU32(e, eFlags)&flagLive != 0 && getU64(e, eRowid) == cur.Rowid {
		return getU32(e, link), nil
	}
	// The cursor's entry is gone: walk from the end; the rowid filter in
	// Keys skips what was already returned.
	return x.u32(int64(head)), nil
}
