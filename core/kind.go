package core

import (
	"bytes"
	"math"

	"github.com/cespare/xxhash/v2"
)

// Kind is the storage type of a key, value or tag, mirroring the SQLite
// column types python-diskcache relies on.
type Kind uint8

// Kinds. Int and Float are compared numerically with each other, so the keys
// 1 and 1.0 are the same key; Blob is a raw bytes key and Pickle a pickled
// one (python-diskcache's raw=0), which never equal each other.
const (
	KindNull   Kind = 0
	KindInt    Kind = 1
	KindFloat  Kind = 2
	KindText   Kind = 3
	KindBlob   Kind = 4
	KindPickle Kind = 5
	kindLimit  Kind = 6
)

// Mode is python-diskcache's value storage mode.
type Mode uint8

// Modes, with python-diskcache's numbering.
const (
	ModeNone   Mode = 0
	ModeRaw    Mode = 1
	ModeBinary Mode = 2
	ModeText   Mode = 3
	ModePickle Mode = 4
)

// Typed is a key, tag or value as the engine stores it: a kind and its
// bytes. Int and Float hold 8 little-endian bytes.
type Typed struct {
	Kind  Kind
	Bytes []byte
}

// Int returns a Typed holding v.
func Int(v int64) Typed {
	var b [8]byte
	le.PutUint64(b[:], uint64(v))
	return Typed{KindInt, b[:]}
}

// Float returns a Typed holding v.
func Float(v float64) Typed {
	var b [8]byte
	le.PutUint64(b[:], math.Float64bits(v))
	return Typed{KindFloat, b[:]}
}

// Text returns a Typed holding the UTF-8 string s.
func Text(s string) Typed { return Typed{KindText, []byte(s)} }

// Blob returns a Typed holding raw bytes.
func Blob(b []byte) Typed { return Typed{KindBlob, b} }

// Null is the typed NULL.
var Null = Typed{Kind: KindNull}

func (t Typed) valid() bool {
	if t.Kind >= kindLimit {
		return false
	}
	switch t.Kind {
	case KindInt, KindFloat:
		return len(t.Bytes) == 8
	case KindNull:
		return len(t.Bytes) == 0
	}
	return true
}

func (t Typed) i64() int64   { return int64(le.Uint64(t.Bytes)) }
func (t Typed) f64() float64 { return math.Float64frombits(le.Uint64(t.Bytes)) }

// asInt reports the integer a numeric value equals exactly, as SQLite's
// comparison of INTEGER with REAL does.
func floatAsInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
		return 0, false
	}
	return int64(f), true
}

// hashTyped hashes a key so that equal keys (numerically equal Int and
// Float among them) hash alike.
func hashTyped(t Typed) uint64 {
	var buf [9]byte
	switch t.Kind {
	case KindInt:
		buf[0] = byte(KindInt)
		copy(buf[1:], t.Bytes)
		return mix(xxhash.Sum64(buf[:]))
	case KindFloat:
		if i, ok := floatAsInt(t.f64()); ok {
			buf[0] = byte(KindInt)
			le.PutUint64(buf[1:], uint64(i))
			return mix(xxhash.Sum64(buf[:]))
		}
		buf[0] = byte(KindFloat)
		copy(buf[1:], t.Bytes)
		return mix(xxhash.Sum64(buf[:]))
	}
	// The kind byte and the key hashed as one string. Most keys fit on
	// the stack and take one Sum64 call instead of a Digest's New, two
	// Writes and Sum64 (40-52 ns against 48-60 ns in a throwaway
	// benchmark, 2026-11-22); longer keys stream the same bytes.
	var small [64]byte
	if len(t.Bytes) < len(small) {
		small[0] = byte(t.Kind)
		n := copy(small[1:], t.Bytes)
		return mix(xxhash.Sum64(small[:1+n]))
	}
	d := xxhash.New()
	buf[0] = byte(t.Kind)
	d.Write(buf[:1])
	d.Write(t.Bytes)
	return mix(d.Sum64())
}

// mix keeps 0 free so a zero hash can mean "no tag".
func mix(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// equalTyped is SQLite's "=" for the column types used: numbers compare by
// value (NaN equals nothing), everything else by kind and bytes.
func equalTyped(a Typed, bk Kind, bb []byte) bool {
	b := Typed{bk, bb}
	an := a.Kind == KindInt || a.Kind == KindFloat
	bn := bk == KindInt || bk == KindFloat
	if an || bn {
		if !an || !bn || len(bb) != 8 || len(a.Bytes) != 8 {
			return false
		}
		switch {
		case a.Kind == KindInt && bk == KindInt:
			return a.i64() == b.i64()
		case a.Kind == KindFloat && bk == KindFloat:
			return a.f64() == b.f64()
		case a.Kind == KindInt:
			i, ok := floatAsInt(b.f64())
			return ok && i == a.i64()
		default:
			i, ok := floatAsInt(a.f64())
			return ok && i == b.i64()
		}
	}
	return a.Kind == bk && bytes.Equal(a.Bytes, bb)
}
