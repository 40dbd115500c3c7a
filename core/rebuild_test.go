package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// snapshot is everything a rebuild must bring back: keys in insertion
// order, with their value, tag and expiry.
func snapshot(t *testing.T, c *core.Cache) []string {
	t.Helper()
	bound, err := c.MaxRowid()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur core.Cursor
	buf := make([]byte, 1<<20)
	for {
		items, next, err := c.Keys(cur, bound+1, false, 50, buf)
		if err != nil {
			t.Fatal(err)
		}
		var ks []core.Typed
		for _, it := range items {
			ks = append(ks, core.Typed{Kind: it.Key.Kind, Bytes: bytes.Clone(it.Key.Bytes)})
		}
		for _, k := range ks {
			it, err := c.Get(k, 0, 0, make([]byte, 1<<20))
			if err != nil {
				t.Fatalf("get %v: %v", k, err)
			}
			out = append(out, fmt.Sprintf("%d:%q=%d:%q tag=%v:%q exp=%v:%v file=%q", k.Kind, k.Bytes, it.Value.Kind, it.Value.Bytes,
				it.HasTag, it.Tag.Bytes, it.HasExpire, it.ExpireTime, it.File))
		}
		if len(items) == 0 {
			return out
		}
		cur = next
	}
}

// churn runs a random mix of every kind of change on c, small segments so
// that compaction runs (and carries or drops delete records) meanwhile.
func churn(t *testing.T, c *core.Cache, rng *rand.Rand, ops int) {
	t.Helper()
	now := 1000.0
	for i := 0; i < ops; i++ {
		now += 0.5
		k := core.Text(fmt.Sprintf("k%d", rng.Intn(300)))
		var err error
		switch op := rng.Intn(20); {
		case op < 7:
			a := &core.SetArgs{Key: k, Value: core.Blob(bytes.Repeat([]byte{byte(i)}, rng.Intn(900))), Mode: core.ModeRaw, Now: now}
			if rng.Intn(3) == 0 {
				a.HasTag, a.Tag = true, core.Text(fmt.Sprintf("t%d", rng.Intn(3)))
			}
			if rng.Intn(4) == 0 {
				a.HasExpire, a.Expire = true, now+float64(rng.Intn(100))
			}
			err = c.Set(core.Call{}, a)
		case op < 9:
			_, err = c.Incr(core.Call{}, core.Text(fmt.Sprintf("n%d", rng.Intn(20))), core.Int(int64(rng.Intn(5))), core.Int(0), true, now)
		case op < 10:
			err = c.Touch(core.Call{}, k, now+50, rng.Intn(2) == 0, now)
		case op < 14:
			err = c.Delete(core.Call{}, k, now)
		case op < 15:
			_, err = c.Pop(core.Call{}, k, now, make([]byte, 4096))
		case op < 16:
			_, err = c.Push(core.Call{}, "q", true, core.Side(rng.Intn(2)), &core.SetArgs{Value: core.Int(int64(i)), Mode: core.ModeRaw, Now: now})
		case op < 17:
			_, err = c.Pull(core.Call{}, "q", true, core.Side(rng.Intn(2)), now, true, make([]byte, 4096))
		case op < 18:
			_, err = c.Expire(core.Call{}, now)
		case op == 18 && rng.Intn(10) == 0:
			_, err = c.Evict(core.Call{}, core.Text("t1"))
		case op == 19 && rng.Intn(40) == 0:
			_, err = c.Clear(core.Call{})
		}
		if err != nil && !errors.Is(err, core.ErrNotFound) && !errors.Is(err, core.ErrNotNumeric) {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

// TestRebuild_IndexLostOrDamaged destroys the index in every way the
// segments must survive, after a history of every kind of change, and
// checks that the reopened cache holds exactly what it held: nothing whole
// lost, nothing deleted back.
func TestRebuild_IndexLostOrDamaged(t *testing.T) {
	damage := map[string]func(t *testing.T, path string){
		"removed":   func(t *testing.T, p string) { must(t, os.Remove(p)) },
		"emptied":   func(t *testing.T, p string) { must(t, os.Truncate(p, 0)) },
		"truncated": func(t *testing.T, p string) { must(t, os.Truncate(p, 5000)) },
		"header bit": func(t *testing.T, p string) {
			flip(t, p, 200, 0x10)
		},
		"magic":        func(t *testing.T, p string) { flip(t, p, 0, 0xff) },
		"older format": func(t *testing.T, p string) { flip(t, p, 8, 0x02) },
		"newer format": func(t *testing.T, p string) { flip(t, p, 8, 0x07) },
	}
	for name, fn := range damage {
		for _, mode := range []string{"shared", "ordered", "network"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				opts := &core.Options{SegmentSize: 32 << 10, Sync: mode == "ordered"}
				if mode == "network" {
					opts.Network = core.NetworkOn
				}
				c, err := core.Open(dir, opts)
				must(t, err)
				churn(t, c, rand.New(rand.NewSource(int64(len(name)))), 3000)
				want := snapshot(t, c)
				must(t, c.Close())
				fn(t, filepath.Join(dir, "cache.dcg"))
				c, err = core.Open(dir, opts)
				must(t, err)
				defer c.Close()
				if !c.WasReset() || !strings.Contains(c.LastRepair(), "entries came back") {
					t.Errorf("no repair reported: %q", c.LastRepair())
				}
				got := snapshot(t, c)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("rebuilt cache differs:\n got %d entries\nwant %d entries\nfirst diff: %s", len(got), len(want), firstDiff(got, want))
				}
				mustCheckClean(t, c, "after rebuild")
				// It keeps working: new keys go after the old ones.
				set(t, c, "after", "x", 5000)
				if v, ok := get(t, c, "after", 5000); !ok || v != "x" {
					t.Fatal("set after rebuild lost")
				}
			})
		}
	}
}

// TestRebuild_CheckFixKeepsEverythingWhole damages one entry of the index
// body: check(fix) rebuilds from the segments, so every other entry, and
// the damaged one too (its record is whole), comes back.
func TestRebuild_CheckFixKeepsEverythingWhole(t *testing.T) {
	dir := t.TempDir()
	c, err := core.Open(dir, &core.Options{SegmentSize: 32 << 10})
	must(t, err)
	churn(t, c, rand.New(rand.NewSource(7)), 2000)
	want := snapshot(t, c)
	must(t, c.Close())
	// The first entry chunk starts right after the 16 KiB header.
	flip(t, filepath.Join(dir, "cache.dcg"), 16384+160*3+70, 0x40)
	c = mustOpen(t, dir)
	rep, err := c.Check(core.Call{}, true)
	must(t, err)
	if len(rep.Warnings) == 0 {
		t.Fatal("check found nothing")
	}
	if got := snapshot(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after check(fix): %s", firstDiff(got, want))
	}
}

// TestRebuild_DeletedStaysDeletedThroughCompaction deletes most keys and
// overwrites the rest until compaction has emptied and removed the
// segments holding the deleted keys' records several times over; a
// rebuild must still bring back exactly the live keys.
func TestRebuild_DeletedStaysDeletedThroughCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := &core.Options{SegmentSize: 16 << 10}
	c, err := core.Open(dir, opts)
	must(t, err)
	val := bytes.Repeat([]byte("v"), 300)
	for i := 0; i < 400; i++ {
		must(t, c.Set(core.Call{}, &core.SetArgs{Key: core.Int(int64(i)), Value: core.Blob(val), Mode: core.ModeRaw, Now: 1}))
	}
	for i := 0; i < 400; i += 4 {
		must(t, c.Delete(core.Call{}, core.Int(int64(i)), 1))
	}
	for round := 0; round < 30; round++ {
		for i := 1; i < 400; i += 4 {
			must(t, c.Set(core.Call{}, &core.SetArgs{Key: core.Int(int64(i)), Value: core.Blob(val), Mode: core.ModeRaw, Now: float64(2 + round)}))
		}
	}
	want := snapshot(t, c)
	must(t, c.Close())
	must(t, os.Remove(filepath.Join(dir, "cache.dcg")))
	c = mustOpen(t, dir)
	if got := snapshot(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after compaction and rebuild: %d entries, want %d: %s", len(got), len(want), firstDiff(got, want))
	}
	// About 117 KiB live in 16 KiB segments: at most twice that plus the
	// active one, as without delete records.
	if n := segmentCount(t, dir); n > 17 {
		t.Errorf("%d segments: delete records pile up", n)
	}
}

// TestRebuild_RolledBackWritesStayOut rolls a transaction back and then
// loses the index: the rolled-back writes must not come back.
func TestRebuild_RolledBackWritesStayOut(t *testing.T) {
	dir := t.TempDir()
	c, err := core.Open(dir, &core.Options{SegmentSize: 16 << 10})
	must(t, err)
	set(t, c, "kept", "1", 1)
	must(t, c.Begin(core.Call{Owner: 9}))
	for i := 0; i < 100; i++ {
		must(t, c.Set(core.Call{Owner: 9}, &core.SetArgs{Key: core.Text(fmt.Sprintf("rb%d", i)), Value: core.Blob(bytes.Repeat([]byte("x"), 500)), Mode: core.ModeRaw, Now: 1}))
	}
	must(t, c.Delete(core.Call{Owner: 9}, core.Text("kept"), 1))
	must(t, c.End(9, false))
	set(t, c, "short", "2", 2)
	want := snapshot(t, c)
	must(t, c.Close())
	must(t, os.Truncate(filepath.Join(dir, "cache.dcg"), 0))
	c = mustOpen(t, dir)
	if got := snapshot(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rolled-back writes came back: %s", firstDiff(got, want))
	}
}

func segmentCount(t *testing.T, dir string) int {
	names, err := filepath.Glob(filepath.Join(dir, "cache.dcg-*.seg"))
	must(t, err)
	return len(names)
}

func firstDiff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("at %d: got %s, want %s", i, g, w)
		}
	}
	return "none"
}

func flip(t *testing.T, path string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	must(t, err)
	b[0] ^= mask
	_, err = f.WriteAt(b, off)
	must(t, err)
}

// mustCheckClean fails the test if Check finds anything.
func mustCheckClean(t *testing.T, c *core.Cache, what string) {
	t.Helper()
	rep, err := c.Check(core.Call{}, false)
	must(t, err)
	if len(rep.Warnings) > 0 {
		t.Fatalf("check %s: %v", what, rep.Warnings)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
