package core

import (
	"fmt"
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
