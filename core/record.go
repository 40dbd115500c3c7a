package core

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// A record holds what does not fit in an entry: the key, the tag, the value
// file's name and the inline value. Records are immutable and appended to
// segments; replacing a value writes a new record.
//
//	0   sum u64      xxhash64 of bytes 8..total
//	8   total u32    record length, a multiple of 8
//	12  keyKind u8 | valKind u8 | mode u8 | tagKind u8
//	16  keyLen u32 | valLen u32 | tagLen u32 | fileLen u32
//	32  key | tag | file name | value | zero padding
const recHdr = 32

type record []byte

func recordLen(key, tag, file, val int) int64 {
	return (int64(recHdr+key+tag+file+val) + 7) &^ 7
}

// encodeRecord fills buf (of recordLen bytes) and returns it.
func encodeRecord(buf []byte, key, tag Typed, file string, val Typed, mode Mode) record {
	n := len(buf)
	clear(buf[:recHdr])
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
func (r record) tagKind() Kind { return Kind(r[15]) }
