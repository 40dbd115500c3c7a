package core

import (
	"bytes"
	"math"
	"math/bits"
)

// Keys are also kept in SQLite's sort order of python-diskcache's
// (key, raw) columns, for iterkeys and the queues (push, pull, peek): NULL
// first, then numbers by value (integers and floats interleaved), then text
// by bytes, then blobs by bytes, a pickled key before a raw bytes key with
// the same bytes. The order is a treap threaded through the entries (left,
// right, parent ids), with priorities derived from the entry id, so it
// stays balanced in expectation without storing a priority. Each entry
// also stores an 8-byte order-preserving prefix of its key, which decides
// most comparisons without reading records.

// sortClass is SQLite's type order.
func sortClass(k Kind) uint64 {
	switch k {
	case KindNull:
		return 0
	case KindInt, KindFloat:
		return 1
	case KindText:
		return 2
	}
	return 3
}

// sortKey returns the 8-byte prefix: the class in the top two bits, then
// the number's order-preserving float bits, or the first seven bytes.
// sortKey(a) < sortKey(b) implies a sorts before b.
func sortKey(t Typed) uint64 {
	class := sortClass(t.Kind) << 62
	switch t.Kind {
	case KindInt:
		return class | floatOrder(float64(t.i64()))>>2
	case KindFloat:
		return class | floatOrder(t.f64())>>2
	case KindText, KindBlob, KindPickle:
		var b [8]byte
		copy(b[1:], t.Bytes)
		return class | le.Uint64(reverse8(b))>>2
	}
	return class
}

func reverse8(b [8]byte) []byte {
	return []byte{b[7], b[6], b[5], b[4], b[3], b[2], b[1], b[0]}
}

// floatOrder maps a float to an unsigned integer with the same order.
func floatOrder(f float64) uint64 {
	u := math.Float64bits(f)
	if u>>63 == 1 {
		return ^u
	}
	return u | 1<<63
}

// compareKeys is SQLite's comparison of two keys (kind, bytes) in the
// (key, raw) order. NULL keys compare equal; callers break ties by rowid.
func compareKeys(a, b Typed) int {
	ca, cb := sortClass(a.Kind), sortClass(b.Kind)
	if ca != cb {
		if ca < cb {
			return -1
		}
		return 1
	}
	switch ca {
	case 0:
		return 0
	case 1:
		return compareNumbers(a, b)
	case 2:
		return bytes.Compare(a.Bytes, b.Bytes)
	}
	if c := bytes.Compare(a.Bytes, b.Bytes); c != 0 {
		return c
	}
	// raw=0 (pickled) sorts before raw=1.
	ra, rb := a.Kind == KindBlob, b.Kind == KindBlob
	switch {
	case ra == rb:
		return 0
	case rb:
		return -1
	}
	return 1
}

// compareNumbers compares integers and floats exactly, as SQLite does.
func compareNumbers(a, b Typed) int {
	switch {
	case a.Kind == KindInt && b.Kind == KindInt:
		return cmp3(a.i64() < b.i64(), a.i64() > b.i64())
	case a.Kind == KindFloat && b.Kind == KindFloat:
		return cmp3(a.f64() < b.f64(), a.f64() > b.f64())
	case a.Kind == KindInt:
		return compareIntFloat(a.i64(), b.f64())
	}
	return -compareIntFloat(b.i64(), a.f64())
}

func compareIntFloat(i int64, r float64) int {
	switch {
	case r < -9.223372036854775808e18:
		return 1
	case r >= 9.223372036854775808e18:
		return -1
	}
	y := int64(r) // truncates toward zero
	if i != y {
		return cmp3(i < y, i > y)
	}
	frac := r - float64(y)
	return cmp3(frac > 0, frac < 0)
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// priority is the treap priority of an entry: a fixed mix of its id.
func priority(id uint32) uint32 { return bits.RotateLeft32(id*0x9E3779B1, 13) ^ id*0x85EBCA6B }

// keyOf reads the key of entry e (writer side, or a reader that validates
// with the seqlock).
func (c *Cache) keyOf(e []byte) (Typed, error) {
	var k Typed
	err := c.segs.withRecord(e, func(r record) error {
		k = Typed{Kind: r.keyKind(), Bytes: append([]byte(nil), r.key()...)}
		return nil
	})
	return k, err
}

// compareTo compares key (with its sort prefix sk) to entry e's key.
func (c *Cache) compareTo(key Typed, sk uint64, e []byte) (int, error) {
	if es := getU64(e, eSortKey); sk != es {
		return cmp3(sk < es, sk > es), nil
	}
	var res int
	err := c.segs.withRecord(e, func(r record) error {
		res = compareKeys(key, Typed{Kind: r.keyKind(), Bytes: r.key()})
		return nil
	})
	return res, err
}

// treeInsert links entry id (whose record, rowid and sortKey are set) into
// the key order.
func (c *Cache) treeInsert(t *tx, id uint32, key Typed) error {
	x := t.x
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	putU32(e, eOrdLeft, nilID)
	putU32(e, eOrdRight, nilID)
	sk, row := getU64(e, eSortKey), getU64(e, eRowid)
	parent, link := uint32(nilID), int64(-1)
	for n := x.u32(offTreeRoot); n != nilID; {
		ne, err := t.rd(n)
		if err != nil {
			return err
		}
		cmp, err := c.compareTo(key, sk, ne)
		if err != nil {
			return err
		}
		if cmp == 0 {
			cmp = cmp3(row < getU64(ne, eRowid), true)
		}
		parent = n
		if cmp < 0 {
			link, n = eOrdLeft, getU32(ne, eOrdLeft)
		} else {
			link, n = eOrdRight, getU32(ne, eOrdRight)
		}
	}
	putU32(e, eOrdParent, parent)
	if parent == nilID {
		if err := t.setU32(offTreeRoot, id); err != nil {
			return err
		}
	} else {
		p, err := t.ent(parent)
		if err != nil {
			return err
		}
		putU32(p, link, id)
	}
	// Rotate up while the heap order on priorities is violated.
	for {
		e, err := t.rd(id)
		if err != nil {
			return err
		}
		p := getU32(e, eOrdParent)
		if p == nilID || priority(p) >= priority(id) {
			return nil
		}
		if err := t.rotateUp(id); err != nil {
			return err
		}
	}
}

// treeRemove unlinks entry id from the key order: rotate it down below its
// higher-priority child until it is a leaf, then cut it off.
func (c *Cache) treeRemove(t *tx, id uint32) error {
	for {
		e, err := t.rd(id)
		if err != nil {
			return err
		}
		l, r := getU32(e, eOrdLeft), getU32(e, eOrdRight)
		if l == nilID && r == nilID {
			break
		}
		child := l
		if l == nilID || (r != nilID && priority(r) > priority(l)) {
			child = r
		}
		if err := t.rotateUp(child); err != nil {
			return err
		}
	}
	e, err := t.ent(id)
	if err != nil {
		return err
	}
	p := getU32(e, eOrdParent)
	putU32(e, eOrdParent, nilID)
	if p == nilID {
		if t.x.u32(offTreeRoot) == id {
			return t.setU32(offTreeRoot, nilID)
		}
		return nil
	}
	pe, err := t.ent(p)
	if err != nil {
		return err
	}
	if getU32(pe, eOrdLeft) == id {
		putU32(pe, eOrdLeft, nilID)
	} else {
		putU32(pe, eOrdRight, nilID)
	}
	return nil
}

// rotateUp rotates node n above its parent.
func (t *tx) rotateUp(n uint32) error {
	ne, err := t.ent(n)
	if err != nil {
		return err
	}
	p := getU32(ne, eOrdParent)
	pe, err := t.ent(p)
	if err != nil {
		return err
	}
	g := getU32(pe, eOrdParent)
	if getU32(pe, eOrdLeft) == n {
		// n's right subtree becomes p's left.
		b := getU32(ne, eOrdRight)
		putU32(pe, eOrdLeft, b)
		if err := t.setParent(b, p); err != nil {
			return err
		}
		putU32(ne, eOrdRight, p)
	} else {
		b := getU32(ne, eOrdLeft)
		putU32(pe, eOrdRight, b)
		if err := t.setParent(b, p); err != nil {
			return err
		}
		putU32(ne, eOrdLeft, p)
	}
	putU32(pe, eOrdParent, n)
	putU32(ne, eOrdParent, g)
	if g == nilID {
		return t.setU32(offTreeRoot, n)
	}
	ge, err := t.ent(g)
	if err != nil {
		return err
	}
	if getU32(ge, eOrdLeft) == p {
		putU32(ge, eOrdLeft, n)
	} else {
		putU32(ge, eOrdRight, n)
	}
	return nil
}

func (t *tx) setParent(n, p uint32) error {
	if n == nilID {
		return nil
	}
	e, err := t.ent(n)
	if err != nil {
		return err
	}
	putU32(e, eOrdParent, p)
	return nil
}

// seek returns the first entry in key order after key (or at key when
// inclusive); with reverse, the last entry before (or at) key. A Null key
// with reverse=false means "from the start", and with reverse=true "from
// the end" (no bound). It works for readers (under the seqlock) and writers.
func (c *Cache) seek(key Typed, bounded, inclusive, reverse bool) (uint32, error) {
	x := c.idx
	var sk uint64
	if bounded {
		sk = sortKey(key)
	}
	best := uint32(nilID)
	limit := uint64(x.u32(offEntryHigh)) + 1
	for n, steps := x.u32(offTreeRoot), uint64(0); n != nilID; steps++ {
		if steps > limit {
			return 0, errRetry
		}
		e := x.entry(n)
		if e == nil {
			return 0, errRetry
		}
		// cmp compares key to the node; without a bound every node
		// qualifies (key below all of them, or above when reverse).
		cmp := -1
		if reverse {
			cmp = 1
		}
		if bounded {
			var err error
			if cmp, err = c.compareTo(key, sk, e); err != nil {
				return 0, err
			}
		}
		var ok bool
		if reverse {
			ok = cmp > 0 || (inclusive && cmp == 0)
		} else {
			ok = cmp < 0 || (inclusive && cmp == 0)
		}
		if ok {
			best = n
			if reverse {
				n = getU32(e, eOrdRight)
			} else {
				n = getU32(e, eOrdLeft)
			}
		} else if reverse {
			n = getU32(e, eOrdLeft)
		} else {
			n = getU32(e, eOrdRight)
		}
	}
	return best, nil
}
