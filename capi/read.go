// read.go: the lock-free reads (get, getv, contains) and the counters.

package main

/*
#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"
*/
import "C"

import (
	"errors"
	"math"
	"unsafe"

	"github.com/diskcache-go/diskcache-go/core"
)

func othersWrote(c *core.Cache) int64 {
	if c.SegmentOthersCanWrite() {
		return kindOthersWrote
	}
	return 0
}

// writeItem lays an Item's header into out (its data is already at
// out[outData:], as core copied it there).
func writeItem(c *core.Cache, out []byte, it core.Item) {
	kinds := int64(it.Value.Kind) | int64(it.Mode)<<kindsModeShift | int64(it.Tag.Kind)<<kindsTagShift |
		int64(it.Key.Kind)<<kindsKeyShift | othersWrote(c)
	if it.HasTag {
		kinds |= kindsHasTag
	}
	if it.HasExpire {
		kinds |= kindsHasExpire
	}
	put64(out, outKinds, kinds)
	put64(out, outVLen, int64(len(it.Value.Bytes)))
	put64(out, outTLen, int64(len(it.Tag.Bytes)))
	put64(out, outFLen, int64(len(it.File)))
	put64(out, outExpire, int64(math.Float64bits(it.ExpireTime)))
	put64(out, outAux, it.Size)
	put64(out, outAux2, int64(len(it.Key.Bytes)))
}

//export dcg_get
func dcg_get(h C.uint64_t, kkind C.int, key *C.uchar, klen C.int64_t, now C.double, flags C.int,
	outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return get(c, int(kkind), bytesOf(key, klen), float64(now), int(flags), out)
}

// get is dcg_get on Go values (tested and fuzzed without cgo).
func get(c *core.Cache, kind int, key []byte, now float64, flags int, out []byte) C.int {
	if len(out) < outData {
		return stInvalid
	}
	it, err := c.Get(core.Typed{Kind: core.Kind(kind), Bytes: key}, now, core.GetFlags(flags), out[outData:])
	if err == core.ErrNotFound {
		// The common miss, without errors.Is walking its chains.
		return stNotFound
	}
	if err != nil {
		if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(it.Need+outData))
		}
		return fail(out, err)
	}
	writeItem(c, out, it)
	return stOK
}

//export dcg_contains
func dcg_contains(h C.uint64_t, kkind C.int, key *C.uchar, klen C.int64_t, now C.double) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	ok, err := c.Contains(core.Typed{Kind: core.Kind(kkind), Bytes: bytesOf(key, klen)}, float64(now))
	if err != nil {
		return status(err)
	}
	if !ok {
		return stNotFound
	}
	return stOK
}

//export dcg_info
func dcg_info(h C.uint64_t, outp *C.int64_t) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	out := unsafe.Slice((*int64)(unsafe.Pointer(outp)), infoFields)
	n, err := c.Counts()
	if err != nil {
		return status(err)
	}
	hits, misses, err := c.Stats()
	if err != nil {
		return status(err)
	}
	out[infoLen], out[infoVolume], out[infoSize] = n.Len, n.Volume, n.Size
	out[infoHits], out[infoMisses], out[infoMaxRowid] = hits, misses, int64(n.MaxRowid)
	return stOK
}

//export dcg_reset_stats
func dcg_reset_stats(h C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return status(c.ResetStats())
}

//export dcg_hit_was_miss
func dcg_hit_was_miss(h C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return status(c.HitWasMiss())
}

// dcg_getv is dcg_get for the hot path: instead of making the caller parse
// the result header, it returns the common outcome in the status itself.
// A result >= 0 means the value (no file, no tag or expiry requested) is at
// out[outData:outData+vlen] and the result is vlen<<getvLenShift |
// mode<<getvModeShift | kind. getvMiss means not found; getvHeader means the
// full result header was written (a value with a file); -(getvStatusBase +
// status) is any other status of dcg_get.
//
//export dcg_getv
func dcg_getv(h C.uint64_t, kkind C.int, key *C.uchar, klen C.int64_t, now C.double, flags C.int,
	outp *C.uchar, outcap C.int64_t) C.int64_t {
	st := dcg_get(h, kkind, key, klen, now, flags, outp, outcap)
	switch st {
	case stOK:
	case stNotFound:
		return getvMiss
	default:
		return -(getvStatusBase + C.int64_t(st))
	}
	out := bytesOf(outp, outData)
	kinds := le64(out, outKinds)
	mode := kinds >> kindsModeShift & 7
	if le64(out, outFLen) != 0 || kinds&kindOthersWrote != 0 && mode == uint64(core.ModePickle) {
		// A pickle read with a segment another user could have written
		// goes to the general path too, which decides whether to unpickle.
		return getvHeader
	}
	return C.int64_t(le64(out, outVLen)<<getvLenShift | mode<<getvModeShift | kinds&7)
}
