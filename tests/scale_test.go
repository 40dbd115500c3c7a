//go:build !race

package tests

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskcache-go/diskcache-go/core"
)

// The scale test builds a million-entry cache, which takes seconds without
// the race detector and minutes with it, so it is left out of -race runs;
// build.sh runs it separately.

func init() {
	workers["reader"] = reader
}

// fill writes n entries of 256 bytes in transactions of 10,000.
func fill(t testing.TB, dir string, n int) {
	t.Helper()
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	val := make([]byte, 256)
	const owner = 1
	for i := 0; i < n; i++ {
		if i%10000 == 0 {
			if i > 0 {
				if err := c.End(owner, true); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Begin(core.Call{Owner: owner}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Set(core.Call{Owner: owner}, &core.SetArgs{Key: core.Text(fmt.Sprint("key-", i)), Value: core.Blob(val), Mode: core.ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.End(owner, true); err != nil {
		t.Fatal(err)
	}
}

// rssAnon reads the process's anonymous (private, not file-backed) memory.
func rssAnon() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no RssAnon")
}

// reader opens a cache, reads 10,000 random keys and prints the open time
// and the growth of its private memory.
func reader(args []string) error {
	dir := args[0]
	n, _ := strconv.Atoi(args[1])
	before, err := rssAnon()
	if err != nil {
		return err
	}
	start := time.Now()
	c, err := core.Open(dir, nil)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<12)
	if _, err := c.Get(core.Text("key-0"), 2, 0, buf); err != nil {
		return err
	}
	opened := time.Since(start)
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 10000; i++ {
		if _, err := c.Get(core.Text(fmt.Sprint("key-", rng.Intn(n))), 2, 0, buf); err != nil {
			return err
		}
	}
	after, err := rssAnon()
	if err != nil {
		return err
	}
	fmt.Println(opened.Nanoseconds(), after-before)
	return c.Close()
}

func measure(t *testing.T, dir string, n int) (time.Duration, int64) {
	t.Helper()
	cmd := worker(t, "reader", dir, fmt.Sprint(n))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	var ns, grew int64
	if _, err := fmt.Sscan(string(out), &ns, &grew); err != nil {
		t.Fatalf("reader output %q: %v", out, err)
	}
	return time.Duration(ns), grew
}

// TestScale_OpenAndMemory shows that opening a million-entry cache costs
// about what opening a thousand-entry one does, and that reading from it
// does not grow a process's private memory with the entry count: the index
// is mapped from its file, shared through the page cache.
func TestScale_OpenAndMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million-entry cache")
	}
	small, large := t.TempDir(), t.TempDir()
	fill(t, small, 1000)
	fill(t, large, 1000000)
	// Warm both so neither measurement pays for cold disk reads.
	measure(t, small, 1000)
	measure(t, large, 1000000)
	openSmall, memSmall := measure(t, small, 1000)
	openLarge, memLarge := measure(t, large, 1000000)
	t.Logf("open+first get: 1,000 entries %v, 1,000,000 entries %v", openSmall, openLarge)
	t.Logf("private memory growth over 10,000 reads: 1,000 entries %d KiB, 1,000,000 entries %d KiB", memSmall>>10, memLarge>>10)
	// Timings are reported, not asserted (machines are noisy); memory is
	// asserted: the large cache may not cost a per-entry private structure.
	if memLarge > memSmall+8<<20 {
		t.Fatalf("private memory grew %d KiB reading the large cache vs %d KiB for the small one", memLarge>>10, memSmall>>10)
	}
	rebuildLarge(t, large, 1000000)
}

// rebuildLarge loses the index of the million-entry cache and times the
// rebuild from the segments at the next open (docs/design.md quotes it).
func rebuildLarge(t *testing.T, dir string, n int) {
	if err := os.Remove(dir + "/cache.dcg"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := core.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	took := time.Since(start)
	got, err := c.Len()
	if err != nil {
		t.Fatal(err)
	}
	if got != int64(n) {
		t.Fatalf("rebuild brought back %d of %d entries", got, n)
	}
	if _, err := c.Get(core.Text(fmt.Sprint("key-", n-1)), 2, 0, make([]byte, 1<<12)); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild of the index from the segments, %d entries: %v (%s)", n, took, c.LastRepair())
}

// BenchmarkOpen measures open plus first get by cache size.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		dir := b.TempDir()
		fill(b, dir, n)
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) {
			buf := make([]byte, 1<<12)
			for i := 0; i < b.N; i++ {
				c, err := core.Open(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Get(core.Text("key-0"), 2, 0, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
