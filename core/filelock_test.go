package core

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// TestLockFile_ExcludesAndTimesOut checks that a second LockFile on a held
// path times out, and succeeds once the first is released.
func TestLockFile_ExcludesAndTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "import.lock")
	a, err := LockFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockFile(path, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second lock with no wait: %v, want ErrTimeout", err)
	}
	if _, err := LockFile(path, 30*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second lock with a short wait: %v, want ErrTimeout", err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := LockFile(path, -1)
		if err == nil {
			err = b.Unlock()
		}
		done <- err
	}()
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiting lock after release: %v", err)
	}
	if _, err := LockFile("", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty path: %v, want ErrInvalid", err)
	}
}

// TestWriterLock_ExcludesGofrsFlock checks that the writer lock, taken on
// the cache's kept descriptor, and github.com/gofrs/flock on the same
// file exclude each other both ways.
func TestWriterLock_ExcludesGofrsFlock(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, &Options{Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := flock.New(filepath.Join(dir, lockName))
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("gofrs/flock on a free cache: %v %v", ok, err)
	}
	if err := c.Begin(Call{Owner: 7}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("writer while gofrs/flock holds the lock: %v, want ErrTimeout", err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := c.Begin(Call{Owner: 7}); err != nil {
		t.Fatalf("writer after gofrs/flock let go: %v", err)
	}
	if ok, err := other.TryLock(); ok || err != nil {
		t.Fatalf("gofrs/flock while a writer holds the lock: %v %v", ok, err)
	}
	if err := c.End(7, true); err != nil {
		t.Fatal(err)
	}
}
