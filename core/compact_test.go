package core_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			n += info.Size()
		}
	}
	return n
}

// TestCompaction_SpaceComesBack overwrites the same keys many times: the
// segments must stay within about twice the live data plus one segment,
// and every value must survive the moves. In network mode too, where
// segments are read with pread (compaction read only mappings until
// 2026-11-22, so there it moved nothing and the segments only grew).
func TestCompaction_SpaceComesBack(t *testing.T) {
	for _, network := range []core.NetworkMode{core.NetworkOff, core.NetworkOn} {
		t.Run(fmt.Sprintf("network=%v", network == core.NetworkOn), func(t *testing.T) {
			compactionBoundsSegments(t, network)
		})
	}
}

func compactionBoundsSegments(t *testing.T, network core.NetworkMode) {
	dir := t.TempDir()
	const segSize = 64 << 10
	c, err := core.Open(dir, &core.Options{SegmentSize: segSize, Network: network})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const keys = 200
	val := func(k, round int) []byte { return []byte(strings.Repeat(fmt.Sprintf("%d/%d;", k, round), 40)) }
	live := int64(0)
	for round := 0; round < 60; round++ {
		for k := 0; k < keys; k++ {
			if err := c.Set(core.Call{}, &core.SetArgs{Key: core.Int(int64(k)), Value: core.Blob(val(k, round)), Mode: core.ModeRaw, Now: 1}); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := c.Counts()
		if err != nil {
			t.Fatal(err)
		}
		live = counts.Volume
		if got := segmentBytes(t, dir); round > 5 && got > 2*live+3*segSize {
			t.Fatalf("round %d: segments hold %d bytes for %d live", round, got, live)
		}
	}
	buf := make([]byte, 1<<16)
	for k := 0; k < keys; k++ {
		it, err := c.Get(core.Int(int64(k)), 1, 0, buf)
		if err != nil || string(it.Value.Bytes) != string(val(k, 59)) {
			t.Fatalf("key %d after compaction: %q %v", k, it.Value.Bytes, err)
		}
	}
	rep, err := c.Check(core.Call{}, false)
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("check: %v %v", rep.Warnings, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	t.Logf("%d segments, %d bytes, live volume %d", len(matches), segmentBytes(t, dir), live)
}
