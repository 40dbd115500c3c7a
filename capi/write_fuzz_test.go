package main

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// req builds a well-formed request, the seed the fuzzer mutates.
func req(owner uint64, now, expire float64, flags uint32, kk, vk, mode, tk byte, key, val, tag, file []byte) []byte {
	b := make([]byte, reqHdr, reqHdr+len(key)+len(val)+len(tag)+len(file))
	le := binary.LittleEndian
	le.PutUint64(b[reqOwner:], owner)
	le.PutUint64(b[reqTimeout:], math.Float64bits(0.5))
	le.PutUint64(b[reqNow:], math.Float64bits(now))
	le.PutUint64(b[reqExpire:], math.Float64bits(expire))
	le.PutUint32(b[reqFlags:], flags)
	b[reqKKind], b[reqVKind], b[reqMode], b[reqTKind] = kk, vk, mode, tk
	le.PutUint32(b[reqKLen:], uint32(len(key)))
	le.PutUint32(b[reqVLen:], uint32(len(val)))
	le.PutUint32(b[reqTLen:], uint32(len(tag)))
	le.PutUint32(b[reqFLen:], uint32(len(file)))
	b = append(b, key...)
	b = append(b, val...)
	b = append(b, tag...)
	return append(b, file...)
}

// FuzzWrite drives every write operation of the C ABI with arbitrary
// requests against one cache: no input may panic, and after each one the
// cache must still pass its integrity check.
func FuzzWrite(f *testing.F) {
	int8b := func(v int64) []byte { var b [8]byte; binary.LittleEndian.PutUint64(b[:], uint64(v)); return b[:] }
	f.Add(opSet, req(0, 10, 0, 0, 3, 4, 1, 0, []byte("k"), []byte("value"), nil, nil))
	f.Add(opSet, req(0, 10, 20, rqExpire|rqTag, 1, 3, 1, 3, int8b(7), []byte("v"), []byte("t"), nil))
	f.Add(opAdd, req(0, 10, 0, 0, 4, 1, 1, 0, []byte("b"), int8b(3), nil, nil))
	f.Add(opIncr, req(0, 10, 0, rqDefault|rqTag, 3, 1, 0, 1, []byte("n"), int8b(1), int8b(0), nil))
	f.Add(opDelete, req(0, 10, 0, 0, 3, 0, 0, 0, []byte("k"), nil, nil, nil))
	f.Add(opPush, req(0, 10, 0, rqPrefix, 3, 3, 1, 0, []byte("q"), []byte("job"), nil, nil))
	f.Add(opPull, req(0, 10, 0, rqFront, 0, 0, 0, 0, nil, nil, nil, nil))
	f.Add(opPeekItem, req(0, 10, 0, rqLast, 0, 0, 0, 0, nil, nil, nil, nil))
	f.Add(opEvict, req(0, 10, 0, rqTag, 0, 0, 0, 3, nil, nil, []byte("t"), nil))
	f.Add(opTouch, req(0, 10, 30, rqExpire, 3, 0, 0, 0, []byte("k"), nil, nil, nil))
	f.Add(opExpire, req(0, 100, 0, 0, 0, 0, 0, 0, nil, nil, nil, nil))
	f.Add(opGet, req(0, 10, 0, rqStats, 3, 0, 0, 0, []byte("k"), nil, nil, nil))
	f.Add(opSet, req(0, 10, 0, 0, 3, 0, 2, 0, []byte("f"), nil, nil, []byte("../../etc/passwd")))
	c, err := core.Open(f.TempDir(), &core.Options{SegmentSize: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	out := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, op int, request []byte) {
		switch op % 20 {
		case opBegin, opEnd:
			// Transactions need a matching end; driven by their own tests.
			return
		}
		write(c, op%20, request, out)
		rep, err := c.Check(core.Call{}, false)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		for _, w := range rep.Warnings {
			if w.Kind == core.WarnIntegrity || w.Kind == core.WarnCount {
				t.Fatalf("op %d left the cache inconsistent: %s", op%20, w.Msg)
			}
		}
	})
}
