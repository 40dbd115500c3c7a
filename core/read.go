package core

import (
	"errors"
	"sync/atomic"
	"time"
)

// ErrShortBuffer means the caller's buffer can not hold the item; Item.Need
// says how many bytes it takes.
var ErrShortBuffer = errors.New("diskcache: buffer too small")

// ErrWouldBlock means a Get with NoWait would have had to wait: for the
// lock (network mode) or for a writer in the middle of a commit.
var ErrWouldBlock = errors.New("diskcache: read would wait")

// Item is what a read returns. Value.Bytes, Tag.Bytes and File alias the
// caller's buffer, laid out as value, tag, file name.
type Item struct {
	Key         Typed // only filled by iteration and peeks
	Value       Typed
	Mode        Mode
	File        []byte
	Size        int64
	Tag         Typed
	HasTag      bool
	ExpireTime  float64
	HasExpire   bool
	StoreTime   float64
	AccessTime  float64
	AccessCount uint64
	Rowid       uint64
	Need        int
}

// GetFlags modify Get.
type GetFlags uint32

const (
	// CountStats counts the lookup as a hit or a miss.
	CountStats GetFlags = 1 << iota
	// NoWait makes Get return ErrWouldBlock rather than wait for anything.
	// A caller holding a lock of its own while it reads (Python's GIL) asks
	// first without waiting and releases its lock only to ask again.
	NoWait
	// ClockNow ignores now and reads the wall clock (Unix seconds) only if
	// the entry found has an expire time: most entries have none, and the
	// caller's clock read was about 4% of a get from Python (perf).
	ClockNow
)

// wallNow is the current time as Unix seconds, as Python's time.time().
func wallNow() float64 {
	return float64(time.Now().UnixNano()) / 1e9
}

// live reports whether an entry is unexpired at now (expire_time > now).
func live(e []byte, now float64) bool {
	return getU32(e, eFlags)&flagExpire == 0 || getF64(e, eExpireTime) > now
}

// Get copies key's value into buf. It takes no lock: a write in progress
// makes it retry. A missing or expired key gives ErrNotFound.
func (c *Cache) Get(key Typed, now float64, flags GetFlags, buf []byte) (Item, error) {
	if !key.valid() {
		return Item{}, ErrInvalid
	}
	h := hashTyped(key)
	var it Item
	err := c.readWait(flags&NoWait == 0, func() error {
		found := false
		err := c.probe(key, h, func(e []byte, r record) error {
			found = true
			var ent [entrySize]byte
			copy(ent[:], e)
			if !entryOK(ent[:]) {
				return errRetry
			}
			if flags&ClockNow != 0 && getU32(ent[:], eFlags)&flagExpire != 0 {
				now = wallNow()
			}
			if !live(ent[:], now) {
				return ErrNotFound
			}
			var err error
			it, err = fillFrom(ent[:], r, buf, false)
			return err
		})
		if err == nil && !found {
			return ErrNotFound
		}
		return err
	})
	c.count(flags, err)
	return it, err
}

// count records a lookup's outcome in the statistics when asked to.
func (c *Cache) count(flags GetFlags, err error) {
	if flags&CountStats == 0 || c.readOnly || (err != nil && !errors.Is(err, ErrNotFound)) {
		return
	}
	off := int64(offHits)
	if err != nil {
		off = offMisses
	}
	if c.enter() == nil {
		if c.idx.ctr == nil {
			// A lost count is all a failure here costs, as in local mode
			// where the counters are not journaled.
			c.netCounter(off, 1, false)
		} else {
			// (A fault, on a truncated index, loses the count too.)
			guard(func() error {
				atomic.AddUint64(c.idx.counter(off), 1)
				return nil
			})
		}
		c.exit()
	}
}

// fill describes entry e in an Item, copying the variable parts into buf.
func (c *Cache) fill(e, buf []byte, withKey bool) (Item, error) {
	var it Item
	err := c.segs.withRecord(e, func(r record) error {
		var err error
		it, err = fillFrom(e, r, buf, withKey)
		return err
	})
	return it, err
}

// fillFrom describes entry e, whose record is r, in an Item.
func fillFrom(e []byte, r record, buf []byte, withKey bool) (Item, error) {
	fl := getU32(e, eFlags)
	it := Item{
		Value:       Typed{Kind: Kind(fl >> shiftVal & kindMask)},
		Mode:        Mode(fl >> shiftMode & kindMask),
		Size:        int64(getU64(e, eSize)),
		HasTag:      fl&flagTag != 0,
		Tag:         Typed{Kind: Kind(fl >> shiftTag & kindMask)},
		HasExpire:   fl&flagExpire != 0,
		ExpireTime:  getF64(e, eExpireTime),
		StoreTime:   getF64(e, eStoreTime),
		AccessTime:  getF64(e, eAccessTime),
		AccessCount: getU64(e, eAccessCnt),
		Rowid:       getU64(e, eRowid),
	}
	err := func() error {
		var val []byte
		vlen := 8
		if it.Value.Kind == KindInt || it.Value.Kind == KindFloat {
			var n [8]byte
			putU64(n[:], 0, getU64(e, eNum))
			val = n[:]
		} else {
			var err error
			if vlen, err = r.plainLen(); err != nil {
				return err
			}
		}
		key := r.key()
		need := vlen + len(r.tag()) + len(r.file())
		if withKey {
			need += len(key)
		}
		if need > len(buf) {
			it.Need = need
			return ErrShortBuffer
		}
		p := copy(buf, val)
		if val == nil {
			v, err := r.plainValue(buf[:vlen])
			if err != nil {
				return err
			}
			p = len(v)
		}
		it.Value.Bytes = buf[:p:p]
		q := p + copy(buf[p:], r.tag())
		it.Tag.Bytes = buf[p:q:q]
		p = q + copy(buf[q:], r.file())
		it.File = buf[q:p:p]
		if withKey {
			q = p + copy(buf[p:], key)
			it.Key = Typed{Kind: r.keyKind(), Bytes: buf[p:q:q]}
		}
		return nil
	}()
	return it, err
}

// Contains reports whether key is present and unexpired at now.
func (c *Cache) Contains(key Typed, now float64) (bool, error) {
	if !key.valid() {
		return false, ErrInvalid
	}
	h := hashTyped(key)
	var found bool
	err := c.read(func() error {
		found = false
		id, _, err := c.lookup(key, h)
		if err != nil || id == nilID {
			return err
		}
		e := c.idx.entry(id)
		if e == nil {
			return errRetry
		}
		found = live(e, now)
		return nil
	})
	return found, err
}

// Len returns the number of entries, expired ones included.
func (c *Cache) Len() (int64, error) {
	var n int64
	err := c.read(func() error {
		n = int64(c.idx.u64(offCount))
		return nil
	})
	return n, err
}

// volumeOverhead is what Volume adds for the index itself: a constant, so
// that small caches stay near their data size as python-diskcache's do.
const volumeOverhead = 4096

// Volume estimates the bytes the cache holds on disk: live records plus
// value files plus a constant, the measure the size limit applies to.
func (c *Cache) Volume() (int64, error) {
	var n int64
	err := c.read(func() error {
		n = c.volume()
		return nil
	})
	return n, err
}

func (c *Cache) volume() int64 {
	return volumeOverhead + int64(c.idx.u64(offInline)) + int64(c.idx.u64(offSize))
}

// Stats returns the hit and miss counters.
func (c *Cache) Stats() (hits, misses int64, err error) {
	if err := c.enter(); err != nil {
		return 0, 0, err
	}
	defer c.exit()
	if c.idx.ctr == nil {
		h, err := c.netCounter(offHits, 0, false)
		if err != nil {
			return 0, 0, err
		}
		m, err := c.netCounter(offMisses, 0, false)
		return int64(h), int64(m), err
	}
	err = guard(func() error {
		hits, misses = int64(atomic.LoadUint64(c.idx.counter(offHits))), int64(atomic.LoadUint64(c.idx.counter(offMisses)))
		return nil
	})
	return hits, misses, err
}

// HitWasMiss moves one hit to the misses: the caller of a Get counted as a
// hit found the value's file gone, which python-diskcache counts as a miss
// (its get returns the default). A hit count already zeroed by ResetStats
// is left at zero.
func (c *Cache) HitWasMiss() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if c.readOnly {
		return nil // count() counts nothing read-only either
	}
	if c.idx.ctr == nil {
		// As in count, a lost count is all a failure here costs.
		if hits, err := c.netCounter(offHits, 0, false); err == nil && hits > 0 {
			c.netCounter(offHits, ^uint64(0), false)
		}
		c.netCounter(offMisses, 1, false)
		return nil
	}
	hits := c.idx.counter(offHits)
	for {
		n := atomic.LoadUint64(hits)
		if n == 0 || atomic.CompareAndSwapUint64(hits, n, n-1) {
			break
		}
	}
	atomic.AddUint64(c.idx.counter(offMisses), 1)
	return nil
}

// ResetStats zeroes the hit and miss counters.
func (c *Cache) ResetStats() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if c.readOnly {
		return errReadOnly
	}
	if c.idx.ctr == nil {
		if _, err := c.netCounter(offHits, 0, true); err != nil {
			return err
		}
		_, err := c.netCounter(offMisses, 0, true)
		return err
	}
	return guard(func() error {
		atomic.StoreUint64(c.idx.counter(offHits), 0)
		atomic.StoreUint64(c.idx.counter(offMisses), 0)
		return nil
	})
}

// Counts are the cache's O(1) counters, read together.
type Counts struct {
	Len      int64  // entries, expired ones included
	Volume   int64  // see Volume
	Size     int64  // bytes of value files
	MaxRowid uint64 // largest rowid, 0 when empty
}

// Counts reads the counters in one consistent view.
func (c *Cache) Counts() (Counts, error) {
	var n Counts
	err := c.read(func() error {
		x := c.idx
		n = Counts{Len: int64(x.u64(offCount)), Volume: c.volume(), Size: int64(x.u64(offSize))}
		if tail := x.u32(offInsTail); tail != nilID {
			e := x.entry(tail)
			if e == nil {
				return errRetry
			}
			n.MaxRowid = getU64(e, eRowid)
		}
		return nil
	})
	return n, err
}
