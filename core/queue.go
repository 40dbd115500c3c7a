package core

import (
	"fmt"
	"strconv"
	"strings"
)

// Queue keys, as python-diskcache generates them: with no prefix, integers
// strictly between 0 and 999999999999999 (the first is 500000000000000);
// with a prefix, text keys "prefix-%015d" strictly between "prefix-" plus
// fifteen 0s and fifteen 9s.
const (
	queueMax   = 999999999999999
	queueStart = 500000000000000
)

// Side is the end of a queue or of insertion order.
type Side uint8

// Sides.
const (
	Back Side = iota
	Front
)

// queueRange returns the exclusive bounds of a queue.
func queueRange(prefix string, hasPrefix bool) (lo, hi Typed) {
	if !hasPrefix {
		return Int(0), Int(queueMax)
	}
	return Text(prefix + "-000000000000000"), Text(prefix + "-999999999999999")
}

// next steps to the in-order successor (or predecessor) of entry n.
func (c *Cache) next(n uint32, reverse bool) (uint32, error) {
	x := c.idx
	down, up := int64(eOrdRight), int64(eOrdLeft)
	if reverse {
		down, up = eOrdLeft, eOrdRight
	}
	limit := uint64(x.u32(offEntryHigh)) + 1
	e := x.entry(n)
	if e == nil {
		return 0, errRetry
	}
	if d := getU32(e, down); d != nilID {
		n = d
		for steps := uint64(0); ; steps++ {
			e = x.entry(n)
			if e == nil || steps > limit {
				return 0, errRetry
			}
			u := getU32(e, up)
			if u == nilID {
				return n, nil
			}
			n = u
		}
	}
	for steps := uint64(0); ; steps++ {
		p := getU32(e, eOrdParent)
		if p == nilID {
			return nilID, nil
		}
		pe := x.entry(p)
		if pe == nil || steps > limit {
			return 0, errRetry
		}
		if getU32(pe, up) == n {
			return p, nil
		}
		n, e = p, pe
	}
}

// KeysSorted returns up to max keys in python-diskcache's iterkeys order
// (SQLite's order of (key, raw)) after the key after (from the start when
// hasAfter is false), or before it when reverse. The keys are copied into
// buf. Fewer than max items means the end was reached.
func (c *Cache) KeysSorted(after Typed, hasAfter, reverse bool, max int, buf []byte) ([]Item, error) {
	if hasAfter && !after.valid() {
		return nil, ErrInvalid
	}
	var items []Item
	err := c.read(func() error {
		items = items[:0]
		n, err := c.seek(after, hasAfter, false, reverse)
		if err != nil {
			return err
		}
		p := 0
		for n != nilID && len(items) < max {
			e := c.idx.entry(n)
			if e == nil {
				return errRetry
			}
			var it Item
			if err := c.segs.withRecord(e, func(r record) error {
				k := r.key()
				if p+len(k) > len(buf) {
					return ErrShortBuffer
				}
				q := p + copy(buf[p:], k)
				it = Item{Key: Typed{Kind: r.keyKind(), Bytes: buf[p:q:q]}, Rowid: getU64(e, eRowid)}
				p = q
				return nil
			}); err != nil {
				if err == ErrShortBuffer && len(items) > 0 {
					return nil
				}
				return err
			}
			items = append(items, it)
			if n, err = c.next(n, reverse); err != nil {
				return err
			}
		}
		return nil
	})
	return items, err
}

// queueEnd returns the first (Front) or last (Back) entry of a queue.
func (c *Cache) queueEnd(prefix string, hasPrefix bool, side Side) (uint32, error) {
	lo, hi := queueRange(prefix, hasPrefix)
	if side == Front {
		id, err := c.seek(lo, true, false, false)
		if err != nil || id == nilID {
			return id, err
		}
		return c.within(id, hi, -1)
	}
	id, err := c.seek(hi, true, false, true)
	if err != nil || id == nilID {
		return id, err
	}
	return c.within(id, lo, 1)
}

// within returns id if its key compares to bound as want (-1: below it,
// 1: above it), else nilID. Only raw keys count, as upstream's raw = 1.
func (c *Cache) within(id uint32, bound Typed, want int) (uint32, error) {
	e, err := c.mustEntry(id)
	if err != nil {
		return 0, err
	}
	var ok bool
	err = c.segs.withRecord(e, func(r record) error {
		k := Typed{Kind: r.keyKind(), Bytes: r.key()}
		ok = k.Kind != KindPickle && compareKeys(k, bound) == want
		return nil
	})
	if err != nil || !ok {
		return nilID, err
	}
	return id, nil
}

func (c *Cache) mustEntry(id uint32) ([]byte, error) {
	e := c.idx.entry(id)
	if e == nil {
		return nil, errCorruptEntry(id)
	}
	return e, nil
}

// Push stores a value under the next queue key at side (past the last key
// for Back, before the first for Front; 500000000000000 in an empty queue)
// and returns the key. a.Key is ignored.
func (c *Cache) Push(call Call, prefix string, hasPrefix bool, side Side, a *SetArgs) (Typed, error) {
	probe := *a
	probe.Key = Int(0) // the key is made below; check the rest
	if err := probe.check(); err != nil {
		return Typed{}, err
	}
	var key Typed
	err := c.update(call, func(t *tx) error {
		num, isFloat, fnum := int64(queueStart), false, 0.0
		id, err := c.queueEnd(prefix, hasPrefix, side)
		if err != nil {
			return err
		}
		if id != nilID {
			k, err := c.keyOf(c.idx.entry(id))
			if err != nil {
				return err
			}
			switch {
			case hasPrefix:
				s := string(k.Bytes)
				if num, err = strconv.ParseInt(s[strings.LastIndexByte(s, '-')+1:], 10, 64); err != nil {
					return fmt.Errorf("%w: invalid literal for int() with base 10: %q", ErrInvalid, s[strings.LastIndexByte(s, '-')+1:])
				}
			case k.Kind == KindFloat:
				isFloat, fnum = true, k.f64()
			default:
				num = k.i64()
			}
			step := int64(1)
			if side == Front {
				step = -1
			}
			num += step
			fnum += float64(step)
		}
		switch {
		case hasPrefix:
			key = Text(fmt.Sprintf("%s-%015d", prefix, num))
		case isFloat:
			key = Float(fnum)
		default:
			key = Int(num)
		}
		b := *a
		b.Key = key
		if err := c.store(t, &b, false); err != nil {
			return err
		}
		return c.autoCull(t, a.Now)
	})
	return key, err
}

// Pull returns the item at side of a queue, deleting it when remove is set
// (pull) and keeping it otherwise (peek). Expired items met at that end are
// deleted either way. The item's value file is not deleted: the caller reads
// it first, as python-diskcache does. ErrNotFound means the queue is empty.
func (c *Cache) Pull(call Call, prefix string, hasPrefix bool, side Side, now float64, remove bool, buf []byte) (Item, error) {
	return c.takeEnd(call, now, remove, buf, func() (uint32, error) {
		return c.queueEnd(prefix, hasPrefix, side)
	})
}

// PeekItem returns the first (last=false) or last item in insertion order,
// deleting expired items met at that end. ErrNotFound means the cache is
// empty.
func (c *Cache) PeekItem(call Call, last bool, now float64, buf []byte) (Item, error) {
	return c.takeEnd(call, now, false, buf, func() (uint32, error) {
		if last {
			return c.idx.u32(offInsTail), nil
		}
		return c.idx.u32(offInsHead), nil
	})
}

func (c *Cache) takeEnd(call Call, now float64, remove bool, buf []byte, end func() (uint32, error)) (Item, error) {
	var it Item
	err := c.update(call, func(t *tx) error {
		for {
			id, err := end()
			if err != nil {
				return err
			}
			if id == nilID {
				return ErrNotFound
			}
			e, err := t.rd(id)
			if err != nil {
				return err
			}
			if getU32(e, eFlags)&flagExpire != 0 && getF64(e, eExpireTime) < now {
				if err := c.removeEntry(t, id, false); err != nil {
					return err
				}
				continue
			}
			if it, err = c.fill(e, buf, true); err != nil {
				return err
			}
			if remove {
				return c.removeEntry(t, id, true)
			}
			return nil
		}
	})
	return it, err
}
