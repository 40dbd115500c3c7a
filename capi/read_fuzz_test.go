package main

import (
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// FuzzRead drives the read entry points of the C ABI (get, keys in
// insertion and in sort order, contains) with arbitrary arguments against a
// cache holding keys of every kind: nothing may panic, and a successful get
// must return the stored value of the key asked for.
func FuzzRead(f *testing.F) {
	c, err := core.Open(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	stored := map[string][]byte{}
	for i, k := range []core.Typed{core.Text("a"), core.Int(5), core.Float(2.5), core.Blob([]byte("b")),
		{Kind: core.KindPickle, Bytes: []byte("p")}, core.Text("q-500000000000000")} {
		val := []byte{byte('A' + i)}
		if err := c.Set(core.Call{}, &core.SetArgs{Key: k, Value: core.Blob(val), Mode: core.ModeRaw, Now: 1}); err != nil {
			f.Fatal(err)
		}
		stored[string(rune(k.Kind))+string(k.Bytes)] = val
	}
	f.Add(3, []byte("a"), 1.0, 0, uint32(0), uint64(0), uint64(100), true, 10, 4096)
	f.Add(1, []byte{5, 0, 0, 0, 0, 0, 0, 0}, 2.0, 1, uint32(3), uint64(2), uint64(1), false, 1, 70)
	f.Add(9, []byte{}, -1.0, 255, uint32(0xffffffff), uint64(1<<63), uint64(0), true, -1, 0)
	f.Fuzz(func(t *testing.T, kind int, key []byte, now float64, flags int, curID uint32, curRowid, bound uint64,
		reverse bool, max int, outSize int) {
		if outSize < 0 || outSize > 1<<16 {
			outSize = 1 << 12
		}
		out := make([]byte, outSize)
		st := get(c, kind, key, now, flags, out)
		if st == stOK {
			want, ok := stored[string(rune(core.Kind(kind)))+string(key)]
			if ok && string(out[outData:outData+int(le64(out, outVLen))]) != string(want) {
				t.Fatalf("get returned %q for a key holding %q", out[outData:outData+int(le64(out, outVLen))], want)
			}
		}
		keys(c, core.Cursor{ID: curID, Rowid: curRowid}, bound, reverse, max, out)
		keysSorted(c, core.Typed{Kind: core.Kind(kind), Bytes: key}, curID%2 == 0, reverse, max, out)
		c.Contains(core.Typed{Kind: core.Kind(kind), Bytes: key}, now)
	})
}
