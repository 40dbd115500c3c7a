package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecord feeds arbitrary bytes to the record decoder: it may reject
// them, never panic, and what it accepts must have fields inside the record.
func FuzzRecord(f *testing.F) {
	good := encodeRecord(make([]byte, recordLen(3, 1, 0, 5)), Text("key"), Text("t"), "", Blob([]byte("value")), ModeRaw, &recMeta{op: opPut, seq: 1, rowid: 1})
	f.Add([]byte(good))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := record(b)
		if r.check(len(b)) != nil {
			return
		}
		total := len(r.key()) + len(r.tag()) + len(r.file()) + len(r.value())
		if recHdr+total > len(b) {
			t.Fatalf("accepted a record whose fields overrun it")
		}
	})
}

// FuzzCorruptIndex overwrites bytes of a real index file and then uses the
// cache: nothing may panic, and a get may miss or report corruption but
// never return a value other than the one stored.
func FuzzCorruptIndex(f *testing.F) {
	f.Add(uint32(0), []byte{0xff})
	f.Add(uint32(offState), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint32(headerSize), bytes.Repeat([]byte{0xab}, 32))
	f.Add(uint32(headerSize+entrySize+eRecOff), []byte{0, 0, 0, 1})
	f.Add(uint32(offBucketOff), []byte{0x10})
	f.Add(uint32(offTreeRoot), []byte{3})
	f.Fuzz(func(t *testing.T, at uint32, patch []byte) {
		dir := t.TempDir()
		c, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for i := 0; i < 20; i++ {
			k, v := fmt.Sprint("k", i), fmt.Sprint("value-", i)
			want[k] = v
			if err := c.Set(Call{}, &SetArgs{Key: Text(k), Value: Text(v), Mode: ModeRaw, Now: 1}); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		path := filepath.Join(dir, indexName)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		off := int(at) % len(data)
		copy(data[off:], patch)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err = Open(dir, &Options{Timeout: 1})
		if err != nil {
			return // refused: fine
		}
		defer c.Close()
		buf := make([]byte, 4096)
		for k, v := range want {
			it, err := c.Get(Text(k), 1, 0, buf)
			if err != nil {
				if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupted) {
					t.Logf("get %s: %v", k, err)
				}
				continue
			}
			if string(it.Value.Bytes) != v {
				t.Fatalf("get %s returned %q, stored %q", k, it.Value.Bytes, v)
			}
		}
		c.Keys(Cursor{}, 1<<62, false, 100, buf)
		c.KeysSorted(Typed{}, false, false, 100, buf)
		c.Check(Call{Timeout: 1}, false)
	})
}
