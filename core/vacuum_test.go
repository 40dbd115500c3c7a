package core_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// TestCompact_GivesSpaceBack overwrites and deletes most of a cache, too
// little for the compaction that runs with writes to start, and then
// compacts it all: the segment files shrink to about the live data, every
// entry stays, and the segments are still the whole truth.
func TestCompact_GivesSpaceBack(t *testing.T) {
	dir := t.TempDir()
	c, err := core.Open(dir, &core.Options{SegmentSize: 256 << 10})
	must(t, err)
	val := bytes.Repeat([]byte("v"), 500)
	for round := 0; round < 3; round++ {
		for i := 0; i < 300; i++ {
			must(t, c.Set(core.Call{}, &core.SetArgs{Key: core.Int(int64(i)), Value: core.Blob(val), Mode: core.ModeRaw, Now: float64(round)}))
		}
	}
	for i := 0; i < 300; i += 2 {
		must(t, c.Delete(core.Call{}, core.Int(int64(i)), 5))
	}
	want := snapshot(t, c)
	before := segmentBytes(t, dir)
	freed, err := c.Compact(core.Call{})
	must(t, err)
	after := segmentBytes(t, dir)
	t.Logf("segment files %d -> %d bytes, %d freed", before, after, freed)
	live := int64(150 * 600)
	if after > 2*live+(256<<10) || freed <= 0 {
		t.Fatalf("segments %d -> %d bytes (freed %d), live about %d", before, after, freed, live)
	}
	if got := snapshot(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after compact: %s", firstDiff(got, want))
	}
	mustCheckClean(t, c, "after compact")
	must(t, c.Close())
	must(t, os.Remove(filepath.Join(dir, "cache.dcg")))
	c = mustOpen(t, dir)
	if got := snapshot(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rebuilt after compact: %s", firstDiff(got, want))
	}
}
