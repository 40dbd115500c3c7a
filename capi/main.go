// Command capi is the C ABI of diskcache-go, built with
// go build -buildmode=c-shared. It is a thin layer: each export converts its
// arguments, calls one core method, maps the error to a status code and
// writes the results into the caller's buffer. See diskcache_go.h.
package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"hash/crc32"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/diskcache-go/diskcache-go/core"
)

// abiVersion changes whenever an export's signature, a buffer layout or a
// flag's meaning does; the Python layer refuses a library with another
// version.
const abiVersion = 7

// Status codes, stable across versions.
const (
	stOK         = 0
	stNotFound   = 1
	stExists     = 2
	stTimeout    = 3
	stClosed     = 4
	stCorrupt    = 5
	stInvalid    = 6
	stFull       = 7
	stPermission = 8
	stNotNumeric = 9
	stOverflow   = 10
	stShortBuf   = 11
	stNotOwner   = 12
	stIO         = 13
	stPanic      = 14
	stWouldBlock = 15
)

// Output header (64 bytes, little endian int64 fields), then data.
const (
	outKinds  = 0  // valKind | mode<<8 | tagKind<<16 | hasTag<<24 | hasExpire<<25 | othersWrote<<26
	outVLen   = 8  // value length
	outTLen   = 16 // tag length
	outFLen   = 24 // file name length
	outExpire = 32 // expire time (float64 bits)
	outAux    = 40 // file size; bulk count; needed buffer size
	outAux2   = 48 // key length (peeks, pulls); cursor id for keys
	outMsgLen = 56 // error message length (message at outData)
	outData   = 64
)

var (
	handles sync.Map // uint64 -> *core.Cache
	nextH   atomic.Uint64
)

func lookup(h C.uint64_t) *core.Cache {
	v, ok := handles.Load(uint64(h))
	if !ok {
		return nil
	}
	return v.(*core.Cache)
}

func bytesOf(p *C.uchar, n C.int64_t) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func put64(b []byte, off int, v int64) {
	if len(b) >= off+8 {
		*(*int64)(unsafe.Pointer(&b[off])) = v
	}
}

func status(err error) C.int {
	switch {
	case err == nil:
		return stOK
	case errors.Is(err, core.ErrNotFound):
		return stNotFound
	case errors.Is(err, core.ErrExists):
		return stExists
	case errors.Is(err, core.ErrTimeout):
		return stTimeout
	case errors.Is(err, core.ErrClosed):
		return stClosed
	case errors.Is(err, core.ErrCorrupted):
		return stCorrupt
	case errors.Is(err, core.ErrInvalid):
		return stInvalid
	case errors.Is(err, core.ErrFull):
		return stFull
	case errors.Is(err, core.ErrPermission):
		return stPermission
	case errors.Is(err, core.ErrNotNumeric):
		return stNotNumeric
	case errors.Is(err, core.ErrOverflow):
		return stOverflow
	case errors.Is(err, core.ErrShortBuffer):
		return stShortBuf
	case errors.Is(err, core.ErrNotOwner):
		return stNotOwner
	case errors.Is(err, core.ErrWouldBlock):
		return stWouldBlock
	}
	return stIO
}

// fail writes err's message after the header and returns its status.
func fail(out []byte, err error) C.int {
	st := status(err)
	if st != stOK && st != stNotFound && st != stExists && len(out) > outData {
		n := copy(out[outData:], err.Error())
		put64(out, outMsgLen, int64(n))
	}
	return st
}

// guard turns a panic (including a fault reading a damaged mapped file)
// into stPanic with the message in out.
func guard(out []byte, st *C.int) {
	if r := recover(); r != nil {
		*st = stPanic
		if len(out) > outData {
			msg := "diskcache-go internal error: " + errorString(r)
			put64(out, outMsgLen, int64(copy(out[outData:], msg)))
		}
	}
}

func errorString(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "panic"
}

func seconds(s C.double) time.Duration {
	f := float64(s)
	if f < 0 || math.IsInf(f, 1) {
		return -1
	}
	d := time.Duration(f * 1e9)
	if d == 0 {
		// Zero means "the default" to core; python-diskcache's 0 means
		// "do not wait".
		d = 1
	}
	return d
}

//export dcg_version
func dcg_version() C.int { return abiVersion }

//export dcg_open
func dcg_open(dir *C.uchar, dirlen C.int64_t, sizeLimit C.int64_t, cullLimit C.int64_t, policy C.int,
	timeout C.double, fileMode C.int, dirMode C.int, flags C.int, compressAbove C.int64_t, handle *C.uint64_t,
	outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	opts := core.Options{SizeLimit: int64(sizeLimit), CullLimit: engineCullLimit(cullLimit), Policy: core.Policy(policy), Timeout: seconds(timeout),
		FileMode: uint32(fileMode), DirMode: uint32(dirMode), Sync: flags&openSync != 0,
		CompressAbove: int(max(compressAbove, 0))}
	switch {
	case flags&openNetwork != 0:
		opts.Network = core.NetworkOn
	case flags&openLocal != 0:
		opts.Network = core.NetworkOff
	}
	c, err := core.Open(string(bytesOf(dir, dirlen)), &opts)
	if err != nil {
		return fail(out, err)
	}
	h := nextH.Add(1)
	handles.Store(h, c)
	*handle = C.uint64_t(h)
	return stOK
}

// dcg_crc32 returns the CRC-32 (IEEE, as zlib.crc32) of buf[0:n] continued
// from seed: the checksum of value files. Go's is several times faster than
// zlib's on this hardware.
//
//export dcg_crc32
func dcg_crc32(seed C.uint32_t, buf *C.uchar, n C.int64_t) C.uint32_t {
	return C.uint32_t(crc32.Update(uint32(seed), crc32.IEEETable, bytesOf(buf, n)))
}

// dcg_open flags (DCG_OPEN_* in diskcache_go.h).
const (
	openSync    = 1
	openNetwork = 2
	openLocal   = 4
)

// dcg_mode returns how the handle shares the index: DCG_MODE_SHARED,
// DCG_MODE_ORDERED or DCG_MODE_NETWORK, plus DCG_MODE_WAS_RESET;
// -DCG_CLOSED for a closed handle.
//
//export dcg_mode
func dcg_mode(h C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return -stClosed
	}
	var mode C.int
	switch c.Mode() {
	case "ordered":
		mode = 1
	case "network":
		mode = 2
	}
	if c.WasReset() {
		mode |= modeWasReset
	}
	return mode
}

// modeWasReset is or-ed into dcg_mode's result when the open found the index
// damaged and made a new one.
const modeWasReset = 8

//export dcg_close
func dcg_close(h C.uint64_t) (st C.int) {
	defer guard(nil, &st)
	v, ok := handles.LoadAndDelete(uint64(h))
	if !ok {
		return stClosed
	}
	return status(v.(*core.Cache).Close())
}

//export dcg_limits
func dcg_limits(h C.uint64_t, sizeLimit C.int64_t, cullLimit C.int64_t, policy C.int) (st C.int) {
	defer guard(nil, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	c.SetLimits(int64(sizeLimit), engineCullLimit(cullLimit), core.Policy(policy))
	return stOK
}

// engineCullLimit maps python-diskcache's cull_limit to the engine's: 0
// turns automatic culling off (core.NoCull), and a negative limit, which
// python-diskcache passes to SQLite's LIMIT where it means no limit, culls
// everything there is to cull.
func engineCullLimit(cullLimit C.int64_t) int {
	switch {
	case cullLimit == 0:
		return core.NoCull
	case cullLimit < 0 || int64(cullLimit) > math.MaxInt:
		return math.MaxInt
	}
	return int(cullLimit)
}

// kindOthersWrote is set in the kinds field of an item's header, and in
// the first field of a key listing's, when the handle has read a segment
// that another user could have written (core.Cache.SegmentOthersCanWrite):
// the Python layer must not unpickle what came with it unless the data is
// signed or the directory is declared trusted.
const kindOthersWrote = 1 << 26

func othersWrote(c *core.Cache) int64 {
	if c.SegmentOthersCanWrite() {
		return kindOthersWrote
	}
	return 0
}

// writeItem lays an Item's header into out (its data is already at
// out[outData:], as core copied it there).
func writeItem(c *core.Cache, out []byte, it core.Item) {
	kinds := int64(it.Value.Kind) | int64(it.Mode)<<8 | int64(it.Tag.Kind)<<16 | int64(it.Key.Kind)<<28 | othersWrote(c)
	if it.HasTag {
		kinds |= 1 << 24
	}
	if it.HasExpire {
		kinds |= 1 << 25
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

// Info fields written by dcg_info, int64 each.
const (
	infoLen = iota
	infoVolume
	infoHits
	infoMisses
	infoMaxRowid
	infoSize
	infoFields
)

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

// dcg_fds writes the descriptors of every open cache (for the Python layer
// to close in a forked child) and returns how many there are.
//
//export dcg_fds
func dcg_fds(outp *C.int32_t, outcap C.int64_t) (n C.int64_t) {
	out := unsafe.Slice((*int32)(unsafe.Pointer(outp)), int(outcap))
	handles.Range(func(_, v any) bool {
		for _, fd := range v.(*core.Cache).Fds() {
			if int(n) < len(out) {
				out[n] = int32(fd)
			}
			n++
		}
		return true
	})
	return n
}

func main() {}

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

// dcg_getv is dcg_get for the hot path: instead of making the caller parse
// the result header, it returns the common outcome in the status itself.
// A result >= 0 means the value (no file, no tag or expiry requested) is at
// out[64:64+vlen] and the result is vlen<<6 | mode<<3 | kind. -1 means not
// found; -2 means the full result header was written (a value with a file);
// -(100+status) is any other status of dcg_get.
//
//export dcg_getv
func dcg_getv(h C.uint64_t, kkind C.int, key *C.uchar, klen C.int64_t, now C.double, flags C.int,
	outp *C.uchar, outcap C.int64_t) C.int64_t {
	st := dcg_get(h, kkind, key, klen, now, flags, outp, outcap)
	switch st {
	case stOK:
	case stNotFound:
		return -1
	default:
		return -(100 + C.int64_t(st))
	}
	out := bytesOf(outp, outData)
	kinds := le64(out, outKinds)
	if le64(out, outFLen) != 0 || kinds&kindOthersWrote != 0 && kinds>>8&7 == uint64(core.ModePickle) {
		// A pickle read with a segment another user could have written
		// goes to the general path too, which decides whether to unpickle.
		return -2
	}
	return C.int64_t(le64(out, outVLen)<<6 | (kinds>>8&7)<<3 | kinds&7)
}

// dcg_filesystem writes the name of the network or FUSE filesystem holding
// the cache into out (NUL-terminated) and returns 1, or returns 0 for a
// local filesystem; a closed handle gives -DCG_CLOSED.
//
//export dcg_filesystem
func dcg_filesystem(h C.uint64_t, outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return -stClosed
	}
	name, network := c.Filesystem()
	if !network {
		return 0
	}
	if len(out) > 0 {
		out[copy(out[:len(out)-1], name)] = 0
	}
	return 1
}

// dcg_repair_note writes what the last rebuild of the index found (on open
// or later) into out (NUL-terminated) and returns 1, or returns 0 when the
// index was not rebuilt; a closed handle gives -DCG_CLOSED.
//
//export dcg_repair_note
func dcg_repair_note(h C.uint64_t, outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return -stClosed
	}
	note := c.LastRepair()
	if note == "" {
		return 0
	}
	if len(out) > 0 {
		out[copy(out[:len(out)-1], note)] = 0
	}
	return 1
}

// dcg_runtime writes the library's Go runtime figures, for leak tests:
// out[0] goroutines, out[1] heap bytes in use, out[2] open caches.
//
//export dcg_runtime
func dcg_runtime(outp *C.int64_t) C.int {
	out := unsafe.Slice((*int64)(unsafe.Pointer(outp)), 3)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := int64(0)
	handles.Range(func(_, _ any) bool { n++; return true })
	out[0], out[1], out[2] = int64(runtime.NumGoroutine()), int64(ms.HeapInuse), n
	return stOK
}
