package core

import "sort"

// batchSize is how many entries a bulk removal deletes per transaction, as
// python-diskcache does, so other writers get the lock between batches.
const batchSize = 100

// autoCull is python-diskcache's cull inside set, add, incr and push: up to
// CullLimit expired entries (earliest expiry first), then, if the budget is
// not spent and Volume has reached SizeLimit, the rest in policy order.
func (c *Cache) autoCull(t *tx, now float64) error {
	limit := int(c.cullLimit.Load())
	if limit == 0 {
		return nil
	}
	for ; limit > 0; limit-- {
		id, err := t.heapMin(expiryHeap)
		if err != nil {
			return err
		}
		if id == nilID {
			break
		}
		e, err := t.rd(id)
		if err != nil {
			return err
		}
		if !(getF64(e, eExpireTime) < now) {
			break
		}
		if err := c.removeEntry(t, id, false); err != nil {
			return err
		}
	}
	if limit == 0 || !Policy(c.policy.Load()).evicts() || c.volume() < c.sizeLimit.Load() {
		return nil
	}
	for ; limit > 0; limit-- {
		id, err := c.victim(t)
		if err != nil {
			return err
		}
		if id == nilID {
			break
		}
		if err := c.removeEntry(t, id, false); err != nil {
			return err
		}
	}
	return nil
}

// victim returns the entry the policy removes first, nilID when none.
func (c *Cache) victim(t *tx) (uint32, error) {
	switch Policy(c.policy.Load()) {
	case LeastRecentlyStored:
		return t.x.u32(offPolHead), nil
	case LeastRecentlyUsed:
		return t.x.u32(offLruHead), nil
	case LeastFrequentlyUsed:
		return t.freqMin()
	}
	return nilID, nil
}

// batches runs step in its own transaction until it reports done, adding
// up the entries removed. On a lock timeout it returns the count so far
// with ErrTimeout, so python-diskcache's Timeout(count) can be raised.
func (c *Cache) batches(call Call, step func(t *tx) (n int, done bool, err error)) (int, error) {
	total := 0
	for {
		var n int
		var done bool
		err := c.update(call, func(t *tx) error {
			var err error
			n, done, err = step(t)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			return total, nil
		}
	}
}

// Expire removes the entries whose expiry is in (0, now), earliest first,
// and returns how many.
func (c *Cache) Expire(call Call, now float64) (int, error) {
	return c.batches(call, func(t *tx) (int, bool, error) {
		return c.expireBatch(t, now)
	})
}

// expireBatch removes up to batchSize expired entries in heap order.
func (c *Cache) expireBatch(t *tx, now float64) (int, bool, error) {
	n := 0
	for n < batchSize {
		id, err := t.heapMin(expiryHeap)
		if err != nil || id == nilID {
			return n, true, err
		}
		e, err := t.rd(id)
		if err != nil {
			return 0, false, err
		}
		x := getF64(e, eExpireTime)
		if x <= 0 {
			m, done, err := c.expireSorted(t, now, batchSize-n)
			return n + m, done, err
		}
		if !(x < now) {
			return n, true, nil
		}
		if err := c.removeEntry(t, id, false); err != nil {
			return 0, false, err
		}
		n++
	}
	return n, false, nil
}

// expireSorted handles the odd case of expiry times at or before 0 (a clock
// patched to the epoch) sitting on top of the heap, which python-diskcache's
// "0 < expire_time" skips: it scans the heap and sorts the candidates.
func (c *Cache) expireSorted(t *tx, now float64, limit int) (int, bool, error) {
	type cand struct {
		id  uint32
		t   float64
		row uint64
	}
	var cs []cand
	for i := uint64(0); i < t.x.u64(expiryHeap.lenOff); i++ {
		id, err := t.heapGet(expiryHeap, i)
		if err != nil {
			return 0, false, err
		}
		e, err := t.rd(id)
		if err != nil {
			return 0, false, err
		}
		if x := getF64(e, eExpireTime); x > 0 && x < now {
			cs = append(cs, cand{id, x, getU64(e, eRowid)})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].t != cs[j].t {
			return cs[i].t < cs[j].t
		}
		return cs[i].row < cs[j].row
	})
	done := len(cs) <= limit
	if !done {
		cs = cs[:limit]
	}
	for _, x := range cs {
		if err := c.removeEntry(t, x.id, false); err != nil {
			return 0, false, err
		}
	}
	return len(cs), done, nil
}

// Evict removes every entry whose tag equals tag, in insertion order, and
// returns how many.
func (c *Cache) Evict(call Call, tag Typed) (int, error) {
	if !tag.valid() {
		return 0, ErrInvalid
	}
	var cur cursor
	return c.batches(call, func(t *tx) (int, bool, error) {
		n := 0
		id, err := c.resume(t, &cur)
		if err != nil {
			return 0, false, err
		}
		limit := uint64(t.x.u32(offEntryHigh)) + 1
		for steps := uint64(0); id != nilID && n < batchSize; steps++ {
			if steps > limit {
				return 0, false, errCycle
			}
			e, err := t.rd(id)
			if err != nil {
				return 0, false, err
			}
			next := getU32(e, eInsNext)
			cur.id, cur.rowid = id, getU64(e, eRowid)
			if getU32(e, eFlags)&flagTag != 0 {
				r, err := t.segs.record(e)
				if err != nil {
					return 0, false, err
				}
				if equalTyped(tag, r.tagKind(), r.tag()) {
					if err := c.removeEntry(t, id, false); err != nil {
						return 0, false, err
					}
					n++
				}
			}
			id = next
		}
		return n, id == nilID, nil
	})
}

// Clear removes every entry, in insertion order, and returns how many.
func (c *Cache) Clear(call Call) (int, error) {
	return c.batches(call, func(t *tx) (int, bool, error) {
		n := 0
		for n < batchSize {
			id := t.x.u32(offInsHead)
			if id == nilID {
				return n, true, nil
			}
			if err := c.removeEntry(t, id, false); err != nil {
				return 0, false, err
			}
			n++
		}
		return n, t.x.u32(offInsHead) == nilID, nil
	})
}

// Cull removes expired entries (as Expire) and then, unless the policy is
// NoEviction, batches of ten entries in policy order, one transaction each,
// while Volume exceeds SizeLimit. Under NoEviction it reports 0 even when it expired
// entries, as python-diskcache does.
func (c *Cache) Cull(call Call, now float64) (int, error) {
	expired, err := c.Expire(Call{Owner: call.Owner}, now)
	if err != nil {
		return expired, err
	}
	if !Policy(c.policy.Load()).evicts() {
		return 0, nil
	}
	n, err := c.batches(call, func(t *tx) (int, bool, error) {
		// Like python-diskcache: check the volume, then remove a whole
		// batch of ten, even if fewer would have sufficed.
		if c.volume() <= c.sizeLimit.Load() {
			return 0, true, nil
		}
		n := 0
		for ; n < 10; n++ {
			id, err := c.victim(t)
			if err != nil {
				return 0, false, err
			}
			if id == nilID {
				break
			}
			if err := c.removeEntry(t, id, false); err != nil {
				return 0, false, err
			}
		}
		return n, n == 0, nil
	})
	return expired + n, err
}
