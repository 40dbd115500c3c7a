package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestTruncatedUnderProcess truncates a file of an open cache behind its
// back (the index, a segment, the journal; to nothing and to half) and
// then uses the handle: every call must answer or fail with an engine
// error, never fault (a SIGBUS kills the test binary), and the directory
// must open and work again afterwards. The network mode maps no files,
// but must answer the same way.
func TestTruncatedUnderProcess(t *testing.T) {
	for name, o := range modeOptions {
		for _, file := range []string{"index", "segment", "journal"} {
			for _, cut := range []string{"zero", "half"} {
				t.Run(fmt.Sprintf("%s/%s/%s", name, file, cut), func(t *testing.T) {
					truncateAndUse(t, o, file, cut)
				})
			}
		}
	}
}

func truncateAndUse(t *testing.T, o Options, file, cut string) {
	dir := t.TempDir()
	o.Statistics = true
	c, err := Open(dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 3000
	for i := 0; i < n; i++ {
		if err := c.Set(Call{}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		mustGet(t, c, i) // maps the segments
	}
	path := filepath.Join(dir, journalName)
	switch file {
	case "index":
		path = filepath.Join(dir, indexName)
	case "segment":
		names, _ := filepath.Glob(filepath.Join(dir, filePrefix+"-*.seg"))
		if len(names) == 0 {
			t.Fatal("no segment")
		}
		path = names[0]
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(0)
	if cut == "half" {
		size = st.Size() / 2
	}
	if err := os.Truncate(path, size); err != nil {
		skipIfMappedTruncate(t, err)
		t.Fatal(err)
	}

	// Every answer is a value, a miss or an engine error.
	answer := func(what string, err error) {
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupted) && !errors.Is(err, errRetry) {
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	buf := make([]byte, 256)
	for i := 0; i < n; i += 7 {
		it, err := c.Get(mapKey(i), 1, CountStats, buf)
		if err == nil && string(it.Value.Bytes) != string(mapValue(i).Bytes) {
			t.Fatalf("get %d after truncation: %q", i, it.Value.Bytes)
		}
		answer("get", err)
	}
	_, err = c.Len()
	answer("len", err)
	_, _, err = c.Keys(Cursor{}, 1<<62, false, 100, make([]byte, 1<<16))
	answer("keys", err)
	_, _, err = c.Stats()
	answer("stats", err)
	for i := n; i < n+50; i++ {
		answer("set", c.Set(Call{}, &SetArgs{Key: mapKey(i), Value: mapValue(i), Mode: ModeRaw, Now: 1}))
	}
	answer("delete", c.Delete(Call{}, mapKey(1), 1))
	owner := uint64(9)
	if err := c.Begin(Call{Owner: owner}); err == nil {
		answer("set in a transaction", c.Set(Call{Owner: owner}, &SetArgs{Key: mapKey(0), Value: mapValue(0), Mode: ModeRaw, Now: 1}))
		answer("end", c.End(owner, true))
	} else {
		answer("begin", err)
	}
	if err := c.Close(); err != nil {
		answer("close", err)
	}

	// Open again: it works, and takes new entries.
	c2, err := Open(dir, &o)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c2.Close()
	if err := c2.Set(Call{}, &SetArgs{Key: Text("after"), Value: Blob([]byte("v")), Mode: ModeRaw, Now: 1}); err != nil {
		t.Fatalf("set after reopening: %v", err)
	}
	if it, err := c2.Get(Text("after"), 1, 0, buf); err != nil || string(it.Value.Bytes) != "v" {
		t.Fatalf("get after reopening: %q, %v", it.Value.Bytes, err)
	}
	for i := 0; i < n; i += 7 {
		it, err := c2.Get(mapKey(i), 1, 0, buf)
		if err == nil && string(it.Value.Bytes) != string(mapValue(i).Bytes) {
			t.Fatalf("get %d after reopening: %q", i, it.Value.Bytes)
		}
		answer("get after reopening", err)
	}
}
