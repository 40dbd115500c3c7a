package core

import (
	"errors"
	"fmt"
	"math"
)

// SetArgs describe a value to store. Value holds the inline value (Null for
// a value kept only in File); File names the value's file relative to the
// cache directory and Size is that file's size.
type SetArgs struct {
	Key       Typed
	Value     Typed
	Mode      Mode
	File      string
	Size      int64
	Tag       Typed
	HasTag    bool
	Expire    float64 // absolute expiry time, used when HasExpire
	HasExpire bool
	Now       float64
}

func (a *SetArgs) check() error {
	// A Null key may carry the 8 bytes store gives it (rebuild stores
	// entries again with their keys).
	nullKey := a.Key.Kind == KindNull && (len(a.Key.Bytes) == 0 || len(a.Key.Bytes) == 8)
	if !(a.Key.valid() || nullKey) || !a.Value.valid() || (a.HasTag && !a.Tag.valid()) || a.Size < 0 {
		return fmt.Errorf("%w: malformed set", ErrInvalid)
	}
	if len(a.File) > 4096 {
		return fmt.Errorf("%w: file name too long", ErrInvalid)
	}
	if a.File != "" && !safeFileName(a.File) {
		return fmt.Errorf("%w: value file name %q must be relative and inside the cache directory", ErrInvalid, a.File)
	}
	return nil
}

// Set stores a value under a key, replacing any previous value in place (the
// key keeps its insertion position and its originally stored form, so 1.0
// updates the entry of 1). The replaced value's file is deleted after the
// commit. The automatic cull runs afterwards, in the same transaction.
func (c *Cache) Set(call Call, a *SetArgs) error {
	if err := a.check(); err != nil {
		return err
	}
	return c.update(call, func(t *tx) error {
		if err := c.store(t, a, false); err != nil {
			return err
		}
		return c.autoCull(t, a.Now)
	})
}

// Add stores a value only if the key is absent or expired; otherwise it
// returns ErrExists and changes nothing. An expired entry is replaced in
// place and keeps its position.
func (c *Cache) Add(call Call, a *SetArgs) error {
	if err := a.check(); err != nil {
		return err
	}
	return c.update(call, func(t *tx) error {
		if err := c.store(t, a, true); err != nil {
			return err
		}
		return c.autoCull(t, a.Now)
	})
}

// store writes a's record and links or updates its entry.
//
// A Null key (python-diskcache stores a NaN key as SQL NULL) equals no key,
// itself included, as NULL does in SQL: every store of one adds an entry,
// and no lookup finds it. Its stored key gets 8 bytes of its own (the rowid
// it will have, unique among live entries) after the kind, so that it
// hashes apart from the others and compaction's lookup of a record's key
// finds its one owner; a caller's Null key has no bytes and matches none.
func (c *Cache) store(t *tx, a *SetArgs, onlyAdd bool) error {
	key := a.Key
	id := uint32(nilID)
	if key.Kind == KindNull {
		rowid, err := c.nextRowid(t)
		if err != nil {
			return err
		}
		key = Typed{Kind: KindNull, Bytes: le.AppendUint64(nil, rowid)}
	}
	h := hashTyped(key)
	if key.Kind != KindNull {
		var err error
		if id, _, err = c.lookup(key, h); err != nil {
			return err
		}
	}
	if id != nilID {
		e, err := t.rd(id)
		if err != nil {
			return err
		}
		if onlyAdd && live(e, a.Now) {
			return ErrExists
		}
		// Keep the key as first stored (1 stays 1 when 1.0 updates it, and
		// -0.0 stays -0.0); other keys are byte-identical when equal.
		if oldKind := Kind(getU32(e, eFlags) >> shiftKey & kindMask); oldKind != key.Kind || oldKind == KindFloat {
			if err := t.segs.withRecord(e, func(r record) error {
				key = Typed{Kind: r.keyKind(), Bytes: append([]byte(nil), r.key()...)}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	val := a.Value
	var num uint64
	if val.Kind == KindInt || val.Kind == KindFloat {
		num = le.Uint64(val.Bytes)
		val = Typed{Kind: val.Kind}
	}
	tag := Typed{}
	if a.HasTag {
		tag = a.Tag
	}
	mode := a.Mode
	if lim := c.opts.CompressAbove; lim > 0 && len(val.Bytes) >= lim && (val.Kind == KindBlob || val.Kind == KindText) {
		z, err := t.compressValue(val.Bytes)
		if err != nil {
			return err
		}
		if z != nil {
			val = Typed{Kind: val.Kind, Bytes: z}
			mode |= recCompressed
		}
	}
	rowid, err := c.rowidFor(t, id)
	if err != nil {
		return err
	}
	m := recMeta{op: opPut, rowid: rowid, store: a.Now, size: uint64(a.Size)}
	if a.HasExpire {
		m.flags |= recExpire
		m.expire = a.Expire
	}
	if a.HasTag {
		m.flags |= recTag
	}
	if a.Value.Kind == KindInt || a.Value.Kind == KindFloat {
		// The number goes into the record too, so a rebuild finds it.
		val.Bytes = a.Value.Bytes
	}
	rec, err := t.encode(key, tag, a.File, val, mode, &m)
	if err != nil {
		return err
	}
	seg, slot, off, err := t.appendRecord(rec)
	if err != nil {
		return err
	}
	if id == nilID {
		if id, err = c.insertEntry(t, h, key, rowid); err != nil {
			return err
		}
	} else if err := c.releaseValue(t, id, false, false); err != nil {
		return err
	}
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	hadExpire := getU32(e, eFlags)&flagExpire != 0
	flags := uint32(flagLive) | uint32(a.Key.Kind)<<shiftKey | uint32(a.Value.Kind)<<shiftVal | uint32(a.Mode)<<shiftMode
	flags = flags&^(kindMask<<shiftKey) | uint32(key.Kind)<<shiftKey
	if a.HasTag {
		flags |= flagTag | uint32(a.Tag.Kind)<<shiftTag
	}
	if a.File != "" {
		flags |= flagFile
	}
	if a.HasExpire {
		flags |= flagExpire
		putF64(e, eExpireTime, a.Expire)
	} else {
		putF64(e, eExpireTime, 0)
	}
	putU32(e, eFlags, flags)
	putU32(e, eSegID, seg)
	putU32(e, eSegSlot, slot)
	putU32(e, eRecOff, uint32(off))
	putU32(e, eRecLen, uint32(len(rec)))
	putF64(e, eStoreTime, a.Now)
	putF64(e, eAccessTime, a.Now)
	putU64(e, eAccessCnt, 0)
	putU64(e, eSize, uint64(a.Size))
	putU64(e, eNum, num)
	if err := t.addU64(offInline, int64(len(rec))); err != nil {
		return err
	}
	if err := t.addU64(offSize, a.Size); err != nil {
		return err
	}
	if err := t.reorder(id); err != nil {
		return err
	}
	switch {
	case a.HasExpire:
		err = t.heapUpdate(expiryHeap, id)
	case hadExpire:
		err = t.heapRemove(expiryHeap, id)
	}
	if err != nil {
		return err
	}
	// Compact twice what was written, so dead space shrinks while writes go on.
	return c.compactStep(t, 2*int64(len(rec))+4096)
}

// reorder puts id in its place in every eviction order after its store
// time, access time or access count changed.
func (t *tx) reorder(id uint32) error {
	if err := t.relink(polList, id); err != nil {
		return err
	}
	if err := t.relink(lruList, id); err != nil {
		return err
	}
	return t.freqPlace(id)
}

// rowidFor returns entry id's rowid, or for a new key (nilID) the next one
// by SQLite's rule: one past the largest.
func (c *Cache) rowidFor(t *tx, id uint32) (uint64, error) {
	if id == nilID {
		return c.nextRowid(t)
	}
	e, err := t.rd(id)
	if err != nil {
		return 0, err
	}
	return getU64(e, eRowid), nil
}

// insertEntry allocates an entry for a new key at the end of insertion
// order, under the rowid rowidFor gave.
func (c *Cache) insertEntry(t *tx, h uint64, key Typed, rowid uint64) (uint32, error) {
	if err := t.ensureBuckets(); err != nil {
		return 0, err
	}
	id, e, err := t.allocEntry()
	if err != nil {
		return 0, err
	}
	putU64(e, eHash, h)
	putU64(e, eRowid, rowid)
	putU64(e, eSortKey, sortKey(key))
	if err := t.link(insList, id, t.x.u32(offInsTail)); err != nil {
		return 0, err
	}
	if err := t.bucketInsert(h, id); err != nil {
		return 0, err
	}
	if err := c.treeInsert(t, id, key); err != nil {
		return 0, err
	}
	return id, t.addU64(offCount, 1)
}

// nextRowid is the rowid the next new entry gets: one past the largest
// (SQLite's rule), 1 when the cache is empty.
func (c *Cache) nextRowid(t *tx) (uint64, error) {
	tail := t.x.u32(offInsTail)
	if tail == nilID {
		return 1, nil
	}
	e, err := t.rd(tail)
	if err != nil {
		return 0, err
	}
	return getU64(e, eRowid) + 1, nil
}

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

// Touch changes the expiry of a live key (HasExpire false: never expires).
func (c *Cache) Touch(call Call, key Typed, expire float64, hasExpire bool, now float64) error {
	if !key.valid() {
		return ErrInvalid
	}
	return c.update(call, func(t *tx) error {
		id, err := c.findLive(t, key, now)
		if err != nil {
			return err
		}
		e, err := t.ent(id)
		if err != nil {
			return err
		}
		fl := getU32(e, eFlags)
		if hasExpire {
			putU32(e, eFlags, fl|flagExpire)
			putF64(e, eExpireTime, expire)
			err = t.heapUpdate(expiryHeap, id)
		} else {
			putU32(e, eFlags, fl&^flagExpire)
			putF64(e, eExpireTime, 0)
			err = t.heapRemove(expiryHeap, id)
		}
		if err != nil {
			return err
		}
		return c.rewriteRecord(t, id, nil)
	})
}

// Incr adds delta (an Int or Float) to the inline numeric value of key and
// returns the result. A missing key (or one that expired before now) is
// stored as def+delta when hasDefault, with no expiry and no tag; without a
// default it gives ErrNotFound. A value that is not an inline number gives
// ErrNotNumeric and an integer result beyond int64 gives ErrOverflow.
func (c *Cache) Incr(call Call, key, delta, def Typed, hasDefault bool, now float64) (Typed, error) {
	if !key.valid() || !numeric(delta) || (hasDefault && !numeric(def)) {
		return Typed{}, ErrInvalid
	}
	var out Typed
	err := c.update(call, func(t *tx) error {
		id, _, err := c.lookup(key, hashTyped(key))
		if err != nil {
			return err
		}
		if id != nilID {
			e, err := t.rd(id)
			if err != nil {
				return err
			}
			if getU32(e, eFlags)&flagExpire == 0 || !(getF64(e, eExpireTime) < now) {
				out, err = c.incrLive(t, id, delta, now)
				return err
			}
		}
		if !hasDefault {
			return ErrNotFound
		}
		if out, err = add(def, delta); err != nil {
			return err
		}
		a := SetArgs{Key: key, Value: storedNumber(out), Mode: ModeRaw, Now: now}
		if err := c.store(t, &a, false); err != nil {
			return err
		}
		return c.autoCull(t, now)
	})
	return out, err
}

func (c *Cache) incrLive(t *tx, id uint32, delta Typed, now float64) (Typed, error) {
	e, err := t.rd(id)
	if err != nil {
		return Typed{}, err
	}
	fl := getU32(e, eFlags)
	kind := Kind(fl >> shiftVal & kindMask)
	if Mode(fl>>shiftMode&kindMask) != ModeRaw || (kind != KindInt && kind != KindFloat) {
		return Typed{}, ErrNotNumeric
	}
	var cur Typed
	if kind == KindInt {
		cur = Int(int64(getU64(e, eNum)))
	} else {
		cur = Float(math.Float64frombits(getU64(e, eNum)))
	}
	out, err := add(cur, delta)
	if err != nil {
		return Typed{}, err
	}
	w, err := t.ent(id)
	if err != nil {
		return Typed{}, err
	}
	s := storedNumber(out)
	var num uint64
	if s.Kind != KindNull {
		num = le.Uint64(s.Bytes)
	}
	putU32(w, eFlags, fl&^(kindMask<<shiftVal)|uint32(s.Kind)<<shiftVal)
	putU64(w, eNum, num)
	putF64(w, eStoreTime, now)
	c.accessed(w, now)
	// The record holds what the entry holds: no bytes for a Null.
	if err := c.rewriteRecord(t, id, append([]byte{}, s.Bytes...)); err != nil {
		return Typed{}, err
	}
	return out, t.reorder(id)
}

// storedNumber is what an entry keeps of an incr result: NaN becomes Null,
// as SQLite stores NaN as NULL (python-diskcache's incr returns NaN and
// the key then holds None). A numeric value's record holds no value bytes,
// so the entry's kind alone makes it Null.
func storedNumber(v Typed) Typed {
	if v.Kind == KindFloat && math.IsNaN(v.f64()) {
		return Null
	}
	return v
}

func numeric(t Typed) bool { return (t.Kind == KindInt || t.Kind == KindFloat) && len(t.Bytes) == 8 }

// add is Python's + on int and float operands.
func add(a, b Typed) (Typed, error) {
	if a.Kind == KindInt && b.Kind == KindInt {
		x, y := a.i64(), b.i64()
		s := x + y
		if (x >= 0) == (y >= 0) && (s >= 0) != (x >= 0) {
			return Typed{}, ErrOverflow
		}
		return Int(s), nil
	}
	return Float(toF(a) + toF(b)), nil
}

func toF(t Typed) float64 {
	if t.Kind == KindInt {
		return float64(t.i64())
	}
	return t.f64()
}

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
