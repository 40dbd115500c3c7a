// Reads that write: GetUpdate records the access the LRU and LFU policies
// evict by.

package core

// accessed applies the policy's read bookkeeping to entry e (held for
// writing): the access time for LRU, the access count for LFU, nothing
// otherwise, as python-diskcache's per-policy "get" clause does.
func (c *Cache) accessed(e []byte, now float64) {
	switch Policy(c.policy.Load()) {
	case LeastRecentlyUsed:
		putF64(e, eAccessTime, now)
	case LeastFrequentlyUsed:
		putU64(e, eAccessCnt, getU64(e, eAccessCnt)+1)
	}
}

// GetUpdate is Get for policies that update entries on read (LRU, LFU): it
// runs as a write, so it takes the writer lock and can time out.
func (c *Cache) GetUpdate(call Call, key Typed, now float64, flags GetFlags, buf []byte) (Item, error) {
	if !key.valid() {
		return Item{}, ErrInvalid
	}
	var it Item
	err := c.update(call, func(t *tx) error {
		id, err := c.readLive(t, key, now, buf, &it)
		if err != nil {
			return err
		}
		if !Policy(c.policy.Load()).UpdatesOnRead() {
			return nil
		}
		w, err := t.ent(id)
		if err != nil {
			return err
		}
		c.accessed(w, now)
		return t.reorder(id)
	})
	c.count(flags, err)
	return it, err
}
