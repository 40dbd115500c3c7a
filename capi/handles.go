// handles.go: the handle table, and the exports that open, close, set up
// and describe a cache (and the library's own figures).

package main

/*
#define DCG_NO_PROTOTYPES
#include "diskcache_go.h"
*/
import "C"

import (
	"hash/crc32"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/diskcache-go/diskcache-go/core"
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
	var mode C.int = modeShared
	switch c.Mode() {
	case "ordered":
		mode = modeOrdered
	case "network":
		mode = modeNetwork
	}
	if c.WasReset() {
		mode |= modeWasReset
	}
	return mode
}

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
