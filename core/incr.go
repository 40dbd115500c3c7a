// Changing an entry in place: Touch moves its expiry, Incr its number; both
// write a whole new record so the segments stay the truth.

package core

import "math"

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
