package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestOthersCanWrite checks dcg_others_can_write's answers on unix: a file
// others may write is reported with its mode, a private one is not, and a
// missing one is -DCG_NOTFOUND.
func TestOthersCanWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits decide only on unix; Windows reads the DACL")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode os.FileMode
		want int
		says string
	}{{0o600, 0, ""}, {0o666, 1, "mode 0666: its group and others may write it"}, {0o620, 1, "its group may"}, {0o644, 0, ""}} {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 256)
		got := othersCanWrite(path, out)
		text := string(out[:bytes.IndexByte(out, 0)])
		if int(got) != tc.want || !strings.Contains(text, tc.says) {
			t.Errorf("mode %04o: got %d %q, want %d and %q", tc.mode, got, text, tc.want, tc.says)
		}
	}
	if got := othersCanWrite(filepath.Join(dir, "missing"), make([]byte, 64)); got != -stNotFound {
		t.Errorf("missing file: got %d, want -DCG_NOTFOUND", got)
	}
	if got := othersCanWrite("", nil); got != -stInvalid {
		t.Errorf("empty path: got %d, want -DCG_INVALID", got)
	}
	// A reason longer than out is cut, and still NUL-terminated.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	out := []byte{'x', 'x', 'x', 'x'}
	if got := othersCanWrite(path, out); got != 1 || out[3] != 0 {
		t.Errorf("short buffer: got %d %q", got, out)
	}
}
