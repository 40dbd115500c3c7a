package core

import (
	"encoding/binary"
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// Inline values can be stored LZ4-compressed (Options.CompressAbove). A
// compressed value's record has recCompressed set in its mode byte and
// holds the value's length (u32) followed by an LZ4 block. Readers always
// understand it, whatever their own setting, so processes with different
// settings share a cache.
const recCompressed = 0x80

// compressValue returns the record payload for val when compressing it
// pays, or nil. The writer's Compressor (not safe for concurrent use) is
// only used under the writer lock.
func (t *tx) compressValue(val []byte) ([]byte, error) {
	need := 4 + lz4.CompressBlockBound(len(val))
	if cap(t.zBuf) < need {
		t.zBuf = make([]byte, need)
	}
	out := t.zBuf[:need]
	n, err := t.z.CompressBlock(val, out[4:])
	if err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if n == 0 || 4+n >= len(val) {
		return nil, nil // incompressible: stored as it is
	}
	binary.LittleEndian.PutUint32(out, uint32(len(val)))
	return out[:4+n], nil
}

func (r record) compressed() bool { return r[14]&recCompressed != 0 }

// plainLen is the length of the record's value as stored by the caller.
func (r record) plainLen() (int, error) {
	v := r.value()
	if !r.compressed() {
		return len(v), nil
	}
	if len(v) < 4 {
		return 0, fmt.Errorf("%w: compressed value header", ErrCorrupted)
	}
	return int(binary.LittleEndian.Uint32(v)), nil
}

// plainValue writes the record's value into dst, which holds plainLen
// bytes, and returns it.
func (r record) plainValue(dst []byte) ([]byte, error) {
	v := r.value()
	if !r.compressed() {
		return dst[:copy(dst, v)], nil
	}
	n, err := r.plainLen()
	if err != nil {
		return nil, err
	}
	got, err := lz4.UncompressBlock(v[4:], dst[:n])
	if err != nil || got != n {
		return nil, fmt.Errorf("%w: compressed value (%d of %d bytes): %v", ErrCorrupted, got, n, err)
	}
	return dst[:n], nil
}
