package core

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompaction_StuckFlagPersists damages a live record in a sealed
// segment, so compaction has to give up on that segment. The flag saying so
// must reach the index file in every mode: in network mode the engine
// writes back only what the journal recorded, and a flag set outside it was
// lost, so every later compaction walked into the same damage again.
func TestCompaction_StuckFlagPersists(t *testing.T) {
	for _, network := range []NetworkMode{NetworkOff, NetworkOn} {
		t.Run(fmt.Sprintf("network=%v", network == NetworkOn), func(t *testing.T) {
			dir := t.TempDir()
			opts := &Options{SegmentSize: 64 << 10, Network: network}
			c, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			val := func(k, round int) Typed { return Blob([]byte(strings.Repeat(fmt.Sprintf("%d/%d;", k, round), 40))) }
			for k := 0; k < 200; k++ {
				if err := c.Set(Call{}, &SetArgs{Key: Int(int64(k)), Value: val(k, 0), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
			}
			// Key 0's record is in the first segment, sealed by now.
			id, _, err := c.lookup(Int(0), hashTyped(Int(0)))
			if err != nil || id == nilID {
				t.Fatalf("lookup key 0: %v", err)
			}
			var e []byte
			if err := c.read(func() error { e = append([]byte(nil), c.idx.entry(id)...); return nil }); err != nil {
				t.Fatal(err)
			}
			seg, off := getU32(e, eSegID), int64(getU32(e, eRecOff))
			// Everything but key 0 is overwritten, so the first segment is
			// mostly dead and compaction picks it.
			for k := 1; k < 200; k++ {
				if err := c.Set(Call{}, &SetArgs{Key: Int(int64(k)), Value: val(k, 1), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(segPath(dir, seg), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			var b [1]byte
			if _, err := f.ReadAt(b[:], off+recHdr+4); err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0xff
			if _, err := f.WriteAt(b[:], off+recHdr+4); err != nil {
				t.Fatal(err)
			}
			f.Close()

			if c, err = Open(dir, opts); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compact(Call{}); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			m, err := os.ReadFile(filepath.Join(dir, indexName))
			if err != nil {
				t.Fatal(err)
			}
			for slot := int64(0); slot < maxSegSlots; slot++ {
				so := offSegTable + slot*segSlotSize
				if getU32(m, so) == seg {
					if getU32(m, so+4)&segStuck == 0 {
						t.Fatalf("segment %d: the stuck flag did not reach the index file", seg)
					}
					return
				}
			}
			t.Fatalf("segment %d is gone: compaction removed a segment holding a damaged live record", seg)
		})
	}
}
