// write.go: dcg_write's request, every write operation, and dcg_check.

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

// Write operations, the op argument of dcg_write.
const (
	opSet      = C.DCG_OP_SET
	opAdd      = C.DCG_OP_ADD
	opDelete   = C.DCG_OP_DELETE
	opPop      = C.DCG_OP_POP
	opTouch    = C.DCG_OP_TOUCH
	opIncr     = C.DCG_OP_INCR
	opExpire   = C.DCG_OP_EXPIRE
	opEvict    = C.DCG_OP_EVICT
	opClear    = C.DCG_OP_CLEAR
	opCull     = C.DCG_OP_CULL
	opBegin    = C.DCG_OP_BEGIN
	opEnd      = C.DCG_OP_END
	opGet      = C.DCG_OP_GET // get that updates access bookkeeping (LRU, LFU)
	opPush     = C.DCG_OP_PUSH
	opPull     = C.DCG_OP_PULL
	opPeek     = C.DCG_OP_PEEK
	opPeekItem = C.DCG_OP_PEEKITEM
	opCompact  = C.DCG_OP_COMPACT // compact every segment with dead bytes now (vacuum)
)

// Request flags.
const (
	rqExpire  = C.DCG_RQ_EXPIRE
	rqTag     = C.DCG_RQ_TAG
	rqDefault = C.DCG_RQ_DEFAULT
	rqCommit  = C.DCG_RQ_COMMIT
	rqStats   = C.DCG_RQ_STATS
	rqFront   = C.DCG_RQ_FRONT  // push/pull/peek at the front
	rqLast    = C.DCG_RQ_LAST   // peekitem: the last item
	rqPrefix  = C.DCG_RQ_PREFIX // push/pull/peek: the key slot holds the prefix
)

// The request header of dcg_write (struct dcg_request), followed by the
// key, value, tag and file name bytes.
const (
	reqHdr     = int(unsafe.Sizeof(C.struct_dcg_request{}))
	reqOwner   = int(unsafe.Offsetof(C.struct_dcg_request{}.owner))
	reqTimeout = int(unsafe.Offsetof(C.struct_dcg_request{}.timeout))
	reqNow     = int(unsafe.Offsetof(C.struct_dcg_request{}.now))
	reqExpire  = int(unsafe.Offsetof(C.struct_dcg_request{}.expire))
	reqSize    = int(unsafe.Offsetof(C.struct_dcg_request{}.size))
	reqFlags   = int(unsafe.Offsetof(C.struct_dcg_request{}.flags))
	reqKKind   = int(unsafe.Offsetof(C.struct_dcg_request{}.key_kind))
	reqVKind   = int(unsafe.Offsetof(C.struct_dcg_request{}.value_kind))
	reqMode    = int(unsafe.Offsetof(C.struct_dcg_request{}.mode))
	reqTKind   = int(unsafe.Offsetof(C.struct_dcg_request{}.tag_kind))
	reqKLen    = int(unsafe.Offsetof(C.struct_dcg_request{}.key_len))
	reqVLen    = int(unsafe.Offsetof(C.struct_dcg_request{}.value_len))
	reqTLen    = int(unsafe.Offsetof(C.struct_dcg_request{}.tag_len))
	reqFLen    = int(unsafe.Offsetof(C.struct_dcg_request{}.file_len))
)

// request is a dcg_write request, parsed.
type request struct {
	call               core.Call
	now, expire        float64
	size               int64
	flags              uint32
	key, val, tag      core.Typed
	mode               core.Mode
	file               string
	hasExpire, hasTag  bool
	hasDefault, commit bool
}

var errBadRequest = errors.New("malformed request")

func parseRequest(b []byte) (request, error) {
	var r request
	if len(b) < reqHdr {
		return r, errBadRequest
	}
	r.call = core.Call{Owner: le64(b, reqOwner), Timeout: seconds(C.double(f64(b, reqTimeout)))}
	r.now, r.expire = f64(b, reqNow), f64(b, reqExpire)
	r.size = int64(le64(b, reqSize))
	r.flags = le32(b, reqFlags)
	kk, vk, md, tk := b[reqKKind], b[reqVKind], b[reqMode], b[reqTKind]
	kl, vl, tl, fl := int(le32(b, reqKLen)), int(le32(b, reqVLen)), int(le32(b, reqTLen)), int(le32(b, reqFLen))
	if reqHdr+kl+vl+tl+fl != len(b) {
		return r, errBadRequest
	}
	p := reqHdr
	r.key = core.Typed{Kind: core.Kind(kk), Bytes: b[p : p+kl]}
	p += kl
	r.val = core.Typed{Kind: core.Kind(vk), Bytes: b[p : p+vl]}
	p += vl
	r.tag = core.Typed{Kind: core.Kind(tk), Bytes: b[p : p+tl]}
	p += tl
	r.file = string(b[p : p+fl])
	r.mode = core.Mode(md)
	// A NaN expire time (an expire of NaN seconds) is what SQLite stores as
	// NULL for python-diskcache: no expiry, not an item expired at once.
	r.hasExpire = r.flags&rqExpire != 0 && !math.IsNaN(r.expire)
	r.hasTag = r.flags&rqTag != 0
	r.hasDefault = r.flags&rqDefault != 0
	r.commit = r.flags&rqCommit != 0
	return r, nil
}

func le64(b []byte, off int) uint64 {
	_ = b[off+7]
	return uint64(b[off]) | uint64(b[off+1])<<8 | uint64(b[off+2])<<16 | uint64(b[off+3])<<24 |
		uint64(b[off+4])<<32 | uint64(b[off+5])<<40 | uint64(b[off+6])<<48 | uint64(b[off+7])<<56
}

func le32(b []byte, off int) uint32 {
	_ = b[off+3]
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
}

func f64(b []byte, off int) float64 { return math.Float64frombits(le64(b, off)) }

// dcg_write runs one write operation described by req (see request).
// Results go to out: items for pop, the new value for incr (value kind and
// 8 bytes), counts in outAux for the bulk operations (also on timeout, for
// python-diskcache's Timeout(count)).
//
//export dcg_write
func dcg_write(h C.uint64_t, op C.int, reqp *C.uchar, reqlen C.int64_t, outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	return C.int(write(c, int(op), bytesOf(reqp, reqlen), out))
}

// write is dcg_write on Go slices (so it can be tested and fuzzed without
// cgo in the test).
func write(c *core.Cache, op int, req, out []byte) C.int {
	if len(out) < outData {
		return stInvalid
	}
	r, err := parseRequest(req)
	if err != nil {
		return fail(out, err)
	}
	switch op {
	case opSet, opAdd:
		a := core.SetArgs{Key: r.key, Value: r.val, Mode: r.mode, File: r.file, Size: r.size,
			Tag: r.tag, HasTag: r.hasTag, Expire: r.expire, HasExpire: r.hasExpire, Now: r.now}
		if op == opSet {
			err = c.Set(r.call, &a)
		} else {
			err = c.Add(r.call, &a)
		}
	case opDelete:
		err = c.Delete(r.call, r.key, r.now)
	case opPop:
		var it core.Item
		it, err = c.Pop(r.call, r.key, r.now, out[outData:])
		if err == nil {
			writeItem(c, out, it)
		} else if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(it.Need+outData))
		}
	case opGet:
		var it core.Item
		var fl core.GetFlags
		if r.flags&rqStats != 0 {
			fl = core.CountStats
		}
		it, err = c.GetUpdate(r.call, r.key, r.now, fl, out[outData:])
		if err == nil {
			writeItem(c, out, it)
		} else if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(it.Need+outData))
		}
	case opPush:
		side := core.Back
		if r.flags&rqFront != 0 {
			side = core.Front
		}
		a := core.SetArgs{Value: r.val, Mode: r.mode, File: r.file, Size: r.size,
			Tag: r.tag, HasTag: r.hasTag, Expire: r.expire, HasExpire: r.hasExpire, Now: r.now}
		var k core.Typed
		k, err = c.Push(r.call, string(r.key.Bytes), r.flags&rqPrefix != 0, side, &a)
		if err == nil {
			put64(out, outKinds, int64(k.Kind)<<kindsKeyShift)
			put64(out, outAux2, int64(len(k.Bytes)))
			copy(out[outData:], k.Bytes)
		}
	case opPull, opPeek, opPeekItem:
		var it core.Item
		switch op {
		case opPeekItem:
			it, err = c.PeekItem(r.call, r.flags&rqLast != 0, r.now, out[outData:])
		default:
			side := core.Back
			if r.flags&rqFront != 0 {
				side = core.Front
			}
			it, err = c.Pull(r.call, string(r.key.Bytes), r.flags&rqPrefix != 0, side, r.now, op == opPull, out[outData:])
		}
		if err == nil {
			writeItem(c, out, it)
		} else if errors.Is(err, core.ErrShortBuffer) {
			put64(out, outAux, int64(it.Need+outData))
		}
	case opTouch:
		err = c.Touch(r.call, r.key, r.expire, r.hasExpire, r.now)
	case opIncr:
		var v core.Typed
		v, err = c.Incr(r.call, r.key, r.val, r.tag, r.hasDefault, r.now)
		if err == nil {
			put64(out, outKinds, int64(v.Kind))
			put64(out, outVLen, 8)
			copy(out[outData:], v.Bytes)
		}
	case opExpire, opEvict, opClear, opCull:
		var n int
		switch op {
		case opExpire:
			n, err = c.Expire(r.call, r.now)
		case opEvict:
			n, err = c.Evict(r.call, r.tag)
		case opClear:
			n, err = c.Clear(r.call)
		default:
			n, err = c.Cull(r.call, r.now)
		}
		put64(out, outAux, int64(n))
	case opCompact:
		var n int64
		n, err = c.Compact(r.call)
		put64(out, outAux, n)
	case opBegin:
		err = c.Begin(r.call)
	case opEnd:
		err = c.End(r.call.Owner, r.commit)
	default:
		err = core.ErrInvalid
	}
	if err != nil {
		return fail(out, err)
	}
	return stOK
}

// dcg_check runs core.Check. out receives, after the header: the number of
// warnings (u32), each as kind u8 | len u32 | message, then the number of
// referenced files (u32), each as len u32 | name. outAux holds the bytes
// needed when out is too small (status stShortBuf).
//
//export dcg_check
func dcg_check(h C.uint64_t, owner C.uint64_t, timeout C.double, fix C.int, outp *C.uchar, outcap C.int64_t) (st C.int) {
	out := bytesOf(outp, outcap)
	defer guard(out, &st)
	c := lookup(h)
	if c == nil {
		return stClosed
	}
	if len(out) < outData {
		return stInvalid
	}
	rep, err := c.Check(core.Call{Owner: uint64(owner), Timeout: seconds(timeout)}, fix != 0)
	if err != nil {
		return fail(out, err)
	}
	need := outData + 8
	for _, w := range rep.Warnings {
		need += 5 + len(w.Msg)
	}
	for _, f := range rep.Files {
		need += 4 + len(f)
	}
	if need > len(out) {
		put64(out, outAux, int64(need))
		return stShortBuf
	}
	p := outData
	p = putU32(out, p, uint32(len(rep.Warnings)))
	for _, w := range rep.Warnings {
		out[p] = byte(w.Kind)
		p = putU32(out, p+1, uint32(len(w.Msg)))
		p += copy(out[p:], w.Msg)
	}
	p = putU32(out, p, uint32(len(rep.Files)))
	for _, f := range rep.Files {
		p = putU32(out, p, uint32(len(f)))
		p += copy(out[p:], f)
	}
	return stOK
}

func putU32(b []byte, p int, v uint32) int {
	b[p], b[p+1], b[p+2], b[p+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return p + 4
}
