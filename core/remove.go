// Removing entries: Delete and Pop, and the bookkeeping every removal shares
// (value file, delete record, lists, buckets).

package core

import (
	"errors"
	"fmt"
)

// releaseValue drops the accounting of entry id's current record and value
// file, scheduling the file's deletion unless keepFile. With tombstone it
// also appends a delete record for the key, so a rebuild of the index from
// the segments does not bring the entry back.
func (c *Cache) releaseValue(t *tx, id uint32, keepFile, tombstone bool) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	n := int64(getU32(e, eRecLen))
	if n == 0 {
		return nil
	}
	file := !keepFile && getU32(e, eFlags)&flagFile != 0
	if file {
		if err := t.segs.withRecord(e, func(r record) error {
			t.removes = append(t.removes, string(r.file()))
			return nil
		}); err != nil {
			return err
		}
	}
	if tombstone {
		// An entry whose record is damaged still goes (clear, cull and
		// check must not stop at it), without a delete record: its key
		// can not be known. (Should the index then be lost, a rebuild can
		// find an older whole record of that key.)
		key, err := t.storedKey(e)
		if err != nil && !errors.Is(err, errKeyMismatch) {
			return err
		}
		if err == nil {
			if err := t.appendDelete(key); err != nil {
				return err
			}
		}
	}
	if err := t.segLive(getU32(e, eSegSlot), -n); err != nil {
		return err
	}
	if err := t.addU64(offInline, -n); err != nil {
		return err
	}
	return t.addU64(offSize, -int64(getU64(e, eSize)))
}

// removeEntry deletes entry id entirely.
func (c *Cache) removeEntry(t *tx, id uint32, keepFile bool) error {
	e, err := t.rd(id)
	if err != nil {
		return err
	}
	h := getU64(e, eHash)
	pos, err := c.bucketOf(id, h)
	if err != nil {
		return err
	}
	if err := c.releaseValue(t, id, keepFile, true); err != nil {
		return err
	}
	if err := t.unlink(insList, id); err != nil {
		return err
	}
	for _, l := range []listFields{polList, lruList} {
		if err := t.unlink(l, id); err != nil {
			return err
		}
	}
	if err := t.heapRemove(expiryHeap, id); err != nil {
		return err
	}
	if err := t.freqRemove(id); err != nil {
		return err
	}
	if err := t.bucketDelete(pos); err != nil {
		return err
	}
	if err := c.treeRemove(t, id); err != nil {
		return err
	}
	if err := t.addU64(offCount, -1); err != nil {
		return err
	}
	return t.freeEntry(id)
}

// bucketOf finds the bucket slot holding id.
func (c *Cache) bucketOf(id uint32, h uint64) (uint64, error) {
	off, capacity := c.idx.buckets()
	mask := capacity - 1
	pos := h & mask
	for n := uint64(0); n < capacity; n++ {
		b := getU64(c.idx.m, off+int64(pos)*bucketSize)
		if uint32(b) == id {
			if uint32(b>>32) != uint32(h>>32) {
				// A lookup compares these bits first: the entry is
				// in the table but can not be found.
				break
			}
			return pos, nil
		}
		if uint32(b) == nilID {
			break
		}
		pos = (pos + 1) & mask
	}
	return 0, fmt.Errorf("%w: entry %d missing from the hash table", ErrCorrupted, id)
}

// Delete removes key. A missing or expired key gives ErrNotFound and an
// expired entry is left in place, as python-diskcache leaves it.
func (c *Cache) Delete(call Call, key Typed, now float64) error {
	if !key.valid() {
		return ErrInvalid
	}
	return c.update(call, func(t *tx) error {
		id, err := c.findLive(t, key, now)
		if err != nil {
			return err
		}
		return c.removeEntry(t, id, false)
	})
}

func (c *Cache) findLive(t *tx, key Typed, now float64) (uint32, error) {
	id, _, err := c.lookup(key, hashTyped(key))
	if err != nil {
		return 0, err
	}
	if id == nilID {
		return 0, ErrNotFound
	}
	e, err := t.rd(id)
	if err != nil {
		return 0, err
	}
	if !live(e, now) {
		return 0, ErrNotFound
	}
	return id, nil
}

// Pop removes key and returns its item. The value's file is not deleted:
// the caller reads it and then deletes it, as python-diskcache does.
func (c *Cache) Pop(call Call, key Typed, now float64, buf []byte) (Item, error) {
	if !key.valid() {
		return Item{}, ErrInvalid
	}
	var it Item
	err := c.update(call, func(t *tx) error {
		id, err := c.readLive(t, key, now, buf, &it)
		if err != nil {
			return err
		}
		return c.removeEntry(t, id, true)
	})
	return it, err
}

// readLive finds key's live entry and describes it in *it (variable parts
// in buf); writers use it to return what they change.
func (c *Cache) readLive(t *tx, key Typed, now float64, buf []byte, it *Item) (uint32, error) {
	id, err := c.findLive(t, key, now)
	if err != nil {
		return 0, err
	}
	e, err := t.rd(id)
	if err != nil {
		return 0, err
	}
	*it, err = c.fill(e, buf, false)
	return id, err
}
