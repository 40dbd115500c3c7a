package core

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// modeOptions opens a cache in each of the three ways to share the index.
var modeOptions = map[string]Options{
	"shared":  {Network: NetworkOff},
	"ordered": {Network: NetworkOff, Sync: true},
	"network": {Network: NetworkOn},
}

func mapKey(i int) Typed { return Text(fmt.Sprintf("key-%06d", i)) }

// mapValue is key i's value: 40 bytes, so 30,000 keys make 1.2 MB of
// records, and the index (160-byte entries) grows past several mappings.
func mapValue(i int) Typed { return Blob([]byte(fmt.Sprintf("value-%06d-%032d", i, i))) }

func mustGet(t *testing.T, c *Cache, i int) bool {
	t.Helper()
	buf := make([]byte, 256)
	it, err := c.Get(mapKey(i), 1, 0, buf)
	if errors.Is(err, ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("get %d: %v", i, err)
	}
	if string(it.Value.Bytes) != string(mapValue(i).Bytes) {
		t.Fatalf("get %d: %q", i, it.Value.Bytes)
	}
	return true
}

// mappedBytes is the address space the cache's mappings of the index take.
func mappedBytes(c *Cache) (total, newest int64) {
	for _, m := range c.idx.maps {
		total += int64(len(m))
	}
	return total, int64(len(c.idx.mem()))
}

// TestIndexMap_GrowsWithReaders grows the index from 1 MiB of mapping to
// several while readers of the same handle and a second handle (a process
// of its own, as far as mappings go) read without a lock: every key
// written before a read started must be found with its value, under the
// race detector. In the ordered and network modes the keys go in one
// transaction, so the writer's mapping grows while it holds uncommitted
// changes (copy-on-write pages, or the private copy) that must survive
// the remap.
func TestIndexMap_GrowsWithReaders(t *testing.T) {
	for name, o := range modeOptions {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(dir, &o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			r, err := Open(dir, &o)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			first, _ := mappedBytes(w)
			const n = 30000
			var done atomic.Int64 // keys below it are written
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for g, c := range []*Cache{w, r, r} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						hi := int(done.Load())
						if hi == 0 {
							continue
						}
						i := (k*7919 + g) % hi
						if !mustGet(t, c, i) && (c == w || name == "shared") {
							// Another handle sees an ordered or network
							// transaction only once it commits.
							t.Errorf("key %d missing (%d written)", i, hi)
							return
						}
					}
				}()
			}
			owner := uint64(77)
			tx := name != "shared"
			if tx {
				if err := w.Begin(Call{Owner: owner}); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < n; i++ {
				if err := w.Set(Call{Owner: owner}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
				done.Store(int64(i + 1))
			}
			if tx {
				if err := w.End(owner, true); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			for i := 0; i < n; i += 97 {
				if !mustGet(t, r, i) || !mustGet(t, w, i) {
					t.Fatalf("key %d missing after the commit", i)
				}
			}
			total, newest := mappedBytes(w)
			size, err := w.idx.fileBytes()
			if err != nil {
				t.Fatal(err)
			}
			if len(w.idx.maps) < 3 || newest < size {
				t.Fatalf("%d mappings, the newest %d bytes, for a file of %d (first mapping %d)", len(w.idx.maps), newest, size, first)
			}
			// Each mapping at least doubles: they add up to under twice the
			// newest, which is at most four times the file.
			if total >= 2*newest || newest > 4*size+minIndexMap {
				t.Fatalf("mappings of %d bytes (newest %d) for a file of %d", total, newest, size)
			}
		})
	}
}

// TestIndexMap_RollbackAfterGrowth rolls back a transaction whose writer
// grew the mapping: what the transaction wrote is gone, what was committed
// before stays.
func TestIndexMap_RollbackAfterGrowth(t *testing.T) {
	for name, o := range modeOptions {
		t.Run(name, func(t *testing.T) {
			c, err := Open(t.TempDir(), &o)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < 100; i++ {
				if err := c.Set(Call{}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
			}
			before := len(c.idx.maps)
			owner := uint64(5)
			if err := c.Begin(Call{Owner: owner}); err != nil {
				t.Fatal(err)
			}
			for i := 100; i < 20000; i++ {
				if err := c.Set(Call{Owner: owner}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if len(c.idx.maps) == before {
				t.Fatal("the transaction did not grow the mapping")
			}
			if err := c.End(owner, false); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20000; i += 13 {
				if got := mustGet(t, c, i); got != (i < 100) {
					t.Fatalf("key %d present: %v", i, got)
				}
			}
			if n, err := c.Len(); err != nil || n != 100 {
				t.Fatalf("len %d, %v", n, err)
			}
		})
	}
}

// TestIndexMap_SmallCacheMapsLittle: a new cache with a few entries maps a
// few MiB in all (index, journal, segment), not the 33 GiB it once reserved.
func TestIndexMap_SmallCacheMapsLittle(t *testing.T) {
	c, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 50; i++ {
		if err := c.Set(Call{}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
		mustGet(t, c, i)
	}
	total, _ := mappedBytes(c)
	total += int64(len(c.jrn.m))
	for _, v := range c.segs.views {
		total += int64(len(v.m))
	}
	if total > 4<<20 {
		t.Fatalf("a small cache maps %d bytes", total)
	}
}
