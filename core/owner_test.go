package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/diskcache-go/diskcache-go/core"
)

// TestOthersCanWrite runs on every OS (under Wine for Windows): a file
// this process just made in its own temporary directory is writable by
// no one else; a missing path and an empty one are errors, not answers.
func TestOthersCanWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "private")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, path} {
		shared, why, err := core.OthersCanWrite(p)
		if err != nil || shared {
			t.Fatalf("%s: shared=%v (%s), err=%v; want a private path", p, shared, why, err)
		}
	}
	if _, _, err := core.OthersCanWrite(filepath.Join(dir, "missing")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("missing path: err=%v, want ErrNotFound", err)
	}
	if _, _, err := core.OthersCanWrite(""); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("empty path: err=%v, want ErrInvalid", err)
	}
	if runtime.GOOS == "windows" {
		return // no mode bits: the DACL decides (owner_windows.go)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if shared, why, err := core.OthersCanWrite(path); err != nil || !shared || why == "" {
		t.Fatalf("mode 0666: shared=%v (%q), err=%v; want shared with a reason", shared, why, err)
	}
}
