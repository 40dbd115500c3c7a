package core

import (
	"bytes"
	"slices"
)

// rebuild replaces an index whose structure Check found damaged (broken
// links, entries failing their checksums, unreadable records) with a new
// one holding every entry that is still whole: its checksum holds, it is
// live, its record reads back with its key, and its value file (if any)
// matches its checksum. The lists, tables and heaps are made anew by
// storing those entries again in rowid order, so nothing of the damaged
// structure is trusted. It returns how many entries were kept.
//
// It runs as one transaction under the writer lock. The new index is laid
// down in place first, unjournaled; a crash after that leaves an empty or
// partly refilled cache, never a damaged one. New records go to new
// segments, so the old ones stay readable until check(fix) removes them.
func (c *Cache) rebuild(call Call) (int, error) {
	owner := c.owner(call.Owner)
	call.Owner = owner
	if err := c.Begin(call); err != nil {
		return 0, err
	}
	kept, err := c.refill(owner)
	if endErr := c.End(owner, err == nil); err == nil {
		err = endErr
	}
	return kept, err
}

func (c *Cache) refill(owner uint64) (int, error) {
	t := c.tx
	x := t.x
	type keeper struct {
		entry []byte
		key   []byte
	}
	// The newest whole entry of each key.
	byKey := map[uint64][]keeper{}
	high := x.u32(offEntryHigh)
	for id := uint32(firstEntryID); id < high; id++ {
		e := x.entry(id)
		if e == nil {
			break
		}
		if !entryOK(e) || getU32(e, eFlags)&flagLive == 0 {
			continue
		}
		r, err := t.segs.record(e)
		if err != nil || hashTyped(Typed{r.keyKind(), r.key()}) != getU64(e, eHash) {
			continue
		}
		if f := string(r.file()); f != "" {
			full, ok := c.valuePath(f)
			if !ok || verifyFileSum(full, f) != nil || !fileExists(full) {
				continue
			}
		}
		k := keeper{entry: slices.Clone(e), key: append([]byte{byte(r.keyKind())}, r.key()...)}
		h := getU64(e, eHash)
		dup := false
		for i, o := range byKey[h] {
			if bytes.Equal(o.key, k.key) {
				dup = true
				if getU64(e, eRowid) > getU64(o.entry, eRowid) {
					byKey[h][i] = k
				}
			}
		}
		if !dup {
			byKey[h] = append(byKey[h], k)
		}
	}
	var keep [][]byte
	for _, ks := range byKey {
		for _, k := range ks {
			keep = append(keep, k.entry)
		}
	}
	slices.SortFunc(keep, func(a, b []byte) int {
		ra, rb := getU64(a, eRowid), getU64(b, eRowid)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})

	if err := c.recreate(c.nextFreeSegment()); err != nil {
		return 0, err
	}
	c.jrn.begin()
	t.removes, t.segRemoves, t.allocs = t.removes[:0], t.segRemoves[:0], t.allocs[:0]
	for _, e := range keep {
		a, err := c.argsOf(e)
		if err != nil {
			return 0, err
		}
		err = c.update(Call{Owner: owner}, func(t *tx) error { return c.store(t, a, false) })
		if err != nil {
			return 0, err
		}
	}
	return len(keep), nil
}

// argsOf rebuilds the SetArgs that stored entry e, from e and its record.
func (c *Cache) argsOf(e []byte) (*SetArgs, error) {
	r, err := c.segs.record(e)
	if err != nil {
		return nil, err
	}
	fl := getU32(e, eFlags)
	n, err := r.plainLen()
	if err != nil {
		return nil, err
	}
	val, err := r.plainValue(make([]byte, n))
	if err != nil {
		return nil, err
	}
	a := &SetArgs{
		Key:       Typed{Kind: r.keyKind(), Bytes: r.key()},
		Value:     Typed{Kind: Kind(fl >> shiftVal & kindMask), Bytes: val},
		Mode:      Mode(fl >> shiftMode & kindMask),
		File:      string(r.file()),
		Size:      int64(getU64(e, eSize)),
		HasTag:    fl&flagTag != 0,
		Tag:       Typed{Kind: r.tagKind(), Bytes: r.tag()},
		HasExpire: fl&flagExpire != 0,
		Expire:    getF64(e, eExpireTime),
		Now:       getF64(e, eStoreTime),
	}
	if a.Value.Kind == KindInt || a.Value.Kind == KindFloat {
		var n [8]byte
		putU64(n[:], 0, getU64(e, eNum))
		a.Value.Bytes = n[:]
	}
	return a, a.check()
}
