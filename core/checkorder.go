package core

// checkOrders verifies the structures a lookup does not use but eviction,
// expiry and iteration do: the store-order and access-order lists, the
// never-counted list and the two heaps. A damaged link or heap slot would make cull or expire pick the
// wrong entry, or fail; check(fix) rebuilds the index when one is found.
func (c *Cache) checkOrders(t *tx, count uint64, warn func(WarningKind, string, ...any)) {
	for _, l := range []struct {
		name             string
		head, tail       int64
		prevOff, nextOff int64
	}{
		{"store order", offPolHead, offPolTail, ePolPrev, ePolNext},
		{"access order", offLruHead, offLruTail, eLruPrev, eLruNext},
	} {
		var prev uint32
		var n uint64
		id := t.x.u32(l.head)
		for ; id != nilID; n++ {
			e := t.x.entry(id)
			if n > count || e == nil || !entryOK(e) || getU32(e, eFlags)&flagLive == 0 || getU32(e, l.prevOff) != prev {
				warn(WarnIntegrity, "%s: broken at entry %d", l.name, id)
				break
			}
			prev, id = id, getU32(e, l.nextOff)
		}
		if id == nilID && t.x.u32(l.tail) != prev {
			warn(WarnIntegrity, "%s: tail is %d, the list ends at %d", l.name, t.x.u32(l.tail), prev)
		}
	}
	c.checkZeroList(t, count, warn)
	for _, h := range []struct {
		name string
		hk   heapKind
	}{{"expiry heap", expiryHeap}, {"frequency heap", lfuHeap}} {
		n := t.x.u64(h.hk.lenOff)
		if n > count {
			warn(WarnIntegrity, "%s: %d slots for %d entries", h.name, n, count)
			continue
		}
		for i := uint64(0); i < n; i++ {
			id, err := t.heapGet(h.hk, i)
			e := t.x.entry(id)
			if err != nil || e == nil || !entryOK(e) || getU32(e, h.hk.posField) != uint32(i+1) {
				warn(WarnIntegrity, "%s: slot %d holds entry %d, which is not there", h.name, i, id)
				break
			}
			if i > 0 {
				parent, err := t.heapGet(h.hk, (i-1)/2)
				if err != nil {
					warn(WarnIntegrity, "%s: slot %d: %v", h.name, (i-1)/2, err)
					break
				}
				if less, err := t.heapLess(h.hk, id, parent); err != nil || less {
					warn(WarnIntegrity, "%s: slot %d is out of order", h.name, i)
					break
				}
			}
		}
	}
}

// checkZeroList verifies the never-counted list (frequency.go): linked both
// ways, in rowid order, of live entries with count 0 and no heap position.
func (c *Cache) checkZeroList(t *tx, count uint64, warn func(WarningKind, string, ...any)) {
	var prev uint32
	var n, row uint64
	id := t.x.u32(offZeroHead)
	for ; id != nilID; n++ {
		e := t.x.entry(id)
		if n > count || e == nil || !entryOK(e) || getU32(e, eFlags)&flagLive == 0 ||
			getU32(e, eZeroPrev) != prev || getU32(e, eLfuPos) != 0 || getU64(e, eAccessCnt) != 0 ||
			(n > 0 && getU64(e, eRowid) <= row) {
			warn(WarnIntegrity, "never-counted list: broken at entry %d", id)
			return
		}
		prev, row, id = id, getU64(e, eRowid), getU32(e, eZeroNext)
	}
	if t.x.u32(offZeroTail) != prev {
		warn(WarnIntegrity, "never-counted list: tail is %d, the list ends at %d", t.x.u32(offZeroTail), prev)
	}
	if n+t.x.u64(offLfuLen) > count {
		warn(WarnIntegrity, "frequency order: %d listed and %d in the heap for %d entries", n, t.x.u64(offLfuLen), count)
	}
}
