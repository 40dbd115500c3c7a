package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"math"

	"github.com/diskcache-go/diskcache-go/core"
)

// Write operations, the op argument of dcg_write.
const (
	opSet      = 1
	opAdd      = 2
	opDelete   = 3
	opPop      = 4
	opTouch    = 5
	opIncr     = 6
	opExpire   = 7
	opEvict    = 8
	opClear    = 9
	opCull     = 10
	opBegin    = 11
	opEnd      = 12
	opGet      = 13 // get that updates access bookkeeping (LRU, LFU)
	opPush     = 14
	opPull     = 15
	opPeek     = 16
	opPeekItem = 17
	opCompact  = 18 // compact every segment with dead bytes now (vacuum)
)

// Request flags.
const (
	rqExpire  = 1 << 0
	rqTag     = 1 << 1
	rqDefault = 1 << 2
	rqCommit  = 1 << 3
	rqStats   = 1 << 4
	rqFront   = 1 << 5 // push/pull/peek at the front
	rqLast    = 1 << 6 // peekitem: the last item
	rqPrefix  = 1 << 7 // push/pull/peek: the key slot holds the prefix
)

// request is the fixed 64-byte request header of dcg_write, followed by the
// key, value, tag and file name bytes:
//
//	0  owner u64   | 8  timeout f64 | 16 now f64 | 24 expire f64
//	32 size i64    | 40 flags u32   | 44 kkind u8 | vkind u8 | mode u8 | tkind u8
//	48 klen u32    | 52 vlen u32    | 56 tlen u32 | 60 flen u32
const reqHdr = 64

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
	r.call = core.Call{Owner: le64(b, 0), Timeout: seconds(C.double(f64(b, 8)))}
	r.now, r.expire = f64(b, 16), f64(b, 24)
	r.size = int64(le64(b, 32))
	r.flags = le32(b, 40)
	kk, vk, md, tk := b[44], b[45], b[46], b[47]
	kl, vl, tl, fl := int(le32(b, 48)), int(le32(b, 52)), int(le32(b, 56)), int(le32(b, 60))
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
			put64(out, outKinds, int64(k.Kind)<<28)
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
