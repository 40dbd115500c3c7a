package core

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// insertionItems returns the key and value of every entry in insertion
// order, and the segment each one's record is in.
func insertionItems(t *testing.T, c *Cache) ([]Item, []uint32) {
	t.Helper()
	var items []Item
	var segs []uint32
	err := c.read(func() error {
		items, segs = items[:0], segs[:0]
		for id := c.idx.u32(offInsHead); id != nilID; {
			e := c.idx.entry(id)
			if e == nil {
				return errRetry
			}
			it, err := c.fill(e, make([]byte, 1<<16), true)
			if err != nil {
				return err
			}
			items = append(items, it)
			segs = append(segs, getU32(e, eSegID))
			id = getU32(e, eInsNext)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return items, segs
}

// nullSegments is the set of segments holding Null-keyed records.
func nullSegments(t *testing.T, c *Cache) map[uint32]bool {
	items, segs := insertionItems(t, c)
	in := map[uint32]bool{}
	for i, it := range items {
		if it.Key.Kind == KindNull {
			in[segs[i]] = true
		}
	}
	return in
}

// Null keys (python-diskcache's NaN keys, stored as SQL NULL) equal
// nothing: each store adds an entry, no lookup finds one, and compaction
// still moves each one's record (it finds a record's owner by its key).
func TestNullKeys(t *testing.T) {
	for _, network := range []NetworkMode{NetworkOff, NetworkOn} {
		t.Run(fmt.Sprintf("network=%v", network == NetworkOn), func(t *testing.T) {
			c, err := Open(t.TempDir(), &Options{SegmentSize: 64 << 10, Network: network})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			nullValue := func(i int) string { return strings.Repeat(fmt.Sprintf("null %d;", i), 30) }
			var want []string
			for i := 0; i < 20; i++ {
				if err := c.Set(Call{}, &SetArgs{Key: Null, Value: Text(nullValue(i)), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
				want = append(want, nullValue(i))
				if err := c.Set(Call{}, &SetArgs{Key: Int(int64(i)), Value: Null, Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Add(Call{}, &SetArgs{Key: Null, Value: Text("added"), Mode: ModeRaw, Now: 1}); err != nil {
				t.Fatalf("add of a Null key: %v", err)
			}
			want = append(want, "added")
			buf := make([]byte, 1<<16)
			if _, err := c.Get(Null, 1, 0, buf); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get of a Null key: %v, want ErrNotFound", err)
			}
			if err := c.Delete(Call{}, Null, 1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("delete of a Null key: %v, want ErrNotFound", err)
			}
			if err := c.Touch(Call{}, Null, 5, true, 1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("touch of a Null key: %v, want ErrNotFound", err)
			}
			if _, err := c.Incr(Call{}, Null, Int(1), Null, false, 1); !errors.Is(err, ErrNotFound) {
				t.Fatalf("incr of a Null key without a default: %v, want ErrNotFound", err)
			}
			if v, err := c.Incr(Call{}, Null, Int(2), Int(3), true, 1); err != nil || v.i64() != 5 {
				t.Fatalf("incr of a Null key: %v %v, want 5 stored as a new entry", v, err)
			}
			before := nullSegments(t, c)
			// Overwrite the int keys until compaction has moved every
			// record out of the first segments.
			for round := 0; round < 40; round++ {
				for i := 0; i < 20; i++ {
					v := Blob([]byte(strings.Repeat(fmt.Sprintf("%d/%d;", i, round), 60)))
					if err := c.Set(Call{}, &SetArgs{Key: Int(int64(i)), Value: v, Mode: ModeRaw, Now: 1}); err != nil {
						t.Fatal(err)
					}
				}
			}
			for seg := range nullSegments(t, c) {
				if before[seg] {
					t.Fatalf("a Null-keyed record is still in segment %d: compaction did not move it", seg)
				}
			}
			var got []string
			items, _ := insertionItems(t, c)
			for _, it := range items {
				if it.Key.Kind != KindNull {
					continue
				}
				if it.Value.Kind == KindInt {
					got = append(got, fmt.Sprint(Typed{KindInt, it.Value.Bytes}.i64()))
				} else {
					got = append(got, string(it.Value.Bytes))
				}
			}
			want = append(want, "5")
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("Null-keyed values after compaction:\n got %q\nwant %q", got, want)
			}
			for slot := int64(0); slot < maxSegSlots; slot++ {
				so := offSegTable + slot*segSlotSize
				if getU32(c.idx.m, so) != 0 && getU32(c.idx.m, so+4)&segStuck != 0 {
					t.Fatalf("segment slot %d stuck: compaction did not find a record's owner", slot)
				}
			}
			rep, err := c.Check(Call{}, false)
			if err != nil || len(rep.Warnings) != 0 {
				t.Fatalf("check: %v %v", rep.Warnings, err)
			}
		})
	}
}

// An incr whose sum is NaN returns NaN and leaves Null stored, as SQLite
// stores NaN as NULL.
func TestIncrNaNStoresNull(t *testing.T) {
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(Call{}, &SetArgs{Key: Text("inf"), Value: Float(math.Inf(1)), Mode: ModeRaw, Now: 1}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<10)
	for _, step := range []struct {
		key   string
		delta Typed
	}{{"inf", Float(math.Inf(-1))}, {"missing", Float(math.NaN())}} {
		v, err := c.Incr(Call{}, Text(step.key), step.delta, Int(0), true, 1)
		if err != nil || v.Kind != KindFloat || !math.IsNaN(v.f64()) {
			t.Fatalf("incr %q: %v %v, want NaN", step.key, v, err)
		}
		it, err := c.Get(Text(step.key), 1, 0, buf)
		if err != nil || it.Value.Kind != KindNull {
			t.Fatalf("get %q after a NaN incr: kind %v %v, want Null", step.key, it.Value.Kind, err)
		}
		if _, err := c.Incr(Call{}, Text(step.key), Int(1), Int(0), true, 1); !errors.Is(err, ErrNotNumeric) {
			t.Fatalf("incr of the Null left by a NaN sum: %v, want ErrNotNumeric", err)
		}
	}
	rep, err := c.Check(Call{}, false)
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
}

// HitWasMiss moves a counted hit to the misses, never below zero hits.
func TestHitWasMiss(t *testing.T) {
	for _, network := range []NetworkMode{NetworkOff, NetworkOn} {
		c, err := Open(t.TempDir(), &Options{Network: network})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Set(Call{}, &SetArgs{Key: Text("k"), Value: Text("v"), Mode: ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(Text("k"), 1, CountStats, make([]byte, 1<<10)); err != nil {
			t.Fatal(err)
		}
		for want := 1; want <= 2; want++ {
			if err := c.HitWasMiss(); err != nil {
				t.Fatal(err)
			}
			if hits, misses, err := c.Stats(); err != nil || hits != 0 || misses != int64(want) {
				t.Fatalf("network=%v: stats %d %d %v, want 0 %d", network == NetworkOn, hits, misses, err, want)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
