package tests

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

// Repairs and compaction killed at random instants: a rebuild of the index
// at open, check(fix=True) rebuilding a damaged index, and compaction. Each
// must lose no entry that was whole before it started and bring back none
// that was deleted; the state accumulates nothing between trials (each
// starts from a copy of one prepared directory).

const (
	repairEntries = 20000
	repairSegSize = 256 << 10
)

func init() {
	workers["repairer"] = repairer
}

func repairValue(i int) []byte {
	return []byte(fmt.Sprintf("value %d %s", i, strings.Repeat("x", i%97)))
}

// repairer is the process that gets killed: "open" opens (and so
// rebuilds), "check" opens and runs check(fix), "compact" writes scratch
// keys until killed, which keeps compaction moving the prepared ones.
func repairer(args []string) error {
	c, err := core.Open(args[0], &core.Options{SegmentSize: repairSegSize, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	switch args[1] {
	case "check":
		_, err = c.Check(core.Call{}, true)
	case "compact":
		for i := 0; ; i++ {
			k := core.Text(fmt.Sprintf("scratch%d", i%50))
			if err := c.Set(core.Call{}, &core.SetArgs{Key: k, Value: core.Blob(make([]byte, 2000)), Mode: core.ModeRaw, Now: 1}); err != nil {
				return err
			}
		}
	}
	return err
}

// prepareRepairDir fills a cache with repairEntries keys, deletes every
// seventh and overwrites every fifth (so there are delete records, dead
// records and compaction to do), and returns what it must hold.
func prepareRepairDir(t *testing.T) (string, map[string]string) {
	dir := t.TempDir()
	c, err := core.Open(dir, &core.Options{SegmentSize: repairSegSize})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := map[string]string{}
	for i := 0; i < repairEntries; i++ {
		k := fmt.Sprintf("k%d", i)
		a := &core.SetArgs{Key: core.Text(k), Value: core.Blob(repairValue(i)), Mode: core.ModeRaw, Now: 1}
		if i%3 == 0 {
			a.HasTag, a.Tag = true, core.Text("tag")
		}
		if err := c.Set(core.Call{}, a); err != nil {
			t.Fatal(err)
		}
		want[k] = string(repairValue(i))
	}
	for i := 0; i < repairEntries; i++ {
		k := fmt.Sprintf("k%d", i)
		switch {
		case i%7 == 0:
			if err := c.Delete(core.Call{}, core.Text(k), 1); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
		case i%5 == 0:
			v := repairValue(i + 1)
			if err := c.Set(core.Call{}, &core.SetArgs{Key: core.Text(k), Value: core.Blob(v), Mode: core.ModeRaw, Now: 2}); err != nil {
				t.Fatal(err)
			}
			want[k] = string(v)
		}
	}
	return dir, want
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// verifyRepairDir opens dir and checks it holds exactly want, after a
// check(fix) of its own when fix is set (a killed check may not have got
// to the damage).
func verifyRepairDir(t *testing.T, dir string, want map[string]string, fix bool, what string) {
	t.Helper()
	c, err := core.Open(dir, &core.Options{SegmentSize: repairSegSize})
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	defer c.Close()
	if fix {
		if _, err := c.Check(core.Call{}, true); err != nil {
			t.Fatalf("%s: check(fix): %v", what, err)
		}
	}
	buf := make([]byte, 4096)
	for i := 0; i < repairEntries; i++ {
		k := fmt.Sprintf("k%d", i)
		it, err := c.Get(core.Text(k), 3, 0, buf)
		w, live := want[k]
		switch {
		case live && err != nil:
			t.Fatalf("%s: %s lost: %v", what, k, err)
		case live && string(it.Value.Bytes) != w:
			t.Fatalf("%s: %s = %q, want %q", what, k, it.Value.Bytes, w)
		case !live && !errors.Is(err, core.ErrNotFound):
			t.Fatalf("%s: deleted %s came back (%v)", what, k, err)
		}
	}
	n, err := c.Len()
	if err != nil {
		t.Fatal(err)
	}
	if n < int64(len(want)) || n > int64(len(want))+50 {
		t.Fatalf("%s: %d entries, want %d (+ up to 50 scratch keys)", what, n, len(want))
	}
}

// killAt runs the repairer in mode on dir and kills it after delay (or
// lets it finish if it is quicker), returning how long it ran.
func killAt(t *testing.T, dir, mode string, delay time.Duration) time.Duration {
	t.Helper()
	cmd := worker(t, "repairer", dir, mode)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("repairer %s: %v", mode, err)
		}
	case <-time.After(delay):
		cmd.Process.Kill()
		<-done
	}
	return time.Since(start)
}

func TestCrash_KillRepairs(t *testing.T) {
	pristine, want := prepareRepairDir(t)
	trials := 8
	if testing.Short() {
		trials = 3
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	damage := map[string]func(dir string){
		// The index lost: the open rebuilds it from the segments.
		"open": func(dir string) {
			if err := os.Truncate(filepath.Join(dir, "cache.dcg"), 0); err != nil {
				t.Fatal(err)
			}
		},
		// One entry damaged: check(fix) rebuilds the index.
		"check": func(dir string) {
			f, err := os.OpenFile(filepath.Join(dir, "cache.dcg"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xA5}, 16384+160*1000+40); err != nil {
				t.Fatal(err)
			}
		},
		"compact": func(string) {},
	}
	for _, mode := range []string{"open", "check", "compact"} {
		t.Run(mode, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "work")
			// How long an uninterrupted run takes (compaction runs until
			// killed: give it a second).
			full := time.Second
			if mode != "compact" {
				copyDir(t, pristine, work)
				damage[mode](work)
				full = killAt(t, work, mode, time.Minute)
				verifyRepairDir(t, work, want, false, mode+" uninterrupted")
			}
			for i := 0; i < trials; i++ {
				copyDir(t, pristine, work)
				damage[mode](work)
				delay := time.Duration(rng.Int63n(int64(full)))
				killAt(t, work, mode, delay)
				what := fmt.Sprintf("%s killed after %v of %v", mode, delay, full)
				verifyRepairDir(t, work, want, mode == "check", what)
				// And the segments are still the whole truth.
				if err := os.Truncate(filepath.Join(work, "cache.dcg"), 0); err != nil {
					t.Fatal(err)
				}
				verifyRepairDir(t, work, want, false, what+", then index lost")
			}
		})
	}
}
