package core_test

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// untar unpacks a testdata archive into a new directory.
func untar(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	must(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, err)
	r := tar.NewReader(z)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return dir
		}
		must(t, err)
		to := filepath.Join(dir, h.Name)
		if h.FileInfo().IsDir() {
			must(t, os.MkdirAll(to, 0o755))
			continue
		}
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o600)
		must(t, err)
		_, err = io.Copy(out, r)
		must(t, err)
		must(t, out.Close())
	}
}

// TestUpgrade_Format1 opens a directory written by diskcache-go 0.1.0
// (testdata/v1cache.tar.gz: 300 keys, a third deleted, a third overwritten
// without their tags, expiry on some, a float, a counter incremented five
// times, a value file and a queue, in 8 KiB segments) and checks that the
// upgrade in place kept everything, in order, and left only new segments.
func TestUpgrade_Format1(t *testing.T) {
	dir := untar(t, "testdata/v1cache.tar.gz")
	// A segment of format 2 left by an upgrade killed during its first
	// step: nothing refers to it, and it must not count.
	must(t, os.WriteFile(filepath.Join(dir, "cache.dcg-00000009.seg"), append([]byte("DCGSEG01\x02\x00\x00\x00\x09\x00\x00\x00"), make([]byte, 200)...), 0o600))
	c := mustOpen(t, dir)
	if !strings.Contains(c.LastRepair(), "upgraded") {
		t.Fatalf("no upgrade reported: %q", c.LastRepair())
	}
	var want []string
	for i := 0; i < 300; i++ {
		var line string
		switch i % 3 {
		case 0:
			continue
		case 1:
			line = fmt.Sprintf("3:\"k%03d\"=4:\"w%d\" tag=false:\"\" exp=false:0 file=\"\"", i, i)
		case 2:
			exp := "false:0"
			if i%5 == 0 {
				exp = fmt.Sprintf("true:%v", 1e10+float64(i))
			}
			line = fmt.Sprintf("3:\"k%03d\"=4:\"v%d\" tag=%v:%q exp=%s file=\"\"", i, i, i%4 == 0, map[bool]string{true: "t"}[i%4 == 0], exp)
		}
		want = append(want, line)
	}
	got := snapshot(t, c)
	if len(got) != len(want)+6 {
		t.Fatalf("%d entries, want %d", len(got), len(want)+6)
	}
	if strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Fatalf("upgraded entries differ: %s", firstDiff(got[:len(want)], want))
	}
	buf := make([]byte, 4096)
	it, err := c.Get(core.Text("counter"), 0, 0, buf)
	must(t, err)
	if it.Value.Kind != core.KindInt || le(it.Value.Bytes) != 15 {
		t.Fatalf("counter = %v", it.Value)
	}
	it, err = c.Get(core.Text("file"), 0, 0, buf)
	must(t, err)
	if it.Size != 28 || !strings.HasPrefix(string(it.File), "ab/") {
		t.Fatalf("file entry = %+v", it)
	}
	for i := 0; i < 3; i++ {
		it, err := c.Pull(core.Call{}, "q", true, core.Front, 0, true, buf)
		must(t, err)
		if le(it.Value.Bytes) != int64(i) {
			t.Fatalf("queue item %d = %v", i, it.Value)
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "cache.dcg-*.seg"))
	must(t, err)
	for _, n := range names {
		if b := filepath.Base(n); b == "cache.dcg-00000002.seg" || b == "cache.dcg-00000003.seg" || b == "cache.dcg-00000009.seg" {
			t.Errorf("old segment %s left behind", b)
		}
	}
	mustCheckClean(t, c, "after upgrade")
	// The upgraded cache is a cache of format 2: its segments are the truth.
	must(t, c.Close())
	must(t, os.Remove(filepath.Join(dir, "cache.dcg")))
	c = mustOpen(t, dir)
	if n, _ := c.Len(); n != int64(len(want)+3) {
		t.Fatalf("after losing the upgraded index: %d entries, want %d", n, len(want)+3)
	}
}
