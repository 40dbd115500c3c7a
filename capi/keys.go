// keys.go: the key listings, in insertion order and in sort order.

package main

/*
#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/diskcache-go/diskcache-go/core"
)

//export dcg_keys
func dcg_keys(h C.uint64_t, curID C.uint32_t, curRowid C.uint64_t, bound C.uint64_t, reverse C.int, max C.int,
	outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return keys(c, core.Cursor{ID: uint32(curID), Rowid: uint64(curRowid)}, uint64(bound), reverse != 0, int(max), out)
}

// keys is dcg_keys on Go values.
func keys(c *core.Cache, cur core.Cursor, bound uint64, reverse bool, max int, out []byte) C.int {
	room := len(out) - outData - 8*max
	if room < 0 || max <= 0 || max > 1<<20 {
		return stInvalid
	}
	// Each key costs 8 header bytes in out, so keys that fit in scratch
	// always fit in out and the cursor core returns stays exact.
	scratch := make([]byte, room)
	items, next, err := c.Keys(cur, bound, reverse, max, scratch)
	if err != nil {
		if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(2*len(out)))
		}
		return fail(out, err)
	}
	put64(out, outKinds, othersWrote(c))
	put64(out, outAux, int64(writeKeys(out, items)))
	put64(out, outAux2, int64(next.ID))
	put64(out, outExpire, int64(next.Rowid))
	return stOK
}

// dcg_keys_sorted lists up to max keys in python-diskcache's iterkeys order
// after the key (kind, key[0:klen]) (from the start when has_after is 0),
// or before it when reverse. out: header field 5 = number of keys; then per
// key: length u32 | kind u8 | 3 pad | bytes.
//
//export dcg_keys_sorted
func dcg_keys_sorted(h C.uint64_t, hasAfter C.int, kind C.int, key *C.uchar, klen C.int64_t, reverse C.int, max C.int,
	outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return keysSorted(c, core.Typed{Kind: core.Kind(kind), Bytes: bytesOf(key, klen)}, hasAfter != 0, reverse != 0, int(max), out)
}

// keysSorted is dcg_keys_sorted on Go values.
func keysSorted(c *core.Cache, after core.Typed, hasAfter, reverse bool, max int, out []byte) C.int {
	room := len(out) - outData - 8*max
	if room < 0 || max <= 0 || max > 1<<20 {
		return stInvalid
	}
	scratch := make([]byte, room)
	items, err := c.KeysSorted(after, hasAfter, reverse, max, scratch)
	if err != nil {
		if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(2*len(out)))
		}
		return fail(out, err)
	}
	put64(out, outKinds, othersWrote(c))
	put64(out, outAux, int64(writeKeys(out, items)))
	return stOK
}

// writeKeys lays keys out after the header: length u32 | kind u8 | 3 pad |
// bytes each. It returns how many it wrote.
func writeKeys(out []byte, items []core.Item) int {
	p := outData
	for _, it := range items {
		*(*uint32)(unsafe.Pointer(&out[p])) = uint32(len(it.Key.Bytes))
		out[p+4] = byte(it.Key.Kind)
		p += 8
		p += copy(out[p:], it.Key.Bytes)
	}
	return len(items)
}
