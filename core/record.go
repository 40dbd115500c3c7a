package core

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// A record is one change to the cache, complete in itself: the segments are
// the truth and the index a cache of them, so that the index can be made
// again from the records alone (rebuild.go). A put record holds the whole
// state of an entry as of the change (key, tag, value file name, inline
// value, number, times); a delete record (a tombstone) holds the key. Every
// record carries a sequence number from one counter per cache, so of the
// records of one key the one with the highest number says what is true.
// Records are immutable and appended to segments; every change to an entry
// (set, incr, touch) writes a new put record.
//
//	0   sum u64      xxhash64 of bytes 8..total
//	8   total u32    record length, a multiple of 8
//	12  keyKind u8 | valKind u8 | mode u8 | tagKind u8
//	16  keyLen u32 | valLen u32 | tagLen u32 | fileLen u32
//	32  seq u64      the change's sequence number
//	40  rowid u64    the entry's place in insertion order
//	48  storeTime f64
//	56  expireTime f64 (with recExpire)
//	64  size u64     bytes of the value file
//	72  op u8 | flags u8 | 6 zero bytes
//	80  key | tag | file name | value | zero padding
//
// The value of an Int or Float is its 8 bytes (the entry holds it too, so
// that incr rewrites the entry without reading the record).
const recHdr = 80

// Record ops and flags.
const (
	opPut    = 1
	opDelete = 2

	recExpire = 1 << 0
	recTag    = 1 << 1
)

// recMeta is the part of a record that orders and places it.
type recMeta struct {
	seq, rowid uint64
	store      float64
	expire     float64
	size       uint64
	op, flags  byte
}

type record []byte

func recordLen(key, tag, file, val int) int64 {
	return (int64(recHdr+key+tag+file+val) + 7) &^ 7
}

// encodeRecord fills buf (of recordLen bytes) and returns it.
func encodeRecord(buf []byte, key, tag Typed, file string, val Typed, mode Mode, m *recMeta) record {
	n := len(buf)
	clear(buf[:recHdr])
	putU64(buf, 32, m.seq)
	putU64(buf, 40, m.rowid)
	putF64(buf, 48, m.store)
	putF64(buf, 56, m.expire)
	putU64(buf, 64, m.size)
	buf[72], buf[73] = m.op, m.flags
	putU32(buf, 8, uint32(n))
	buf[12], buf[13], buf[14], buf[15] = byte(key.Kind), byte(val.Kind), byte(mode), byte(tag.Kind)
	putU32(buf, 16, uint32(len(key.Bytes)))
	putU32(buf, 20, uint32(len(val.Bytes)))
	putU32(buf, 24, uint32(len(tag.Bytes)))
	putU32(buf, 28, uint32(len(file)))
	p := recHdr
	p += copy(buf[p:], key.Bytes)
	p += copy(buf[p:], tag.Bytes)
	p += copy(buf[p:], file)
	p += copy(buf[p:], val.Bytes)
	clear(buf[p:])
	putU64(buf, 0, xxhash.Sum64(buf[8:]))
	return buf
}

// check validates a record read from a segment against its checksum and
// the length the entry expects.
func (r record) check(want int) error {
	if len(r) < recHdr || int(getU32(r, 8)) != want || want != len(r) {
		return fmt.Errorf("%w: record length", ErrCorrupted)
	}
	kl, vl, tl, fl := r.lens()
	if recHdr+kl+vl+tl+fl > len(r) {
		return fmt.Errorf("%w: record fields", ErrCorrupted)
	}
	if getU64(r, 0) != xxhash.Sum64(r[8:]) {
		return fmt.Errorf("%w: record checksum", ErrCorrupted)
	}
	return nil
}

func (r record) lens() (k, v, t, f int) {
	return int(getU32(r, 16)), int(getU32(r, 20)), int(getU32(r, 24)), int(getU32(r, 28))
}

func (r record) key() []byte {
	k, _, _, _ := r.lens()
	return r[recHdr : recHdr+k]
}

func (r record) tag() []byte {
	k, _, t, _ := r.lens()
	return r[recHdr+k : recHdr+k+t]
}

func (r record) file() []byte {
	k, _, t, f := r.lens()
	return r[recHdr+k+t : recHdr+k+t+f]
}

func (r record) value() []byte {
	k, v, t, f := r.lens()
	p := recHdr + k + t + f
	return r[p : p+v]
}

func (r record) keyKind() Kind { return Kind(r[12]) }
func (r record) valKind() Kind { return Kind(r[13]) }
func (r record) mode() Mode    { return Mode(r[14] &^ recCompressed) }

// meta returns the record's ordering and placing fields.
func (r record) meta() recMeta {
	return recMeta{seq: getU64(r, 32), rowid: getU64(r, 40), store: getF64(r, 48), expire: getF64(r, 56),
		size: getU64(r, 64), op: r[72], flags: r[73]}
}
func (r record) tagKind() Kind { return Kind(r[15]) }
